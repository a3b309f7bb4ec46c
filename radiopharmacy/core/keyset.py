"""Keyset pages of any list, newest first: never OFFSET, never a COUNT over the table.

A page is named by a row's id (`before=` the last row of the page above it, `after=` the first
row of the page below it), so a link stays short and readable whatever the list is sorted on.
A list sorted on a field (`-eos_at`) reads that row's value once and compares on (field, id),
which keeps rows with the same value in a stable order; a list sorted on `-id` alone needs no
extra query. Each page reads one row more than it shows to know whether there is a next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

# Ids are bigints: a longer string is not a cursor (and would overflow the database's integer).
_MAX_CURSOR_DIGITS = 18


@dataclass
class KeysetPage:
    """Newest first: `entries` with id < `before` (or > `after`), and the cursors around them."""

    entries: list[Any]
    older: int | None  # `before=` of the next older page
    newer: int | None  # `after=` of the next newer page


def cursor(value: str | None) -> int | None:
    """A `before`/`after` query parameter as an id; anything else is no cursor (the first page)."""
    return int(value) if value and value.isdigit() and len(value) <= _MAX_CURSOR_DIGITS else None


def _beyond(rows: QuerySet, field: str, pk: int, *, older: bool) -> QuerySet:
    """The rows sorted after (older) or before (newer) row `pk` on descending (field, id)."""
    if field == "id":
        return rows.filter(id__lt=pk) if older else rows.filter(id__gt=pk)
    value = rows.model._default_manager.filter(pk=pk).values_list(field, flat=True).first()
    if value is None:  # the row is gone: start again from the newest
        return rows if older else rows.none()
    op = "lt" if older else "gt"
    return rows.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}))


def keyset_page(
    rows: QuerySet,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int,
    field: str = "id",
) -> KeysetPage:
    """One page of `rows`, newest first on descending (`field`, id)."""
    if after is not None:
        found = list(
            _beyond(rows, field, after, older=False).order_by(*dict.fromkeys((field, "id")))[
                : size + 1
            ]
        )
        more_newer = len(found) > size
        found = found[:size][::-1]
        return KeysetPage(
            found,
            older=found[-1].id if found else None,
            newer=found[0].id if found and more_newer else None,
        )
    if before is not None:
        rows = _beyond(rows, field, before, older=True)
    found = list(rows.order_by(*dict.fromkeys((f"-{field}", "-id")))[: size + 1])
    more_older = len(found) > size
    found = found[:size]
    return KeysetPage(
        found,
        older=found[-1].id if found and more_older else None,
        newer=found[0].id if found and before is not None else None,
    )
