"""Read LeadSquared's lead and opportunity look-up answers: which lead, which opportunity.

Pure functions over parsed JSON, so the choice is testable without HTTP.
Several shapes here are unconfirmed against a real tenant (see the fact sheet,
sections 2.3 and 2.5): which date field opportunity lists carry and in which
form, whether RetrieveLeadByPhoneNumber answers with an array like
Leads.GetByEmailaddress or with one object, and whether an opportunity's id is
always `OpportunityId`. Each is read defensively and anything unreadable is
skipped, never guessed at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# LeadSquared writes dates in more than one form; all are UTC without a zone.
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%m/%d/%Y %I:%M:%S %p")
UNDATED = datetime.min


def newest_opportunity(body: Any, opportunity_type: int, type_required: bool) -> str | None:
    """Return the id of the newest opportunity of the type in a `{RecordCount, List}` answer.

    Newest means the latest `CreatedOn` (else `ModifiedOn`): the opportunity a
    payment made now most likely belongs to. Items without a readable date
    rank as oldest; among equals LeadSquared's own order decides (the first).
    type_required: GetOpportunitiesByUniqueLeadField lists every type, so an
    item must show its `OpportunityEvent`; GetOpportunitiesOfLead is already
    filtered by type, so an item without one is taken.
    """
    items = body.get("List") if isinstance(body, dict) else None
    candidates = []
    for position, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        event = item.get("OpportunityEvent")
        if event is None and type_required:
            continue
        if event is not None and str(event).strip() != str(opportunity_type):
            continue
        opportunity_id = item.get("OpportunityId") or item.get("ProspectOpportunityId")
        if isinstance(opportunity_id, str) and opportunity_id.strip():
            candidates.append((_created(item), -position, opportunity_id.strip()))
    return max(candidates)[2] if candidates else None


def lead_id(body: Any) -> str | None:
    """Return the ProspectID of the first lead in a lead look-up answer, or None for no lead.

    Leads.GetByEmailaddress answers a bare array ([] when unknown); the phone
    look-up picks the lead with the latest activity when several match, so the
    first lead is the one LeadSquared would pick too.
    """
    leads = body if isinstance(body, list) else [body]
    for lead in leads:
        if isinstance(lead, dict):
            found = lead.get("ProspectID") or lead.get("ProspectId")
            if isinstance(found, str) and found.strip():
                return found.strip()
    return None


def _created(item: dict[str, Any]) -> datetime:
    for name in ("CreatedOn", "ModifiedOn"):
        text = item.get(name)
        if isinstance(text, str):
            for date_format in DATE_FORMATS:
                try:
                    return datetime.strptime(text.strip(), date_format)
                except ValueError:
                    continue
    return UNDATED
