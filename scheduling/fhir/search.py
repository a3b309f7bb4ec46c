"""The search parameters of MedicationAdministration (FHIR R4 search, the subset we serve).

`effective-time` is a FHIR date: a day (`2026-03-29`, the site's calendar day, DST days
included) or a dateTime with offset, each with an optional prefix (`eq`, `ge`, `gt`, `le`, `lt`);
repeat it for a range. The patient is searched by identifier: `patient.identifier`,
`patient:identifier` or `subject:identifier`, as `value` or `system|value`. An unknown parameter
is refused rather than ignored: a misspelt filter would otherwise return other patients' doses.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from radiopharmacy.core.checks import time_problem
from radiopharmacy.core.sitetime import site_day_bounds
from scheduling.fhir.resources import InvalidResource, identifier_system

PATIENT_PARAMETERS = ("patient.identifier", "patient:identifier", "subject:identifier")
IGNORED_PARAMETERS = {"_format", "_pretty"}
PAGING_PARAMETERS = {"_count", "_offset"}
PREFIXES = ("eq", "ge", "gt", "le", "lt")
DEFAULT_COUNT = 100
MAX_COUNT = 500


@dataclass
class Search:
    times: list[tuple[str, datetime, datetime]] = field(default_factory=list)  # prefix, [a, b)
    patients: list[str] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0

    def apply(self, queryset: QuerySet) -> QuerySet:
        for prefix, start, end in self.times:
            at = "injected_at"
            queryset = queryset.filter(
                {
                    "eq": Q(**{f"{at}__gte": start, f"{at}__lt": end}),
                    "ge": Q(**{f"{at}__gte": start}),
                    "gt": Q(**{f"{at}__gte": end}),
                    "le": Q(**{f"{at}__lt": end}),
                    "lt": Q(**{f"{at}__lt": start}),
                }[prefix]
            )
        for value in self.patients:
            queryset = queryset.filter(booking__patient_ref=value)
        return queryset


def _bad(message: str, name: str) -> InvalidResource:
    return InvalidResource([(message, f"MedicationAdministration?{name}")])


def _time_range(text: str, name: str) -> tuple[str, datetime, datetime]:
    prefix = text[:2] if text[:2] in PREFIXES else "eq"
    value = text[2:] if text[:2] in PREFIXES else text
    value = value.strip()
    # An unencoded `+02:00` arrives as ` 02:00` (a `+` in a query string is a space).
    if len(value) > 6 and value[-6] == " " and value[-3] == ":":
        value = f"{value[:-6]}+{value[-5:]}"
    moment = day = None
    try:
        # A bare date first: Python's ISO parser would read "2026-03-29" as naive midnight.
        day = parse_date(value) if len(value) == 10 else None
        moment = None if day else parse_datetime(value)
    except ValueError:
        moment = day = None
    if isinstance(day, date) and 2000 <= day.year <= 2999:
        start, end = site_day_bounds(day)
        return prefix, start, end
    if moment is None:
        raise _bad(f"{name}={text!r}: give a date (2026-03-29) or a time with offset.", name)
    if moment.tzinfo is None:
        raise _bad(f"{name}={text!r}: a time needs its UTC offset.", name)
    problem = time_problem(moment)
    if problem:
        raise _bad(f"{name}={text!r}: {problem}", name)
    # A dateTime is an instant: [t, t + 1 s) as its range, precise to the second.
    return prefix, moment, moment + timedelta(seconds=1)


def _whole_number(text: str, name: str, *, low: int, high: int) -> int:
    try:
        number = int(text)
    except (TypeError, ValueError):
        raise _bad(f"{name} must be a whole number.", name) from None
    if not low <= number <= high:
        raise _bad(f"{name} must be between {low} and {high}.", name)
    return number


def parse_search(params) -> Search:
    """A Search from the query string (a QueryDict); InvalidResource (400) when unusable."""
    search = Search()
    for name in params:
        values = params.getlist(name)
        if name == "effective-time":
            search.times.extend(_time_range(v, name) for v in values)
        elif name in PATIENT_PARAMETERS:
            for value in values:
                system, _, ref = value.rpartition("|")
                if system and system != identifier_system("patient-ref"):
                    raise _bad(
                        f"{name}: patients are identified in {identifier_system('patient-ref')}.",
                        name,
                    )
                if not ref or len(ref) > 40 or "\x00" in ref:
                    raise _bad(f"{name}: give the patient's identifier.", name)
                search.patients.append(ref)
        elif name == "_count":
            search.count = _whole_number(values[-1], name, low=0, high=MAX_COUNT)
        elif name == "_offset":
            search.offset = _whole_number(values[-1], name, low=0, high=10**9)
        elif name not in IGNORED_PARAMETERS:
            raise _bad(
                f"Unknown search parameter {name!r}; this server searches by effective-time, "
                f"{', '.join(PATIENT_PARAMETERS)}, _count and _offset.",
                name,
            )
    return search
