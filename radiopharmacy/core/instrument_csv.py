"""Reading an instrument's CSV export (dose calibrator, radio-TLC scanner): the file's SHA-256,
its text, a header naming the columns, and rows that keep their line numbers, so that every
problem is a 400 naming the line and the column, and nothing is saved.

The instrument-specific meaning of the columns lives with each app (scheduling/instruments,
qc/instruments); this module only knows CSV.
"""

import csv
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from radiopharmacy.core.checks import CLOCK_SKEW, time_problem
from radiopharmacy.core.errors import ApplicationError
from radiopharmacy.core.sitetime import site_zone

MAX_FILE_BYTES = 1_000_000  # an export of a day is a few kilobytes
MAX_ROWS = 5000


class InstrumentFileError(ApplicationError):
    """A malformed instrument file: a 400 with `line` (1 = the first line of the file) and
    `column` (the header's name) when known."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None):
        where = ""
        if line is not None:
            where = f"Line {line}" + (f", column {column!r}" if column else "") + ": "
        super().__init__(f"{where}{message}", fields={"file": [f"{where}{message}"]})
        if line is not None:
            self.extra["line"] = line
        if column:
            self.extra["column"] = column
        self.line, self.column = line, column


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]  # canonical column name -> text (stripped; "" when empty)

    def error(self, column: str, message: str) -> InstrumentFileError:
        return InstrumentFileError(message, line=self.line, column=column)

    def number(self, column: str, *, minimum: float = 0.0, decimal_comma: bool = False) -> float:
        """A finite number >= minimum in `column` (a decimal comma where the file uses `;`)."""
        text = self.values.get(column, "")
        if decimal_comma:
            text = text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            raise self.error(column, f"{text or 'nothing'!r} is not a number.") from None
        if not math.isfinite(value) or value < minimum:
            raise self.error(column, f"{text!r} must be a number of at least {minimum:g}.")
        return value

    def time(self, column: str) -> datetime:
        """An aware time: ISO 8601 with an offset, or without one read in the site's zone
        (instrument clocks often export local time). A local time that the DST change makes
        ambiguous or impossible is refused; so is a time in the future (1 min skew)."""
        text = self.values.get(column, "").replace("/", "-")
        try:
            value = parse_datetime(text)
        except (ValueError, OverflowError):
            value = None
        if value is None:
            raise self.error(column, f"{text or 'nothing'!r} is not a date and time.")
        if value.tzinfo is None:
            value = _local(value, site_zone(), self, column)
        problem = time_problem(value)
        if problem:
            raise self.error(column, problem)
        if value > timezone.now() + CLOCK_SKEW:
            raise self.error(column, f"{text} is in the future.")
        return value


def _local(value: datetime, zone: ZoneInfo, row: Row, column: str) -> datetime:
    first, second = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        raise row.error(
            column,
            f"{value:%Y-%m-%d %H:%M} is ambiguous or does not exist at the daylight-saving "
            "change; give the time with its UTC offset.",
        )
    return first


def _cells(line: str, delimiter: str, number: int) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except csv.Error as exc:  # a NUL byte, an unclosed quote in strict mode
        raise InstrumentFileError(f"Not a CSV line ({exc}).", line=number) from None


@dataclass(frozen=True)
class Table:
    rows: list[Row]
    columns: list[str]  # canonical names present
    decimal_comma: bool


def read_table(
    content: bytes, *, required: dict[str, tuple[str, ...]], optional: dict[str, tuple[str, ...]]
) -> Table:
    """Rows of a CSV file whose header names the `required` columns (and maybe `optional`
    ones), each {canonical name: accepted header names, lower case}. Blank lines and lines
    starting with `#` are skipped; `,` or `;` separates the columns (`;` files may use a
    decimal comma)."""
    if not content:
        raise InstrumentFileError("The file is empty.")
    if len(content) > MAX_FILE_BYTES:
        raise InstrumentFileError(f"The file is larger than {MAX_FILE_BYTES // 1000} kB.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise InstrumentFileError("The file is not UTF-8 text.", line=line) from None
    if "\x00" in text:  # no database text column holds a NUL character
        line = text[: text.index("\x00")].count("\n") + 1
        raise InstrumentFileError("The file holds a NUL character: not a text export.", line=line)
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InstrumentFileError("The file has no header line.")
    header_line, header = lines[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    names = [n.strip().lower() for n in _cells(header, delimiter, header_line)]
    aliases = {**required, **optional}
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        canonical = next((c for c, accepted in aliases.items() if name in accepted), None)
        if canonical is None:
            continue  # extra columns of the export are kept in the raw file, not read
        if canonical in positions:
            raise InstrumentFileError(
                f"Two columns mean {canonical!r}.", line=header_line, column=name
            )
        positions[canonical] = index
    missing = [c for c in required if c not in positions]
    if missing:
        raise InstrumentFileError(
            "The header lacks the column(s) "
            + ", ".join(f"{c!r} ({' or '.join(required[c])})" for c in missing)
            + ".",
            line=header_line,
        )
    if len(lines) - 1 > MAX_ROWS:
        raise InstrumentFileError(f"The file has more than {MAX_ROWS} rows.")
    rows = []
    for number, line in lines[1:]:
        cells = _cells(line, delimiter, number)
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
            raise InstrumentFileError(
                f"{len(cells)} columns where the header has {len(names)}.", line=number
            )
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in positions.items()}
        for column in required:
            if not values[column]:
                raise InstrumentFileError("Empty.", line=number, column=names[positions[column]])
        rows.append(Row(line=number, values=values))
    if not rows:
        raise InstrumentFileError("The file has a header but no rows.")
    return Table(rows=rows, columns=list(positions), decimal_comma=delimiter == ";")
