"""The bridge's settings: bridge.toml for structure, the environment for secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, Literal

DEFAULT_CONFIG_PATH = "bridge.toml"
DEFAULT_DATABASE_URL = "sqlite:///bridge.db"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Providers give up on an answer after 5-10 s; a request still arriving after 10 s is lost to them anyway.
DEFAULT_READ_TIMEOUT_SECONDS = 10.0
# Who may read GET /metrics of the web and admin apps unless [server] metrics_allowed_ips says:
# loopback and the private ranges a Prometheus server scrapes from, never the internet.
DEFAULT_METRICS_ALLOWED_IPS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class FieldSource:
    """Where one custom field's value comes from, and how it is written."""

    value: str | None = None  # a value the transform yields
    path: str | None = None  # or a dotted path into the payload
    format: str | None = None  # a name from bridge.sources.formats.FORMATS


WakeMode = Literal["notify", "poll"]
LookupMethod = Literal["unique_field", "lead_then_opportunities"]
# The lead fields the two-step method can search: LeadSquared has a lead look-up
# by email (Leads.GetByEmailaddress) and one by phone (RetrieveLeadByPhoneNumber,
# which matches the Phone and Mobile fields), and none by any other field.
TWO_STEP_LEAD_FIELDS = ("EmailAddress", "Phone", "Mobile")
# How a phone is written in the search (bridge/leadsquared/phones.py): as the payload holds it,
# or rewritten, an Indian mobile 9876543210 as +919876543210, 919876543210, 9876543210 or
# +91-9876543210. Which forms LeadSquared's search matches is unconfirmed: try with a real lead.
PhoneFormat = Literal["as_sent", "e164", "digits", "national", "dashed"]


@dataclass(frozen=True)
class OpportunityLookup:
    """How to find an event's opportunity in LeadSquared when the payload has no id."""

    lead_field: str  # the unique lead field searched: EmailAddress, Phone, Mobile, ...
    opportunity_type: int  # the OpportunityEvent code of the opportunity to pick
    # The value searched for: at a dotted path in the payload, or a value the transform yields
    # for each activity (a call's customer_phone, whichever way the call went). Exactly one.
    path: str | None = None
    value: str | None = None
    # One GetOpportunitiesByUniqueLeadField call, or the lead's id first and then
    # GetOpportunitiesOfLead: two calls against the rate limit.
    method: LookupMethod = "unique_field"
    cache_seconds: float = 900.0  # how long a found opportunity id is reused
    phone_format: PhoneFormat = "as_sent"  # how the value is written when it is a phone
    # How long a lead or opportunity not (yet) in LeadSquared is searched for again.
    wait_seconds: float = 1800.0


@dataclass(frozen=True)
class EventMapping:
    """How one provider event type becomes one LeadSquared activity."""

    event_type: str
    activity_event: int
    owner_email: str
    # Exactly one of these says where the opportunity comes from.
    opportunity_id_path: str | None
    note: str | None = None
    # LeadSquared schema name -> where its value comes from.
    fields: Mapping[str, FieldSource] = field(default_factory=dict)
    validate_dropdown_options: bool | None = None
    opportunity_lookup: OpportunityLookup | None = None


@dataclass(frozen=True)
class SourceSettings:
    """One configured webhook endpoint, /webhooks/<name>."""

    name: str
    kind: str
    enabled: bool
    account: str
    secret_env: str
    # Current secret first, then those still accepted while a rotation settles.
    secrets: tuple[str, ...]
    events: Mapping[str, EventMapping]
    # [sources.<name>.scheme]: what a generic kind needs to know about the provider.
    scheme: Mapping[str, Any] = field(default_factory=dict)
    # Deliveries from elsewhere are refused; empty: any address.
    allowed_networks: tuple[Network, ...] = ()
    # This source's own [retention] days; None: the global setting.
    retain_payload_days: int | None = None
    retain_events_days: int | None = None
    # [sources.<name>.secret_envs]: each named secret the kind declares -> its variable, and its value.
    secret_envs: Mapping[str, str] = field(default_factory=dict)
    named_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Aadhaar numbers masked before the body is stored; None: as the kind says (True for KYC kinds).
    redact_aadhaar: bool | None = None


