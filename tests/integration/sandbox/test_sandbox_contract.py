"""The LeadSquared sandbox honours LeadSquared's documented contract over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from bridge.sandbox import SandboxServer, SandboxSettings, start_sandbox

BULK_ADD = "/v2/ProspectActivity.svc/Bulk/CustomActivity/Add/ByOpportunityId"
ACTIVITIES = "/v2/OpportunityManagement.svc/GetActivitiesOfOpportunity"
USER = "/v2/Authentication.svc/UserByAccessKey.Get"
SETTINGS = SandboxSettings()
AUTH = {"x-LSQ-AccessKey": SETTINGS.access_key, "x-LSQ-SecretKey": SETTINGS.secret_key}
UNAUTHORIZED_BODY = {
    "Status": "Error",
    "ExceptionType": "MXUnAuthorizedAccessException",
    "ExceptionMessage": "Invalid Access Key or Secret Key",
}
TIMEOUT = 5.0


def row(event: int = 201, **extra: Any) -> dict[str, Any]:
    """Build a valid activity row."""
    return {"ActivityEvent": event, "ActivityOwnerEmail": "owner@example.com", **extra}


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SandboxServer]:
    """Run one default sandbox for the whole module."""
    server = start_sandbox(SETTINGS)
    yield server
    server.stop()


@pytest.fixture
def sandbox(shared_sandbox: SandboxServer) -> SandboxServer:
    """Hand each test the shared sandbox with empty state."""
    requests.post(f"{shared_sandbox.url}/sandbox/reset", timeout=TIMEOUT).raise_for_status()
    return shared_sandbox


def post_rows(
    sandbox: SandboxServer, rows: Any, opportunity_id: str = "opp-1", **kwargs: Any
) -> requests.Response:
    """Post rows to the bulk endpoint with header keys unless told otherwise."""
    kwargs.setdefault("headers", AUTH)
    kwargs.setdefault("timeout", TIMEOUT)
    params = {"opportunityId": opportunity_id} if opportunity_id else {}
    return requests.post(f"{sandbox.url}{BULK_ADD}", params=params, json=rows, **kwargs)


def received(sandbox: SandboxServer) -> dict[str, Any]:
    """Read what the sandbox received."""
    answer = requests.get(f"{sandbox.url}/sandbox/received", timeout=TIMEOUT)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def add_fault(sandbox: SandboxServer, **rule: Any) -> None:
    """Register a fault rule, failing the test if the sandbox refuses it."""
    answer = requests.post(f"{sandbox.url}/sandbox/faults", json=rule, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text


def test_two_rows_are_created_with_receipts(sandbox: SandboxServer) -> None:
    """Two valid rows get ids and RowNumbers and show up in /sandbox/received."""
    rows = [row(208, Fields=[{"SchemaName": "mx_Custom_2", "Value": "AAAAA1111A"}]), row(102)]
    answer = post_rows(sandbox, rows)
    assert answer.status_code == 200
    receipts = answer.json()["Response"]
    assert [r["RowNumber"] for r in receipts] == [1, 2]
    assert all(r["ActivityCreated"] is True for r in receipts)
    stored = received(sandbox)["activities"]
    assert [a["ProspectActivityId"] for a in stored] == [r["ProspectActivityId"] for r in receipts]
    assert [a["row"] for a in stored] == rows
    assert {a["opportunity_id"] for a in stored} == {"opp-1"}
    assert len(stored[0]["CreatedOn"]) == len("2024-01-01 00:00:00")


def test_query_string_keys_with_url_encoded_dollar_are_accepted(sandbox: SandboxServer) -> None:
    """Keys in the query string work once URL-encoded, as LeadSquared's '$' requires."""
    params = {"accessKey": SETTINGS.access_key, "secretKey": SETTINGS.secret_key}
    assert post_rows(sandbox, [row()], headers={}).status_code == 401
    url = f"{sandbox.url}{BULK_ADD}?opportunityId=opp-1"
    answer = requests.post(url, params=params, json=[row()], timeout=TIMEOUT)
    assert "u%24r" in (answer.request.url or "")
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-LSQ-AccessKey": SETTINGS.access_key, "x-LSQ-SecretKey": "wrong-secret"},
        {"x-LSQ-AccessKey": "u$rwrong", "x-LSQ-SecretKey": SETTINGS.secret_key},
    ],
)
def test_bad_keys_get_401_without_echo(sandbox: SandboxServer, headers: dict[str, str]) -> None:
    """Missing or wrong keys get LeadSquared's 401 body, which never echoes a key."""
    answer = post_rows(sandbox, [row()], headers=headers)
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED_BODY
    assert "wrong" not in answer.text
    assert received(sandbox)["activities"] == []


