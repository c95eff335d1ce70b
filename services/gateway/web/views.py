"""Pure helpers of the web pages: Swedish words and shapes for statuses, the as-of date picker's
parsing, and the field-by-field difference of two states. No I/O, so they are unit-tested
without a server (tests/unit/test_web_views.py) and the templates stay free of logic.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.values import LOCAL_TIME_ZONE

#: what a missing value is shown as (an en dash)
DASH = "\u2013"
#: a computed traffic light: its word, and a shape beside it, so no status is told by colour
#: alone (the same shapes as the annual report's)
COLOUR_LABELS = {"green": "grön", "yellow": "gul", "red": "röd", "no_data": "ingen data"}
COLOUR_SHAPES = {"green": "●", "yellow": "▲", "red": "■", "no_data": "○"}
#: what a colour means for a goal, in the words of the annual report
COLOUR_MEANINGS = {
    "green": "uppfyllt",
    "yellow": "delvis uppfyllt",
    "red": "ej uppfyllt",
    "no_data": "kan inte bedömas",
}
VERDICT_LABELS = {
    "met": "uppfyllt",
    "partly_met": "delvis uppfyllt",
    "not_met": "ej uppfyllt",
    "cannot_be_assessed": "kan inte bedömas",
}
VERDICT_COLOURS = {
    "met": "green",
    "partly_met": "yellow",
    "not_met": "red",
    "cannot_be_assessed": "no_data",
}
TREND_LABELS = {"better": "bättre", "same": "oförändrat", "worse": "sämre"}
TREND_ARROWS = {"better": "↗", "same": "→", "worse": "↘"}
LEVEL_LABELS = {"strategic": "strategiskt mål", "operational": "verksamhetsmål"}
GOAL_STATUS_LABELS = {
    "draft": "utkast",
    "adopted": "antaget",
    "revised": "reviderat",
    "retired": "avslutat",
    "evaluated": "utvärderat",
}
ACTIVITY_STATUS_LABELS = {
    "planned": "planerad",
    "in_progress": "pågår",
    "done": "klar",
    "cancelled": "avbruten",
}
PHASE_LABELS = {"plan": "planera", "do": "göra", "check": "följa upp", "act": "förbättra"}
DIRECTION_LABELS = {"higher_is_better": "högre är bättre", "lower_is_better": "lägre är bättre"}
#: an event's type (without its version) in words; an unknown type is shown as it is
EVENT_LABELS = {
    "OrgUnitCreated": "enheten skapades",
    "OrgUnitRenamed": "enheten bytte namn",
    "OrgUnitMoved": "enheten flyttades",
    "OrgUnitClosed": "enheten lades ned",
    "SteeringDocumentDrafted": "styrdokumentet skrevs",
    "SteeringDocumentEdited": "styrdokumentet ändrades",
    "SteeringDocumentAdopted": "styrdokumentet antogs",
    "SteeringDocumentRevised": "styrdokumentet reviderades",
    "SteeringDocumentRepealed": "styrdokumentet upphävdes",
    "DevelopmentAreaDefined": "utvecklingsområdet lades till",
    "DevelopmentAreaRetired": "utvecklingsområdet avslutades",
    "GoalDrafted": "målet skrevs som utkast",
    "GoalEdited": "utkastet ändrades",
    "GoalAdopted": "målet antogs",
    "GoalRevised": "målet reviderades",
    "GoalRetired": "målet avslutades",
    "GoalEvaluated": "målet utvärderades",
    "IndicatorDefined": "indikatorn definierades",
    "IndicatorTargetSet": "målvärde beslutades",
    "IndicatorThresholdsSet": "gränser för trafikljuset beslutades",
    "IndicatorRetired": "indikatorn avslutades",
    "ResultRecorded": "utfall registrerades",
    "ResultCorrected": "utfallet rättades",
    "ResultWithdrawn": "utfallet drogs tillbaka",
    "GoalAssessed": "målet bedömdes",
    "ActionPlanDrafted": "handlingsplanen skrevs",
    "ActionPlanAdopted": "handlingsplanen antogs",
    "ActionPlanRevised": "handlingsplanen reviderades",
    "ActionPlanClosed": "handlingsplanen avslutades",
    "ActivityPlanned": "aktiviteten planerades",
    "ActivityStarted": "aktiviteten påbörjades",
    "QualityReportStarted": "kvalitetsrapporten påbörjades",
    "QualityReportSectionDone": "ett avsnitt av kvalitetsrapporten blev klart",
    "QualityReportGoalAssessed": "ett mål bedömdes i kvalitetsrapporten",
    "QualityReportSubmitted": "kvalitetsrapporten lämnades in",
    "QualityReportReturned": "kvalitetsrapporten skickades tillbaka",
    "QualityReportApproved": "kvalitetsrapporten godkändes",
    "QualityReportReopened": "kvalitetsrapporten öppnades igen",
    "AnnualReportApproved": "årsredovisningen godkändes",
    "AnnualReportReopened": "årsredovisningen öppnades igen",
    "DeadlineSet": "en tidpunkt i årshjulet beslutades",
    "DeadlineChanged": "en tidpunkt i årshjulet ändrades",
}
#: the event types whose decision the public may read: adoption and later decisions on a goal
PUBLIC_DECISIONS = ("GoalAdopted", "GoalRevised", "GoalRetired", "GoalEvaluated")


@dataclass(frozen=True)
class Light:
    """A traffic light as shown: colour (for CSS), shape and words (for everyone)."""

    colour: str
    shape: str
    label: str
    meaning: str


def light(colour: str | None) -> Light:
    """The light of a computed colour; an unknown or missing colour is "ingen data"."""
    key = colour if colour in COLOUR_LABELS else "no_data"
    return Light(key, COLOUR_SHAPES[key], COLOUR_LABELS[key], COLOUR_MEANINGS[key])


def verdict_light(verdict: str | None) -> Light:
    """A person's verdict on a goal shown as a light, worded as the verdict."""
    colour = VERDICT_COLOURS.get(verdict or "", "no_data")
    shown = light(colour)
    return Light(colour, shown.shape, VERDICT_LABELS.get(verdict or "", "ej bedömt"), shown.meaning)