@dataclass(frozen=True)
class AccountSettings:
    """One LeadSquared account: where to post, with which keys, how fast."""

    name: str
    host_env: str
    access_key_env: str
    secret_key_env: str
    host: str | None
    access_key: str | None
    secret_key: str | None
    auth: Literal["headers", "query"] = "headers"
    calls_per_window: int = 25
    window_seconds: float = 5.0
    # Added to the window between our clock and LeadSquared's receipt of a call.
    window_margin_seconds: float = 0.2
    max_in_flight: int = 25
    timeout_seconds: float = 30.0
    # A custom field that carries the bridge's activity key, for reconciliation.
    key_field: str | None = None

    @property
    def base_url(self) -> str:
        """Return the host as a URL, https unless a scheme is given."""
        host = (self.host or "").rstrip("/")
        return host if "://" in host else f"https://{host}"

    def missing_credentials(self) -> list[str]:
        """Return the environment variables this account still needs."""
        pairs = [
            (self.host_env, self.host),
            (self.access_key_env, self.access_key),
            (self.secret_key_env, self.secret_key),
        ]
        return [name for name, value in pairs if not value]


@dataclass(frozen=True)
class DeliverySettings:
    """Retry, lease and polling policy of the worker."""

    max_attempts: int = 8
    max_age_seconds: float = 24 * 3600
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    claim_lease_seconds: float = 120.0
    poll_interval_seconds: float = 0.25
    probe_interval_seconds: float = 30.0
    # How often each worker writes its heartbeat, and how old a heartbeat makes
    # its worker dead: its claims are then taken back at once, not at lease end.
    heartbeat_seconds: float = 2.0
    worker_stale_seconds: float = 10.0

    # How an idle worker hears of a new webhook: "notify" (LISTEN/NOTIFY on PostgreSQL,
    # PRAGMA data_version on SQLite, polling as the fallback) or "poll" (polling alone,
    # for PostgreSQL behind a transaction-mode pooler such as PgBouncer).
    wake: WakeMode = "notify"
    # While wake-ups work, polling only finds retries that came due: it can be slower.
    notified_poll_interval_seconds: float = 1.0


# Store connections a worker's pool holds besides its delivery threads': the main loop's
# and the heartbeat thread's. The LISTEN connection (PostgreSQL, wake = "notify") is one
# more, opened beside the pool by bridge/store/wake.py.
WORKER_OWN_CONNECTIONS = 2


@dataclass(frozen=True)
class DatabaseSettings:
    """How many store connections each process may open: a hard bound, so max_connections can be sized."""

    # Per web process (each gunicorn worker); a webhook holds one only for its insert and commit.
    web_pool_size: int = 5
    # Per worker process; None: one per delivery thread plus WORKER_OWN_CONNECTIONS, so none waits.
    worker_pool_size: int | None = None
    # How long a thread waits for a free connection before its store call fails.
    pool_timeout_seconds: float = 30.0


ERASURE_KEY_ENV = "BRIDGE_ERASURE_KEY"
# An HMAC key shorter than this is refused: the hashes of emails and phones must not be guessable.
MIN_ERASURE_KEY_CHARACTERS = 16


@dataclass(frozen=True)
class RetentionSettings:
    """How long payloads and processing records are kept, and the key that finds a person's events."""

    # A finished event's raw body and headers are erased this long after it was received.
    retain_payload_days: int = 30
    # A finished event, its activities and their calls are deleted this long after (a year of records).
    retain_events_days: int = 400
    # The audit log (operators' actions and logins) is deleted this long after each entry: the
    # DPDP Rules ask for a year of access logs.
    retain_audit_days: int = 400
    erasure_key_env: str = ERASURE_KEY_ENV
    # The key first, then earlier ones an erasure still searches with after a rotation.
    erasure_keys: tuple[str, ...] = field(default=(), repr=False)


