"""Settings of the LeadSquared sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

# Some tenants answer a rate-limited call with 403 instead of 429.
RATE_LIMIT_STATUSES = (429, 403)


@dataclass(frozen=True)
class FaultRates:
    """Shares of bulk calls the sandbox fails at random, each from 0 to 1."""

    error: float = 0.0  # 500 with LeadSquared's internal-error body; nothing stored
    rate_limit: float = 0.0  # an extra 429 inside the limit; nothing stored
    lost_answer: float = 0.0  # rows stored, then the connection closed without an answer

    def __post_init__(self) -> None:
        """Refuse shares that are not probabilities."""
        for name, share in self.shares().items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"the {name} rate must be from 0 to 1")
        if sum(self.shares().values()) > 1.0:
            raise ValueError("the fault rates must add up to 1 at most")

    def shares(self) -> dict[str, float]:
        """Return each fault's share by name, in the order a draw tests them."""
        return {"error": self.error, "rate_limit": self.rate_limit, "lost_answer": self.lost_answer}


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
    fault_rates: FaultRates = field(default_factory=FaultRates)
    # None draws from the operating system's entropy: a different run each time.
    fault_seed: int | None = None

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
