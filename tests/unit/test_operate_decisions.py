"""The operator's pure decisions: which rows a bulk action takes, and how a replay is told."""

from __future__ import annotations

import pytest

from bridge.operate.actions import OperateError, Replayed, describe_replay
from bridge.operate.filters import ActivityFilter, EventFilter
from bridge.operate.jobs import BulkAction, bulk_filter, query_string
from bridge.store.requeue import Requeued
from bridge.store.tables import ActivityStatus, EventStatus

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (BulkAction.RETRY, ActivityStatus.DEAD),
        (BulkAction.RESOLVE_DELIVERED, ActivityStatus.UNKNOWN),
        (BulkAction.RESOLVE_REPOST, ActivityStatus.UNKNOWN),
    ],
)
def test_an_activity_action_gets_the_status_it_works_on(action: BulkAction, status: ActivityStatus) -> None:
    """A filter without a status gets the action's; one naming the same status is taken as it is."""
    assert bulk_filter(action, {"account": "main"}, NOW) == ActivityFilter(account="main", status=status)
    assert bulk_filter(action.value, {"status": status.value}, NOW) == ActivityFilter(status=status)


def test_an_activity_action_refuses_a_filter_naming_another_status() -> None:
    """Retrying unknown activities is a mistake to name, not to correct silently."""
    with pytest.raises(OperateError, match="retry works on dead activities, not unknown") as refused:
        bulk_filter(BulkAction.RETRY, {"status": "unknown"}, NOW)
    assert refused.value.status == 400


def test_a_replay_takes_an_event_filter_with_its_times_made_absolute() -> None:
    """Relative times become epoch seconds, so a job runs on what the operator counted."""
    wanted = bulk_filter(BulkAction.REPLAY, {"status": "ignored", "since": "2h"}, NOW)
    assert wanted == EventFilter(status=EventStatus.IGNORED, since=NOW - 7200)
    assert wanted.to_params() == {"status": "ignored", "since": repr(NOW - 7200)}


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("delete", {}, "action: one of replay, retry, resolve_delivered, resolve_repost, not 'delete'"),
        (BulkAction.REPLAY, {"status": "received"}, "received events are not transformed yet"),
        (BulkAction.REPLAY, {"colour": "red"}, "colour: not a filter"),
        (BulkAction.RETRY, {"event_id": "x"}, "event_id: give an event's number"),
    ],
)
def test_bad_bulk_input_is_a_400_naming_what_to_fix(
    action: str, params: dict[str, str], message: str
) -> None:
    """An unknown action, a received status or a bad field is refused before anything is stored."""
    with pytest.raises(OperateError, match=message) as refused:
        bulk_filter(action, params, NOW)
    assert refused.value.status == 400


def test_a_filter_is_audited_as_the_query_string_the_console_shows() -> None:
    """Names are sorted and values escaped."""
    assert query_string({"text": "a&b", "account": "main"}) == "account=main&text=a%26b"


def test_a_replay_that_queued_says_what_became_of_each_activity() -> None:
    """New, queued again and left alone are counted apart."""
    replayed = Replayed(7, EventStatus.TRANSFORMED, None, 3, Requeued(added=1, replaced=1, kept=1))
    assert describe_replay(replayed) == (
        "event 7 maps to 3 activities: 1 queued new, 1 queued again, "
        "1 left as they were (delivered, or possibly in LeadSquared, or being worked on)"
    )


def test_a_replay_of_one_activity_says_activity() -> None:
    """One activity is told in the singular."""
    replayed = Replayed(7, EventStatus.TRANSFORMED, None, 1, Requeued(added=1))
    assert describe_replay(replayed).startswith("event 7 maps to 1 activity: 1 queued new, ")


def test_a_failed_replay_is_told_without_its_reason() -> None:
    """A failed mapping's reason may quote the payload: the detail points to the event's page instead."""
    replayed = Replayed(7, EventStatus.FAILED, "no opportunity id: x holds 'a@b.example'", 0, Requeued())
    assert describe_replay(replayed) == "event 7 failed to map again; its reason is on the event's page"


def test_an_ignored_replay_says_which_type_nobody_mapped() -> None:
    """The reason of an ignored event names only the event type, so it is told."""
    replayed = Replayed(7, EventStatus.IGNORED, "no mapping for event type 'x.y'", 0, Requeued())
    assert describe_replay(replayed) == "event 7 is ignored: no mapping for event type 'x.y'"


def test_an_ignored_replay_masks_an_identifier_in_its_event_type() -> None:
    """An event type holding an email or a PAN is told masked, as the console, API and audit log show it."""
    reason = "no mapping for event type 'ABCPE1234K a@b.example'"
    replayed = Replayed(7, EventStatus.IGNORED, reason, 0, Requeued())
    expected = "event 7 is ignored: no mapping for event type '******234K a***@b.example'"
    assert describe_replay(replayed) == expected
