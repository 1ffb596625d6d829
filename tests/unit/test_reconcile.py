"""Reading an activity's key back, whatever shape LeadSquared lists it in."""

from __future__ import annotations

from bridge.pipeline.reconcile import key_of


def test_the_key_is_found_in_every_shape_an_activity_list_may_take() -> None:
    """Flat fields, a Fields list of SchemaName/Value pairs, or an ActivityFields mapping yield the key."""
    assert key_of({"mx_Custom_10": "k1"}, "mx_Custom_10") == "k1"
    assert key_of({"Fields": [{"SchemaName": "mx_Custom_10", "Value": "k2"}]}, "mx_Custom_10") == "k2"
    assert key_of({"ActivityFields": {"mx_Custom_10": "k3"}}, "mx_Custom_10") == "k3"
    assert key_of({"mx_Custom_9": "other"}, "mx_Custom_10") is None