def trend_label(trend: str | None) -> str:
    """The trend in words with its arrow, or a dash when there is none."""
    if trend not in TREND_LABELS:
        return DASH
    return f"{TREND_ARROWS[trend]} {TREND_LABELS[trend]}"


def event_label(event_type: str) -> str:
    """An event's type in Swedish words: `GoalAdopted.v1` → "målet antogs"."""
    name = event_type.split(".", 1)[0]
    return EVENT_LABELS.get(name, name)


def number(value: float | int | None, unit: str | None = None) -> str:
    """A figure as Swedes write it (decimal comma, thin groups), with its unit; DASH if none."""
    if value is None:
        return DASH
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = f"{value:,}".replace(",", "\u202f").replace(".", ",")
    return f"{text} {unit}" if unit else text


# -- the as-of date picker -------------------------------------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class BadDate(ValueError):
    """A date a person typed that is no date; its message is shown on the 400 page."""


def parse_day(raw: str | None, field: str = "datum") -> dt.date | None:
    """A picker's date `YYYY-MM-DD`, None when empty; BadDate for anything else.

    Strict on purpose: ASCII digits only (no Arabic-Indic or full-width digits that `int()`
    would take), no surrounding space or newline, a real day of the calendar (not 2025-02-30)."""
    if raw is None or raw == "":
        return None
    if _ISO_DATE.fullmatch(raw) is None:
        raise BadDate(f"{field} måste skrivas ÅÅÅÅ-MM-DD, till exempel 2025-03-31")
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadDate(f"{field}: {raw} finns inte i kalendern") from None
    if day.year < 1900:
        raise BadDate(f"{field} måste vara år 1900 eller senare")
    return day


_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}:[0-9]{2}|Z)",
    re.ASCII,
)


