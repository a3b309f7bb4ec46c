"""The `<id:pk>` path converter: a record id in a URL, at most 18 digits.

Django's `<int:>` matches any length, and an id beyond the database's 64-bit integers makes the
driver raise (OverflowError on SQLite, DataError on PostgreSQL): a 500 for a mistyped URL. With at
most 18 digits every id that matches fits, and a longer one is simply no such page (404).
"""

from django.urls import register_converter


class RecordIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


register_converter(RecordIdConverter, "id")
