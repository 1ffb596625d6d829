"""Counts of refused deliveries per source, minute and reason: what the console charts beside acceptances.

Accepted deliveries are the events themselves and repeats are event_duplicates;
a refused one stores nothing but one more in its minute's count, so a flood
of forged signatures grows a number, not the table.
"""

from __future__ import annotations

import sqlalchemy as sa

from bridge.store.dialect import upsert
from bridge.store.tables import intake_refusals

MINUTE = 60.0


def count_refusal(engine: sa.Engine, source: str, error: str, at: float) -> None:
    """Add one refusal of a delivery to source, for reason error, to the count of at's minute."""
    minute = at - at % MINUTE
    statement = upsert(engine, intake_refusals).values(source=source, minute=minute, error=error, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["source", "minute", "error"], set_={"count": intake_refusals.c.count + 1}
    )
    with engine.begin() as connection:
        connection.execute(statement)