# The conditions an alert is raised for (bridge/alerts/conditions.py says what each means).
AlertCondition = Literal[
    "account_paused", "dead_activities", "oldest_pending", "workers_silent", "limit_lowered"
]
DEFAULT_ALERT_WEBHOOK_ENV = "BRIDGE_ALERT_WEBHOOK_URL"
# A worker's thread that posts alerts holds a store connection of its own while it records a send.
ALERT_SENDER_CONNECTIONS = 1


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and when a condition is worth one: [alerts] in bridge.toml."""

    webhook_url_env: str = DEFAULT_ALERT_WEBHOOK_ENV
    # A secret (it carries the sink's key): from the environment, never shown; None turns alerts off.
    webhook_url: str | None = field(default=None, repr=False)
    # An account has more than this many activities gone dead within the last hour.
    dead_per_hour: int = 10
    # An account's oldest activity waiting for delivery was stored more than this long ago.
    oldest_pending_minutes: float = 30.0
    # No worker has written a heartbeat for this long: nothing is being delivered.
    worker_silent_seconds: float = 120.0
    # Conditions nobody wants an alert for.
    disabled: tuple[AlertCondition, ...] = ()
    # How often each worker (and the admin process) looks at the conditions.
    evaluate_every_seconds: float = 5.0
    # One post to the sink: a slow sink is cut off after this long and tried again later.
    timeout_seconds: float = 5.0
    # Capped exponential backoff between posts of an alert the sink refused or did not answer.
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    max_attempts: int = 30

    @property
    def enabled(self) -> bool:
        """Tell whether alerts are on: a webhook URL is set."""
        return bool(self.webhook_url)

    def watches(self, condition: str) -> bool:
        """Tell whether this condition raises alerts."""
        return condition not in self.disabled


@dataclass(frozen=True)
class Settings:
    """Everything the web and worker processes are configured with."""

    database_url: str
    max_body_bytes: int
    accounts: Mapping[str, AccountSettings]
    sources: Mapping[str, SourceSettings]
    delivery: DeliverySettings
    # Proxies in front of the bridge whose X-Forwarded-For is believed.
    trusted_proxies: tuple[Network, ...] = ()
    # A request's headers and body must all arrive within this many seconds of its first byte.
    read_timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS
    # Clients that may read GET /metrics (the client as trusted_proxies reveal it).
    metrics_networks: tuple[Network, ...] = field(
        default_factory=lambda: tuple(ip_network(address) for address in DEFAULT_METRICS_ALLOWED_IPS)
    )
    database: DatabaseSettings = DatabaseSettings()
    alerts: AlertSettings = AlertSettings()
    retention: RetentionSettings = RetentionSettings()

    def payload_days(self, source: str) -> int:
        """Return the days a finished event of this source keeps its payload."""
        own = self.sources[source].retain_payload_days if source in self.sources else None
        return own or self.retention.retain_payload_days

    def events_days(self, source: str) -> int:
        """Return the days a finished event of this source is kept at all."""
        own = self.sources[source].retain_events_days if source in self.sources else None
        return own or self.retention.retain_events_days

    def delivery_threads(self) -> int:
        """Return the worker's delivery threads: per account an enabled source posts to, its calls in flight.

        More calls in flight than the window allows would only queue on the limiter.
        """
        used = {source.account for source in self.sources.values() if source.enabled}
        return max(
            1,
            sum(
                min(self.accounts[name].max_in_flight, self.accounts[name].calls_per_window) for name in used
            ),
        )

    def worker_pool_size(self) -> int:
        """Return the store connections a worker process may open: the setting, else what its threads use."""
        if self.database.worker_pool_size is not None:
            return self.database.worker_pool_size
        return self.delivery_threads() + WORKER_OWN_CONNECTIONS + self.alert_connections()

    def alert_connections(self) -> int:
        """Return the store connections a worker's alert sender adds: one while alerts are on."""
        return ALERT_SENDER_CONNECTIONS if self.alerts.enabled else 0

    def secret_values(self) -> list[str]:
        """Return every secret in force, for the log redaction filter."""
        values = [s for source in self.sources.values() for s in source.secrets]
        values += [s for source in self.sources.values() for s in source.named_secrets.values()]
        for account in self.accounts.values():
            values += [v for v in (account.access_key, account.secret_key) if v]
        if self.alerts.webhook_url:
            values.append(self.alerts.webhook_url)
        return values + list(self.retention.erasure_keys)
