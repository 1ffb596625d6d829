"""Reading LeadSquared's answers to a look-up: the newest opportunity of a type, and the lead's id."""

from __future__ import annotations

from bridge.leadsquared.opportunities import lead_id, newest_opportunity


def test_the_newest_opportunity_of_the_type_is_read_from_any_date_form() -> None:
    """Both of LeadSquared's date forms are compared; other types and items without an id are skipped."""
    body = {
        "RecordCount": 4,
        "List": [
            {"OpportunityId": "opp-a", "OpportunityEvent": "12002", "CreatedOn": "2025-06-01 10:00:00.000"},
            {"OpportunityId": "opp-b", "OpportunityEvent": 12002, "CreatedOn": "7/31/2025 5:33:50 AM"},
            {"OpportunityId": "opp-c", "OpportunityEvent": "12000", "CreatedOn": "2026-01-01 00:00:00"},
            {"OpportunityEvent": "12002", "CreatedOn": "2026-01-01 00:00:00"},
        ],
    }
    assert newest_opportunity(body, 12002, type_required=True) == "opp-b"
    untyped = {"List": [{"OpportunityId": "opp-d"}, {"OpportunityId": "opp-e", "ModifiedOn": "bad date"}]}
    assert newest_opportunity(untyped, 12002, type_required=True) is None
    assert newest_opportunity(untyped, 12002, type_required=False) == "opp-d"
    assert lead_id([]) is None
    assert lead_id([{"ProspectID": "lead-1"}, {"ProspectID": "lead-2"}]) == "lead-1"
    assert lead_id({"ProspectId": "lead-3"}) == "lead-3"