def test_more_than_25_rows_is_refused(sandbox: SandboxServer) -> None:
    """A body of 26 rows gets a 400 naming the limit of 25."""
    answer = post_rows(sandbox, [row() for _ in range(26)])
    assert answer.status_code == 400
    assert "25" in answer.json()["ExceptionMessage"]
    assert received(sandbox)["activities"] == []


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ({"ActivityOwnerEmail": "owner@example.com"}, "'ActivityEvent' is mandatory"),
        (row(event="201"), "'ActivityEvent' must be a positive integer"),  # type: ignore[arg-type]
        (row(event=True), "'ActivityEvent' must be a positive integer"),
        ({"ActivityEvent": 201}, "'ActivityOwnerEmail' is mandatory"),
        (row(ActivityOwnerEmail="owner"), "'ActivityOwnerEmail' must be an email address"),
        (row(ActivityNote=5), "'ActivityNote' must be a string"),
        (row(Fields={"mx_Custom_1": "x"}), "'Fields' must be an array"),
        (row(Fields=[{"SchemaName": "mx_Custom_1"}]), "exactly 'SchemaName' and 'Value'"),
        (row(Fields=[{"SchemaName": "mx_Custom_1", "Value": 7}]), "must be a string"),
        (row(ValidateDropDownOptions="yes"), "'ValidateDropDownOptions' must be true or false"),
        (row(ActivityDateTime="2024-02-30 10:00:00"), "'ActivityDateTime' must be a UTC time"),
        (row(ActivityDateTime="2024-01-05T10:00:00Z"), "'ActivityDateTime' must be a UTC time"),
        (row(OwnerEmail="owner@example.com"), "'OwnerEmail' is not a known attribute"),
    ],
)
def test_an_invalid_row_refuses_the_whole_call(
    sandbox: SandboxServer, bad_row: dict[str, Any], message: str
) -> None:
    """One invalid row makes the call 400, names its 1-based number and stores nothing."""
    answer = post_rows(sandbox, [row(), row(), bad_row])
    assert answer.status_code == 400
    body = answer.json()
    assert body["Status"] == "Error"
    assert body["ExceptionType"].startswith("MX")
    assert body["ExceptionMessage"].startswith("Row 3: ")
    assert message in body["ExceptionMessage"]
    assert received(sandbox)["activities"] == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "[]", "headers": {**AUTH, "Content-Type": "text/plain"}}, "Content-Type"),
        ({"data": "[{", "headers": {**AUTH, "Content-Type": "application/json"}}, "not valid JSON"),
        ({"json": row(), "headers": AUTH}, "JSON array"),
        ({"json": [], "headers": AUTH}, "at least one activity"),
    ],
)
def test_a_malformed_body_is_refused(sandbox: SandboxServer, kwargs: dict[str, Any], message: str) -> None:
    """A body that is not a JSON array of activities gets a 400 saying so."""
    answer = requests.post(
        f"{sandbox.url}{BULK_ADD}", params={"opportunityId": "opp-1"}, timeout=TIMEOUT, **kwargs
    )
    assert answer.status_code == 400
    assert answer.json()["ExceptionType"] == "MXInvalidInputException"
    assert message in answer.json()["ExceptionMessage"]


def test_a_missing_opportunity_id_is_refused(sandbox: SandboxServer) -> None:
    """A call without opportunityId gets LeadSquared's mandatory-attribute error."""
    answer = post_rows(sandbox, [row()], opportunity_id="")
    assert answer.status_code == 400
    assert answer.json() == {
        "Status": "Error",
        "ExceptionType": "MXMandatoryAttributeMissingException",
        "ExceptionMessage": "'opportunityId' is mandatory",
    }


