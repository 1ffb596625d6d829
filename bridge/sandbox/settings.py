"""Settings of the LeadSquared sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

# Some tenants answer a rate-limited call with 403 instead of 429.
RATE_LIMIT_STATUSES = (429, 403)


@dataclass(frozen=True)
class SandboxSettings:
    """Keys, rate limit and latency the sandbox imitates."""

    # Real access keys start with "u$r"; the "$" catches callers that forget
    # to URL-encode keys sent in the query string.
    access_key: str = "u$rsandbox-access"
    # Kept out of repr so a logged settings object never shows it.
    secret_key: str = field(default="sandbox-secret", repr=False)
    calls_per_window: int = 25
    window_seconds: float = 5.0
    latency_seconds: float = 0.0
    rate_limit_status: int = 429

    def __post_init__(self) -> None:
        """Refuse settings the sandbox cannot honour."""
        if not self.access_key or not self.secret_key:
            raise ValueError("access_key and secret_key must not be empty")
        if self.calls_per_window < 1:
            raise ValueError("calls_per_window must be at least 1")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")
        if self.rate_limit_status not in RATE_LIMIT_STATUSES:
            raise ValueError("rate_limit_status must be 429 or 403")
