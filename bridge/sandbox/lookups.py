"""The sandbox's lead and opportunity look-ups, over the leads seeded by POST /sandbox/leads.

Answer shapes follow the fact sheet (sections 2.3 and 2.5): lead look-ups
answer a bare array ([] when unknown), opportunity look-ups
`{"RecordCount": n, "List": [...]}` with flat items. Opportunities are listed
oldest first, so a client that takes the first item instead of the newest is
caught.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from bridge.sandbox.answers import mx_error
from bridge.sandbox.state import LEAD_FIELDS, SandboxLead, SandboxOpportunity, current_sandbox
from bridge.sandbox.validation import INVALID, MANDATORY, InvalidInput, read_json

OPPORTUNITIES_BY_LEAD_FIELD_PATH = "/v2/OpportunityManagement.svc/GetOpportunitiesByUniqueLeadField"
OPPORTUNITIES_OF_LEAD_PATH = "/v2/OpportunityManagement.svc/GetOpportunitiesOfLead"
LEAD_BY_EMAIL_PATH = "/v2/LeadManagement.svc/Leads.GetByEmailaddress"
LEAD_BY_PHONE_PATH = "/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber"


def opportunities_by_lead_field() -> Response:
    """Answer GetOpportunitiesByUniqueLeadField: the opportunities of every lead matching one field."""
    try:
        lead_field, value = read_parameter(read_json(required=True))
    except InvalidInput as error:
        return mx_error(400, error.exception_type, error.message)
    leads = current_sandbox().state.leads_matching(lead_field, value)
    items = [opportunity_item(lead, opportunity) for lead in leads for opportunity in lead.opportunities]
    return jsonify({"RecordCount": len(items), "List": items})


def opportunities_of_lead() -> Response:
    """Answer GetOpportunitiesOfLead: one lead's opportunities, of one type when asked."""
    prospect_id = request.args.get("leadId", "")
    if not prospect_id:
        return mx_error(400, MANDATORY, "'leadId' is mandatory")
    wanted = request.args.get("opportunityType", "")
    lead = current_sandbox().state.lead(prospect_id)
    items = [
        opportunity_item(lead, opportunity)
        for opportunity in lead.opportunities
        if not wanted or str(opportunity.opportunity_type) == wanted
    ] if lead else []
    return jsonify({"RecordCount": len(items), "List": items})


def lead_by_email() -> Response:
    """Answer Leads.GetByEmailaddress; like LeadSquared, a misnamed parameter gets [] too."""
    email = request.args.get("emailaddress", "")
    leads = current_sandbox().state.leads_matching("EmailAddress", email) if email else []
    return jsonify([lead_item(lead) for lead in leads])


def lead_by_phone() -> Response:
    """Answer RetrieveLeadByPhoneNumber: the newest lead whose Phone or Mobile matches."""
    phone = request.args.get("phone", "")
    if not phone:
        return mx_error(400, MANDATORY, "'phone' is mandatory")
    state = current_sandbox().state
    leads = state.leads_matching("Phone", phone) or state.leads_matching("Mobile", phone)
    return jsonify([lead_item(lead) for lead in leads[:1]])


def read_parameter(body: Any) -> tuple[str, str]:
    """Return LookupName and LookupValue of a look-up body, or raise InvalidInput."""
    parameter = body.get("Parameter") if isinstance(body, dict) else None
    if not isinstance(parameter, dict):
        raise InvalidInput(MANDATORY, "'Parameter' is mandatory")
    name, value = parameter.get("LookupName"), parameter.get("LookupValue")
    if not isinstance(name, str) or not isinstance(value, str) or not value:
        raise InvalidInput(MANDATORY, "'LookupName' and 'LookupValue' are mandatory")
    if name not in LEAD_FIELDS:
        raise InvalidInput(INVALID, f"'{name}' is not a unique lead field")
    if parameter.get("SqlOperator", "=") != "=":
        raise InvalidInput(INVALID, "the sandbox only searches with SqlOperator '='")
    return name, value


def opportunity_item(lead: SandboxLead, opportunity: SandboxOpportunity) -> dict[str, Any]:
    """Describe one opportunity as a flat list item."""
    return {
        "OpportunityId": opportunity.opportunity_id,
        "OpportunityEvent": str(opportunity.opportunity_type),
        "RelatedProspectId": lead.prospect_id,
        "Status": "Open",
        "CreatedOn": opportunity.created_on,
    }


def lead_item(lead: SandboxLead) -> dict[str, Any]:
    """Describe a lead as the lead look-ups do: flat, with ProspectID."""
    return {
        "ProspectID": lead.prospect_id,
        "EmailAddress": lead.email,
        "Phone": lead.phone,
        "Mobile": lead.mobile,
        "CreatedOn": lead.created_on,
    }
