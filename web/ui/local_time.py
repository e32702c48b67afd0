"""Times in the agent's own zone: stored times are UTC, every page shows them where the agent is.

The zone comes with the viewer (`request.state.ui_time_zone`); before login it is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from web.ui.language import language_of, translate


@cache
def time_zone_names() -> list[str]:
    """Every IANA zone name zoneinfo knows, sorted, for the picker."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def zone_of(request: Any) -> ZoneInfo:
    """The viewer's zone, UTC when unknown."""
    name = request.scope.get("state", {}).get("ui_time_zone") if request is not None else None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(moment: str | datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored (UTC) time as a datetime in `zone`."""
    if not moment:
        return None
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def local_day(moment: str | datetime | None, zone: ZoneInfo) -> str:
    """The date (YYYY-MM-DD) a stored time falls on in `zone`."""
    value = local(moment, zone)
    return value.date().isoformat() if value else ""


def day_labels(request: Any, moments: list[str]) -> dict[str, str]:
    """'Today', 'Yesterday' or the localised date, keyed by each local day these times fall on."""
    language, zone = language_of(request), zone_of(request)
    today = datetime.now(zone).date()
    labels: dict[str, str] = {}
    for day in {local_day(m, zone) for m in moments}:
        moment = date.fromisoformat(day)
        if moment == today:
            labels[day] = translate(language, "Today")
        elif moment == today - timedelta(days=1):
            labels[day] = translate(language, "Yesterday")
        else:
            labels[day] = format_date(moment, format="full", locale=language)
    return labels


def parse_local(raw: str, zone: ZoneInfo) -> datetime:
    """A `datetime-local` value read in `zone`, as UTC (ValueError when it is not one)."""
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


@pass_context
def _localtime(context: Context, moment: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    value = local(moment, zone_of(context.get("request")))
    return value.strftime(fmt) if value else ""


@pass_context
def _localday(context: Context, moment: str | None) -> str:
    return local_day(moment, zone_of(context.get("request")))


@pass_context
def _zone_name(context: Context) -> str:
    return str(zone_of(context.get("request")))


def install(environment: Environment) -> None:
    """`localtime` and `localday` filters and a `time_zone()` global for the templates."""
    environment.filters["localtime"] = _localtime
    environment.filters["localday"] = _localday
    environment.globals["time_zone"] = _zone_name
