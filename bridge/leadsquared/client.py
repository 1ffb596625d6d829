"""The only module that speaks HTTP to LeadSquared; every answer becomes a typed outcome.

Keys go in the x-LSQ-AccessKey / x-LSQ-SecretKey headers (LeadSquared's advice),
or URL-encoded in the query string when an account asks for it: access keys
contain `$`, which some clients leave raw. No message built here ever carries
a URL, a header or an exception's text, since any of them may hold a key.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from bridge.config.settings import AccountSettings
from bridge.leadsquared.opportunities import lead_id, newest_opportunity
from bridge.leadsquared.outcomes import (
    BadRequest,
    ErrorOutcome,
    Found,
    LeadFound,
    NotFound,
    OpportunityFound,
    Outcome,
    Posted,
    RateLimited,
    Rejected,
    Retryable,
    RowResult,
    ServerError,
    Unauthorized,
    Unknown,
)

BULK_PATH = "/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"
ACTIVITIES_OF_OPPORTUNITY_PATH = "/v2/OpportunityManagement.svc/GetActivitiesOfOpportunity"
PROBE_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
OPPORTUNITIES_BY_LEAD_FIELD_PATH = "/v2/OpportunityManagement.svc/GetOpportunitiesByUniqueLeadField"
OPPORTUNITIES_OF_LEAD_PATH = "/v2/OpportunityManagement.svc/GetOpportunitiesOfLead"
LEAD_BY_EMAIL_PATH = "/v2/LeadManagement.svc/Leads.GetByEmailaddress"
LEAD_BY_PHONE_PATH = "/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber"
# One page: a lead with more opportunities than this is not expected (paging is not followed).
LOOKUP_PAGE = {"PageIndex": 1, "PageSize": 100}
AnOutcome = TypeVar("AnOutcome", bound=Outcome)
_LIMIT_MESSAGE = re.compile(r"limit of (\d+) in (\d+(?:\.\d+)?) second", re.IGNORECASE)


class LeadSquaredClient:
    """Calls one LeadSquared account."""

    def __init__(self, account: AccountSettings) -> None:
        self.account = account
        self._local = threading.local()

    def post_activities(self, opportunity_id: str, rows: Sequence[Mapping[str, Any]]) -> Outcome:
        """Post up to 25 activities onto one opportunity."""
        answer = self._call("POST", BULK_PATH, {"opportunityId": opportunity_id}, list(rows))
        if not isinstance(answer, requests.Response):
            return answer
        return self._scrubbed(_bulk_outcome(answer))

    def probe(self) -> Outcome:
        """Check the keys with a cheap authenticated read."""
        answer = self._call("GET", PROBE_PATH, {}, None)
        if not isinstance(answer, requests.Response):
            return answer
        if answer.status_code == 200:
            return Found("LeadSquared accepted the keys", status=200)
        return self._scrubbed(_error_outcome(answer))

    def activities_of_opportunity(
        self, opportunity_id: str, event_code: int, page_index: int, page_size: int
    ) -> Outcome:
        """Read one page of an opportunity's activities of one type."""
        params = {"opportunityId": opportunity_id, "activityEventCode": str(event_code)}
        body = {"Paging": {"PageIndex": page_index, "PageSize": page_size}}
        answer = self._call("POST", ACTIVITIES_OF_OPPORTUNITY_PATH, params, body)
        if not isinstance(answer, requests.Response):
            return answer
        if answer.status_code != 200:
            return self._scrubbed(_error_outcome(answer))
        return _found(answer)

    def opportunity_by_lead_field(
        self, lead_field: str, value: str, opportunity_type: int
    ) -> OpportunityFound | NotFound | ErrorOutcome:
        """Find a lead's newest opportunity of a type in one call, by a unique lead field."""
        body = {
            "Parameter": {"LookupName": lead_field, "LookupValue": value, "SqlOperator": "="},
            "Paging": LOOKUP_PAGE,
        }
        answer = self._read("POST", OPPORTUNITIES_BY_LEAD_FIELD_PATH, {}, body)
        missing = f"no lead with that {lead_field} has an opportunity of type {opportunity_type}"
        return _newest(answer, opportunity_type, type_required=True, missing=missing)

    def lead_by_email(self, email: str) -> LeadFound | NotFound | ErrorOutcome:
        """Find a lead by its email address (Leads.GetByEmailaddress)."""
        return self._lead(LEAD_BY_EMAIL_PATH, {"emailaddress": email}, "EmailAddress")

    def lead_by_phone(self, phone: str) -> LeadFound | NotFound | ErrorOutcome:
        """Find a lead by a number in its Phone or Mobile field (RetrieveLeadByPhoneNumber)."""
        return self._lead(LEAD_BY_PHONE_PATH, {"phone": phone}, "phone")

    def opportunity_of_lead(
        self, lead_id: str, opportunity_type: int
    ) -> OpportunityFound | NotFound | ErrorOutcome:
        """Find a lead's newest opportunity of a type (GetOpportunitiesOfLead).

        opportunityType is always sent: documented as optional, one tenant
        required it (unconfirmed which holds in general).
        """
        params = {"leadId": lead_id, "opportunityType": str(opportunity_type)}
        answer = self._read("POST", OPPORTUNITIES_OF_LEAD_PATH, params, {"Paging": LOOKUP_PAGE})
        missing = f"the lead has no opportunity of type {opportunity_type}"
        return _newest(answer, opportunity_type, type_required=False, missing=missing)

    def _lead(self, path: str, params: dict[str, str], searched: str) -> LeadFound | NotFound | ErrorOutcome:
        answer = self._read("GET", path, params, None)
        if not isinstance(answer, Found):
            return answer
        found = lead_id(answer.body)
        if not found:
            return NotFound(f"no lead with that {searched}", status=200)
        return LeadFound("LeadSquared found the lead", status=200, lead_id=found)

    def _read(self, method: str, path: str, params: dict[str, str], body: Any) -> Found | ErrorOutcome:
        """Make a look-up call; a 200 with JSON is Found, anything else what to do next."""
        answer = self._call(method, path, params, body)
        if isinstance(answer, Unknown):
            return Retryable(answer.message)
        if isinstance(answer, Retryable):
            return answer
        if answer.status_code != 200:
            return self._scrubbed(_error_outcome(answer))
        return _found(answer)

    def _call(
        self, method: str, path: str, params: dict[str, str], body: Any
    ) -> requests.Response | Retryable | Unknown:
        headers = {"Accept": "application/json"}
        if self.account.auth == "headers":
            headers["x-LSQ-AccessKey"] = self.account.access_key or ""
            headers["x-LSQ-SecretKey"] = self.account.secret_key or ""
        else:
            # requests URL-encodes params, so the `$` in access keys arrives intact.
            params = {
                "accessKey": self.account.access_key or "",
                "secretKey": self.account.secret_key or "",
                **params,
            }
        try:
            return self._session().request(
                method,
                self.account.base_url + path,
                params=params,
                json=body,
                headers=headers,
                timeout=(min(10.0, self.account.timeout_seconds), self.account.timeout_seconds),
            )
        except (requests.ConnectTimeout, requests.exceptions.SSLError) as error:
            return Retryable(f"could not connect to LeadSquared ({type(error).__name__})")
        except requests.ConnectionError as error:
            if _never_sent(error):
                return Retryable(f"could not connect to LeadSquared ({type(error).__name__})")
            return Unknown(f"the connection broke before LeadSquared answered ({type(error).__name__})")
        except requests.Timeout:
            return Unknown(f"LeadSquared did not answer within {self.account.timeout_seconds:g} s")
        except requests.RequestException as error:
            return Retryable(f"the call to LeadSquared failed ({type(error).__name__})")

    def _scrubbed(self, outcome: AnOutcome) -> AnOutcome:
        """Return the outcome with the account's keys cut from its message, should a proxy echo them."""
        message = outcome.message
        for key in (self.account.access_key, self.account.secret_key):
            if key:
                message = message.replace(key, "[redacted]").replace(quote(key, safe=""), "[redacted]")
        return replace(outcome, message=message)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session


