"""Fakes for the pipeline's edges: a clock, the stop signal, the store's account controls, a client."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.config.settings import AccountSettings
from bridge.leadsquared.client import LeadSquaredClient
from bridge.leadsquared.outcomes import Found, Outcome

ACCOUNT = AccountSettings(
    name="main",
    host_env="LSQ_HOST",
    access_key_env="LSQ_ACCESS_KEY",
    secret_key_env="LSQ_SECRET_KEY",
    host="https://api.example.invalid",
    access_key="u$rkey",
    secret_key="secret",
    calls_per_window=25,
    window_seconds=5.0,
    window_margin_seconds=0.2,
    timeout_seconds=30.0,
)


@dataclass
class FakeClock:
    """A clock that moves only when told to."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeStopping:
    """The stop signal: waiting moves the fake clock instead of sleeping."""

    clock: FakeClock
    stopped: bool = False
    # Extra seconds a wait takes beyond its timeout: a busy core that wakes the caller late.
    oversleep: list[float] = field(default_factory=list)

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.now += (timeout or 0.0) + (self.oversleep.pop(0) if self.oversleep else 0.0)
        return self.stopped


@dataclass
class FakeControls:
    """The store's account state, in memory: each reservation takes the next free slot.

    Slots are kept on the store's clock, which reads `server_offset` seconds
    ahead of the worker's (negative: behind), as a database server's may.
    """

    clock: FakeClock
    spacing: float = 0.0  # seconds between consecutive slots
    server_offset: float = 0.0
    reserved: list[float] = field(default_factory=list)  # slots, on the store's clock
    blocks: list[tuple[str, float, int | None]] = field(default_factory=list)  # hold seconds
    pauses: list[tuple[str, str, float]] = field(default_factory=list)  # probe after seconds
    resumed: list[str] = field(default_factory=list)
    probes: list[tuple[str, float]] = field(default_factory=list)  # probe after seconds

    def server_now(self) -> float:
        """Return the store's clock."""
        return self.clock.now + self.server_offset

    def reserve_call(self, account: str, limit: int, window_seconds: float) -> float:
        now = self.server_now()
        slot = max([now, *(at + self.spacing for at in self.reserved)])
        self.reserved.append(slot)
        return slot - now

    def block_for(self, account: str, hold_seconds: float, lowered_limit: int | None) -> None:
        self.blocks.append((account, hold_seconds, lowered_limit))

    def pause(self, account: str, reason: str, probe_after_seconds: float) -> None:
        self.pauses.append((account, reason, probe_after_seconds))

    def resume(self, account: str) -> None:
        self.resumed.append(account)

    def postpone_probe(self, account: str, probe_after_seconds: float) -> None:
        self.probes.append((account, probe_after_seconds))


class FakeClient(LeadSquaredClient):
    """A client whose probe answers what the test says, and that never opens a socket."""

    def __init__(self, account: AccountSettings = ACCOUNT, probe_answer: Outcome | None = None) -> None:
        super().__init__(account)
        self.probe_answer = probe_answer or Found("LeadSquared accepted the keys", status=200)
        self.probed = 0

    def probe(self) -> Outcome:
        self.probed += 1
        return self.probe_answer
