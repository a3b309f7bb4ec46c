"""The site's clock: the database keeps UTC, people read and type the site's local time.

One place for the site's zone (settings.SITE_TIME_ZONE): the calendar day, its bounds and the
way a time is shown ("12:05 CET"). Arithmetic on time spans is done in UTC by `physics`.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def site_zone() -> ZoneInfo:
    """The site's zone (read on each call: tests and deployments may change the setting)."""
    return ZoneInfo(settings.SITE_TIME_ZONE)


def site_local(value: datetime) -> datetime:
    """An aware datetime in the site's zone."""
    return value.astimezone(site_zone())


def site_date(value: datetime) -> date:
    """The calendar date at the site of an aware datetime (23:30 UTC may be tomorrow locally)."""
    return site_local(value).date()


def site_today() -> date:
    return site_date(timezone.now())


def site_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the site's zone, as aware datetimes.

    Built from the two midnights, so a 23- or 25-hour DST day is covered exactly.
    """
    zone = site_zone()
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def site_at(day: date, clock: time) -> datetime:
    """The aware moment of a wall-clock time on a site day (a nonexistent DST time is shifted
    by the zone's rules, as zoneinfo does)."""
    return datetime.combine(day, clock, tzinfo=site_zone())


def site_time(value: datetime, fmt: str = "%H:%M %Z") -> str:
    """A time as people at the site read it, with the zone ("12:05 CET")."""
    return site_local(value).strftime(fmt)
