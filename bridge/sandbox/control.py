"""Control endpoints for tests, benchmarks and humans; no LeadSquared auth."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from bridge.sandbox.settings import FaultRates
from bridge.sandbox.state import (
    LSQ_DATETIME_FORMAT,
    FaultKind,
    FaultRule,
    SandboxLead,
    SandboxOpportunity,
    current_sandbox,
)

bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox")

FAULT_KEYS = frozenset(
    {"path", "opportunity_id", "times", "message", "body", *(kind.value for kind in FaultKind)}
)
# A body holding "rates" sets the random faults instead of queueing a rule.
RATES_KEYS = frozenset({"rates", "seed"})


class ControlInputError(ValueError):
    """A control request the sandbox cannot act on; the message says what to fix."""


@bp.get("/health")
def health() -> Response:
    """Say the sandbox is up."""
    return jsonify({"status": "ok"})


@bp.get("/received")
def received() -> Response:
    """List accepted activities and every LeadSquared call, in arrival order."""
    sandbox = current_sandbox()
    activities, calls = sandbox.state.snapshot()
    return jsonify(
        {
            "activities": [
                {
                    "opportunity_id": activity.opportunity_id,
                    "ProspectActivityId": activity.prospect_activity_id,
                    "CreatedOn": activity.created_on,
                    "row": activity.row,
                }
                for activity in activities
            ],
            "calls": [
                {
                    "at": call.arrived - sandbox.state.started,
                    # The machine's monotonic clock, which every process on it shares:
                    # a benchmark on the same machine compares it with its own.
                    "monotonic": call.arrived,
                    "path": call.path,
                    "opportunity_id": call.opportunity_id,
                    "rows": call.rows,
                    "status": call.status,
                    "fault": call.fault.value if call.fault is not None else None,
                }
                for call in calls
            ],
        }
    )


@bp.post("/leads")
def add_lead() -> Response:
    """Seed a lead and its opportunities for the look-up endpoints to find."""
    try:
        lead = parse_lead(json.loads(request.get_data()))
    except ValueError as error:
        message = str(error) if isinstance(error, ControlInputError) else "send a JSON body"
        response = jsonify({"error": message})
        response.status_code = 400
        return response
    current_sandbox().state.add_lead(lead)
    response = jsonify({"status": "created", "ProspectID": lead.prospect_id})
    response.status_code = 201
    return response


LEAD_KEYS = frozenset({"id", "email", "phone", "mobile", "opportunities"})
OPPORTUNITY_KEYS = frozenset({"id", "type", "created_on"})


def parse_lead(body: object) -> SandboxLead:
    """Build a SandboxLead from the JSON of POST /sandbox/leads."""
    if not isinstance(body, dict):
        raise ControlInputError("send a JSON object describing one lead")
    unknown = sorted(set(body) - LEAD_KEYS)
    if unknown:
        raise ControlInputError(f"unknown key '{unknown[0]}'; allowed: {', '.join(sorted(LEAD_KEYS))}")
    contacts = {name: optional_text(body.get(name), name) for name in ("email", "phone", "mobile")}
    if not any(contacts.values()):
        raise ControlInputError("give at least one of email, phone, mobile")
    opportunities = body.get("opportunities", [])
    if not isinstance(opportunities, list):
        raise ControlInputError("'opportunities' must be a list of {id, type[, created_on]}")
    now = datetime.now(UTC).strftime(LSQ_DATETIME_FORMAT)
    return SandboxLead(
        prospect_id=optional_text(body.get("id"), "id") or str(uuid.uuid4()),
        email=contacts["email"],
        phone=contacts["phone"],
        mobile=contacts["mobile"],
        created_on=now,
        opportunities=tuple(parse_opportunity(item, now) for item in opportunities),
    )


def parse_opportunity(item: object, now: str) -> SandboxOpportunity:
    """Build one seeded opportunity; created_on defaults to now."""
    if not isinstance(item, dict) or set(item) - OPPORTUNITY_KEYS or "type" not in item:
        raise ControlInputError("each opportunity is {id, type[, created_on]}")
    return SandboxOpportunity(
        opportunity_id=optional_text(item.get("id"), "id") or str(uuid.uuid4()),
        opportunity_type=positive_int(item["type"], "type"),
        created_on=optional_text(item.get("created_on"), "created_on") or now,
    )


@bp.post("/reset")
def reset() -> Response:
    """Forget activities, calls, rate windows, faults and leads."""
    current_sandbox().state.reset()
    return jsonify({"status": "reset"})


@bp.post("/faults")
def add_fault() -> Response:
    """Queue a fault rule for the next matching calls, or set the rates of random faults."""
    try:
        body = json.loads(request.get_data())
        if isinstance(body, dict) and "rates" in body:
            return set_fault_rates(body)
        rule = parse_fault_rule(body)
    except ValueError as error:
        # json's own errors are ValueErrors too; give them a plain hint.
        message = str(error) if isinstance(error, ControlInputError) else "send a JSON body"
        response = jsonify({"error": message})
        response.status_code = 400
        return response
    pending = current_sandbox().state.add_fault(rule)
    response = jsonify({"status": "registered", "kind": rule.kind.value, "pending": pending})
    response.status_code = 201
    return response


@bp.get("/faults")
def show_fault_rates() -> Response:
    """Say the rates random faults are drawn at."""
    return jsonify({"rates": current_sandbox().state.current_fault_rates().shares()})


def set_fault_rates(body: dict[str, Any]) -> Response:
    """Apply {"rates": {...}, "seed": n} from POST /sandbox/faults."""
    rates = parse_fault_rates(body)
    seed = body.get("seed")
    if seed is not None and type(seed) is not int:
        raise ControlInputError("'seed' must be an integer, or left out for a fresh random seed")
    current_sandbox().state.set_fault_rates(rates, seed)
    return jsonify({"status": "rates set", "rates": rates.shares(), "seed": seed})


def parse_fault_rates(body: dict[str, Any]) -> FaultRates:
    """Build FaultRates from {"rates": {"error": .., "rate_limit": .., "lost_answer": ..}, "seed": ..}."""
    unknown = sorted(set(body) - RATES_KEYS)
    if unknown:
        raise ControlInputError(f"unknown key '{unknown[0]}' beside 'rates'; allowed: rates, seed")
    shares = body["rates"]
    allowed = ", ".join(FaultRates().shares())
    if not isinstance(shares, dict):
        raise ControlInputError(f"'rates' must be an object of shares from 0 to 1: {allowed}")
    unknown = sorted(set(shares) - set(FaultRates().shares()))
    if unknown:
        raise ControlInputError(f"unknown rate '{unknown[0]}'; allowed: {allowed}")
    if any(type(share) not in (int, float) for share in shares.values()):
        raise ControlInputError(f"each rate is a number from 0 to 1: {allowed}")
    try:
        return FaultRates(**{name: float(share) for name, share in shares.items()})
    except ValueError as error:
        raise ControlInputError(str(error)) from error


def parse_fault_rule(body: object) -> FaultRule:
    """Build a FaultRule from the JSON of POST /sandbox/faults."""
    if not isinstance(body, dict):
        raise ControlInputError("send a JSON object describing one fault")
    unknown = sorted(set(body) - FAULT_KEYS)
    if unknown:
        allowed = ", ".join(sorted(FAULT_KEYS))
        raise ControlInputError(f"unknown key '{unknown[0]}'; allowed: {allowed}")
    outcomes = [kind for kind in FaultKind if kind.value in body]
    if len(outcomes) != 1:
        raise ControlInputError(
            "give exactly one of status, fail_rows, omit_rows, delay_seconds, lost_answer"
            " (or 'rates' for random faults)"
        )
    kind = outcomes[0]
    if "body" in body and kind is not FaultKind.STATUS:
        raise ControlInputError("'body' goes only with 'status'")
    if "message" in body and kind is not FaultKind.FAIL_ROWS:
        raise ControlInputError("'message' goes only with 'fail_rows'")
    rule = FaultRule(
        kind=kind,
        times=positive_int(body.get("times", 1), "times"),
        path=optional_text(body.get("path"), "path"),
        opportunity_id=optional_text(body.get("opportunity_id"), "opportunity_id"),
    )
    return complete_rule(rule, body)


def complete_rule(rule: FaultRule, body: dict[str, Any]) -> FaultRule:
    """Fill in the outcome part of a fault rule."""
    if rule.kind is FaultKind.STATUS:
        status = body["status"]
        if type(status) is not int or not 200 <= status <= 599:
            raise ControlInputError("'status' must be an HTTP status from 200 to 599")
        # Error statuses get a default MX body; a success status must say what it answers.
        if status < 400 and body.get("body") is None:
            raise ControlInputError("a 'status' below 400 needs a 'body'")
        return replace(rule, status=status, body=body.get("body"))
    if rule.kind is FaultKind.LOST_ANSWER:
        if body["lost_answer"] is not True:
            raise ControlInputError("'lost_answer' takes true: store the rows, then close without answering")
        return rule
    if rule.kind is FaultKind.DELAY:
        delay = body["delay_seconds"]
        if type(delay) not in (int, float) or delay < 0:
            raise ControlInputError("'delay_seconds' must be a number of seconds, 0 or more")
        return replace(rule, delay_seconds=float(delay))
    rows = body[rule.kind.value]
    if not isinstance(rows, list) or not rows:
        raise ControlInputError(f"'{rule.kind.value}' must be a non-empty list of row numbers")
    numbers = frozenset(positive_int(row, rule.kind.value) for row in rows)
    message = body.get("message", "Sandbox fault: activity not created")
    if not isinstance(message, str) or not message:
        raise ControlInputError("'message' must be a non-empty string")
    return replace(rule, rows=numbers, message=message)


def positive_int(value: object, name: str) -> int:
    """Return value if it is an integer of 1 or more."""
    if type(value) is not int or value < 1:
        raise ControlInputError(f"'{name}' must hold integers of 1 or more")
    return value


def optional_text(value: object, name: str) -> str | None:
    """Return value if it is absent or a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ControlInputError(f"'{name}' must be a non-empty string")
    return value
