"""A filtered list page: the query string parsed into a filter, one page of rows, or why the filter is bad."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flask import render_template
from flask.typing import ResponseReturnValue

from bridge.admin import context
from bridge.operate.filters import FilterError

Wanted = TypeVar("Wanted")


def filtered_list(
    template: str,
    fields: Sequence[Any],
    parse: Callable[[Mapping[str, str], float], Wanted],
    find: Callable[[Wanted, int | None, int], Any],
) -> ResponseReturnValue:
    """Render template with the page find() gives for the query string's filter; a bad filter is a 400."""
    cleaned = context.without_blank_fields()
    if cleaned is not None:
        return cleaned
    values = context.filter_values()
    try:
        wanted = parse(values, context.now())
    except FilterError as error:
        page = render_template(template, page=None, values=values, fields=fields, problem=str(error))
        return page, 400
    after, limit = context.paging()
    return render_template(
        template, page=find(wanted, after, limit), values=values, fields=fields, problem=None
    )