def _never_sent(error: requests.ConnectionError) -> bool:
    """Tell whether the connection failed before any byte of the request left."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        cause = pending.pop()
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, NewConnectionError | NameResolutionError | ConnectTimeoutError):
            return True
        # requests wraps urllib3's errors in args; urllib3 keeps its cause in `reason`.
        linked = [cause.__cause__, cause.__context__, getattr(cause, "reason", None), *cause.args]
        pending.extend(c for c in linked if isinstance(c, BaseException))
    return False


def _bulk_outcome(answer: requests.Response) -> Outcome:
    if answer.status_code != 200:
        return _error_outcome(answer)
    try:
        body = answer.json()
        items = body["Response"]
        rows = {
            int(item["RowNumber"]): RowResult(
                created=item.get("ActivityCreated") is True,
                prospect_activity_id=item.get("ProspectActivityId"),
                message=item.get("ExceptionMessage") or item.get("Message"),
            )
            for item in items
        }
    except (ValueError, KeyError, TypeError):
        return Unknown("LeadSquared answered 200 without per-row results", status=200)
    return Posted("LeadSquared answered 200", status=200, rows=rows)


def _newest(
    answer: Found | ErrorOutcome, opportunity_type: int, type_required: bool, missing: str
) -> OpportunityFound | NotFound | ErrorOutcome:
    """Return the newest opportunity of the type in a list answer, else NotFound saying `missing`."""
    if not isinstance(answer, Found):
        return answer
    found = newest_opportunity(answer.body, opportunity_type, type_required)
    if found is None:
        return NotFound(missing, status=200)
    return OpportunityFound("LeadSquared found the opportunity", status=200, opportunity_id=found)


def _found(answer: requests.Response) -> Found | Retryable:
    """Return a 200's JSON body as Found; one that is not JSON tells nothing, so it is retried."""
    try:
        return Found("LeadSquared answered 200", status=200, body=answer.json())
    except ValueError:
        return Retryable("LeadSquared answered 200 with a body that is not JSON", status=200)


def _error_outcome(answer: requests.Response) -> ErrorOutcome:
    """Map a non-200 answer to what the caller should do next."""
    exception_type, message = _error_body(answer)
    status = answer.status_code
    described = f"LeadSquared answered {status}: {message}" if message else f"LeadSquared answered {status}"
    limit = _LIMIT_MESSAGE.search(message)
    answered: dict[str, Any] = {"status": status, "exception_type": exception_type or None}
    if status == 429 or (status == 403 and limit):
        return RateLimited(
            described,
            **answered,
            limit=int(limit.group(1)) if limit else None,
            window_seconds=float(limit.group(2)) if limit else None,
        )
    if status == 401:
        return Unauthorized(described, **answered)
    named = f"{described} ({exception_type})" if exception_type else described
    if status == 400:
        return BadRequest(named, **answered)
    if status >= 500:
        # Whether the row or LeadSquared is at fault is in exception_type: the gate decides.
        return ServerError(named, **answered)
    if status in (404, 408):
        return Retryable(described, **answered)
    return Rejected(described, **answered)


def _error_body(answer: requests.Response) -> tuple[str, str]:
    try:
        body = answer.json()
    except ValueError:
        return "", answer.text[:200].strip()
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("ExceptionType") or ""), str(
        body.get("ExceptionMessage") or body.get("Message") or ""
    )