@pytest.mark.parametrize("status", [429, 403])
def test_sliding_window_refuses_the_extra_call_until_the_window_passes(status: int) -> None:
    """With 3 calls per 1 s the 4th call is refused, and a call after the window is accepted."""
    settings = SandboxSettings(calls_per_window=3, window_seconds=1.0, rate_limit_status=status)
    with start_sandbox(settings) as sandbox:
        assert [post_rows(sandbox, [row()]).status_code for _ in range(3)] == [200] * 3
        refused = post_rows(sandbox, [row()])
        assert refused.status_code == status
        assert refused.json() == {
            "Status": "Error",
            "ExceptionType": "MXAPIRateLimitExceededException",
            "ExceptionMessage": "API calls exceeded the limit of 3 in 1 second(s)",
        }
        time.sleep(1.05)
        assert post_rows(sandbox, [row()]).status_code == 200
        calls = received(sandbox)["calls"]
        assert [call["status"] for call in calls] == [200, 200, 200, status, 200]
        assert len(received(sandbox)["activities"]) == 4


def test_a_status_fault_answers_verbatim_and_stores_nothing(sandbox: SandboxServer) -> None:
    """A status fault answers its body for `times` calls, stores nothing, then lapses."""
    body = {"Status": "Error", "ExceptionType": "MXUnknownException", "ExceptionMessage": "boom"}
    add_fault(sandbox, path="ByOpportunityId", status=500, body=body, times=2)
    for _ in range(2):
        answer = post_rows(sandbox, [row()])
        assert (answer.status_code, answer.json()) == (500, body)
    assert post_rows(sandbox, [row()]).status_code == 200
    seen = received(sandbox)
    assert len(seen["activities"]) == 1
    assert [call["status"] for call in seen["calls"]] == [500, 500, 200]
    assert all(call["rows"] == 1 for call in seen["calls"])


def test_a_401_fault_imitates_revoked_keys(sandbox: SandboxServer) -> None:
    """An injected 401 without a body answers LeadSquared's unauthorized body."""
    add_fault(sandbox, status=401)
    answer = requests.get(f"{sandbox.url}{USER}", headers=AUTH, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED_BODY)
    assert requests.get(f"{sandbox.url}{USER}", headers=AUTH, timeout=TIMEOUT).status_code == 200


def test_a_fail_rows_fault_refuses_only_those_rows(sandbox: SandboxServer) -> None:
    """Failed rows come back ActivityCreated false with the message; the others are stored."""
    add_fault(sandbox, fail_rows=[2], message="Invalid field value")
    answer = post_rows(sandbox, [row(note) for note in (201, 202, 203)])
    assert answer.status_code == 200
    receipts = answer.json()["Response"]
    assert [r["ActivityCreated"] for r in receipts] == [True, False, True]
    assert receipts[1]["ExceptionMessage"] == "Invalid field value"
    stored = received(sandbox)["activities"]
    assert [a["row"]["ActivityEvent"] for a in stored] == [201, 203]


def test_an_omit_rows_fault_stores_rows_it_does_not_report(sandbox: SandboxServer) -> None:
    """Omitted rows are stored but missing from the answer, leaving their outcome unknown."""
    add_fault(sandbox, omit_rows=[3])
    answer = post_rows(sandbox, [row(), row(), row()])
    assert [r["RowNumber"] for r in answer.json()["Response"]] == [1, 2]
    assert len(received(sandbox)["activities"]) == 3


def test_a_delay_fault_times_the_client_out_but_stores_the_rows(sandbox: SandboxServer) -> None:
    """A delayed answer outlives the client's timeout, yet the rows are stored."""
    add_fault(sandbox, delay_seconds=0.6)
    with pytest.raises(requests.Timeout):
        post_rows(sandbox, [row()], timeout=0.2)
    assert len(received(sandbox)["activities"]) == 1


def test_a_fault_matches_only_its_opportunity(sandbox: SandboxServer) -> None:
    """A rule scoped to one opportunity leaves calls for others alone."""
    add_fault(sandbox, opportunity_id="opp-2", status=503)
    assert post_rows(sandbox, [row()], opportunity_id="opp-1").status_code == 200
    refused = post_rows(sandbox, [row()], opportunity_id="opp-2")
    assert refused.status_code == 503
    assert refused.json()["ExceptionType"].startswith("MX")