@dataclass(frozen=True)
class AsOf:
    """A moment a reviewer looks back to: the instant the API reads (`as_of`) and the day the
    picker shows."""

    instant: str
    day: dt.date
    exact: bool  # an instant from a timeline link, not a whole day
    clock: str = ""  # the picker's time of day (`10:15`), if one was given with the day


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant a day's "as it was on" reads: the end of that day in the municipality's
    time (as the services read a date), so all that was recorded during the day is included."""
    return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=LOCAL_TIME_ZONE)


def parse_as_of(raw: str | None, field: str = "datum", clock: str | None = None) -> AsOf | None:
    """The picker's `as_of`: a day (`2025-03-31`, read as its end), a day and a time of day
    (`kl=10:15`, Swedish time: the state at that minute, so a correction made later that day is
    not yet in it) or an exact instant with its offset (`2025-03-31T10:15:00.123+00:00`, the
    timeline's "as it was just after" links); None when empty; BadDate for anything else."""
    if raw is None or raw == "":
        if clock:
            raise BadDate(f"kl. {clock} behöver ett datum att höra till")
        return None
    if _INSTANT.fullmatch(raw):
        if clock:
            raise BadDate(f"{field} är redan en tidpunkt; ange inte kl. dessutom")
        try:
            moment = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise BadDate(f"{field}: {raw} är ingen tidpunkt som finns") from None
        if moment.year < 1900:
            raise BadDate(f"{field} måste vara år 1900 eller senare")
        return AsOf(moment.isoformat(), moment.astimezone(LOCAL_TIME_ZONE).date(), True)
    day = parse_day(raw, field)
    assert day is not None
    if not clock:
        return AsOf(end_of_day(day).isoformat(), day, False)
    at = parse_clock(clock)
    moment = dt.datetime.combine(day, at, tzinfo=LOCAL_TIME_ZONE)
    return AsOf(moment.isoformat(), day, False, at.strftime("%H:%M:%S" if at.second else "%H:%M"))


_CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?", re.ASCII)


def parse_clock(raw: str) -> dt.time:
    """A time of day `TT:MM` or `TT:MM:SS` (what a browser's time field sends); BadDate for
    anything else (Unicode digits, 24:00, a trailing newline)."""
    if _CLOCK.fullmatch(raw) is None:
        raise BadDate("kl. måste skrivas TT:MM, till exempel 14:30")
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        raise BadDate(f"kl. {raw} finns inte på dygnet") from None


def local_time(instant: str) -> str:
    """A recorded instant (ISO with offset) as a Swede reads it: `2026-11-24 23:26:55`, Swedish
    time; the text as given if it is no instant."""
    try:
        moment = dt.datetime.fromisoformat(instant)
    except ValueError:
        return instant
    if moment.tzinfo is None:
        return instant
    return moment.astimezone(LOCAL_TIME_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def parse_year(raw: str | None, default: int) -> int:
    """A year from a query (`?ar=2025`), `default` when empty; BadDate for anything else."""
    if raw is None or raw == "":
        return default
    if re.fullmatch(r"[0-9]{4}", raw, re.ASCII) is None or not 1900 <= int(raw) <= 2999:
        raise BadDate("år måste skrivas med fyra siffror, till exempel 2025")
    return int(raw)


# -- the difference of two states ------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One field that differs between two states: its dotted path and both values as text."""

    field: str
    before: str
    after: str
    kind: str  # "changed", "added" (only in the later state), "removed" (only in the earlier)


def flatten(state: Any, prefix: str = "") -> dict[str, Any]:
    """A nested state as {dotted.path: leaf value}; lists of scalars stay one value, lists of
    objects are numbered (`targets.0.year`)."""
    if isinstance(state, Mapping):
        flat: dict[str, Any] = {}
        for key in sorted(state, key=str):
            flat.update(flatten(state[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(state, list) and any(isinstance(item, Mapping | list) for item in state):
        flat = {}
        for index, item in enumerate(state):
            flat.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix: state}


def shown(value: Any) -> str:
    """A leaf value as the diff shows it."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, list):
        return ", ".join(shown(item) for item in value) or DASH
    if isinstance(value, float | int):
        return number(value)
    return str(value)


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """What differs, field by field, between the state as of A (`before`) and as of B (`after`);
    None is a state that did not exist yet. The fields come in path order."""
    old = flatten(before or {})
    new = flatten(after or {})
    changes = []
    for path in sorted(old.keys() | new.keys()):
        if path in old and path in new:
            if old[path] != new[path]:
                changes.append(Change(path, shown(old[path]), shown(new[path]), "changed"))
        elif path in new:
            changes.append(Change(path, DASH, shown(new[path]), "added"))
        else:
            changes.append(Change(path, shown(old[path]), DASH, "removed"))
    return changes