@pytest.mark.parametrize(
    "rule",
    [
        {"path": "ByOpportunityId"},
        {"status": 500, "fail_rows": [1]},
        {"status": 500, "colour": "red"},
        {"status": 500, "times": 0},
        {"fail_rows": []},
        {"delay_seconds": -1},
        {"omit_rows": [1], "message": "x"},
    ],
)
def test_bad_fault_rules_are_refused(sandbox: SandboxServer, rule: dict[str, Any]) -> None:
    """A fault rule the sandbox cannot apply gets a 400 with a one-line hint."""
    answer = requests.post(f"{sandbox.url}/sandbox/faults", json=rule, timeout=TIMEOUT)
    assert answer.status_code == 400
    assert "\n" not in answer.json()["error"]


def test_activities_of_an_opportunity_are_flat_and_newest_first(sandbox: SandboxServer) -> None:
    """GetActivitiesOfOpportunity lists custom fields as top-level keys, newest first."""
    post_rows(sandbox, [row(201, Fields=[{"SchemaName": "mx_Custom_1", "Value": "key-1"}])])
    post_rows(sandbox, [row(202, ActivityNote="second")])
    post_rows(sandbox, [row(201)], opportunity_id="opp-other")
    url = f"{sandbox.url}{ACTIVITIES}"
    answer = requests.post(url, params={"opportunityId": "opp-1"}, headers=AUTH, timeout=TIMEOUT)
    assert answer.status_code == 200
    listing = answer.json()
    assert listing["RecordCount"] == 2
    newest, oldest = listing["List"]
    assert (newest["ActivityEvent"], newest["ActivityNote"]) == (202, "second")
    assert oldest["mx_Custom_1"] == "key-1"
    assert "Fields" not in oldest
    filtered = requests.post(
        url,
        params={"opportunityId": "opp-1", "activityEventCode": "201"},
        json={"Paging": {"PageIndex": 1, "PageSize": 1}},
        headers=AUTH,
        timeout=TIMEOUT,
    ).json()
    assert filtered["RecordCount"] == 1
    assert filtered["List"][0]["ProspectActivityId"] == oldest["ProspectActivityId"]


def test_the_user_probe_answers_only_with_good_keys(sandbox: SandboxServer) -> None:
    """UserByAccessKey.Get describes the key owner, and 401s with bad keys."""
    answer = requests.get(f"{sandbox.url}{USER}", headers=AUTH, timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.json()["EmailAddress"] == "sandbox@example.com"
    assert requests.get(f"{sandbox.url}{USER}", timeout=TIMEOUT).status_code == 401


def test_unknown_api_paths_get_an_mx_404(sandbox: SandboxServer) -> None:
    """Paths LeadSquared does not serve get a 404 in LeadSquared's error envelope."""
    answer = requests.post(f"{sandbox.url}/v2/LeadManagement.svc/Nope", headers=AUTH, timeout=TIMEOUT)
    assert answer.status_code == 404
    assert answer.json()["ExceptionType"] == "MXAPINotFoundException"
    assert received(sandbox)["calls"][-1]["status"] == 404


def test_health_answers_ok(sandbox: SandboxServer) -> None:
    """The health endpoint says the sandbox is up."""
    answer = requests.get(f"{sandbox.url}/sandbox/health", timeout=TIMEOUT)
    assert answer.json() == {"status": "ok"}


@pytest.mark.alone
def test_latency_overlaps_concurrent_calls() -> None:
    """Ten concurrent calls all arrive before the first 0.5 s answer would have left."""
    with start_sandbox(SandboxSettings(latency_seconds=0.5)) as sandbox:
        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(lambda _: post_rows(sandbox, [row()]), range(10)))
        assert [answer.status_code for answer in answers] == [200] * 10
        arrivals = [call["at"] for call in received(sandbox)["calls"]]
        assert len(arrivals) == 10
        assert max(arrivals) - min(arrivals) < 0.5


def test_settings_refuse_impossible_values_and_hide_the_secret() -> None:
    """Settings reject a zero window or an odd rate-limit status and never repr the secret."""
    with pytest.raises(ValueError, match="window_seconds"):
        SandboxSettings(window_seconds=0)
    with pytest.raises(ValueError, match="rate_limit_status"):
        SandboxSettings(rate_limit_status=500)
    assert SETTINGS.secret_key not in repr(SETTINGS)
