"""The web pages' pure view helpers (services/gateway/web/views.py), without I/O: status words and
shapes (never colour alone), Swedish numbers, the strict as-of date picker against hostile input,
and the field-by-field difference of two states."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from services.gateway.web import views
from services.gateway.web.routes import _safe_next
from services.gateway.web.session import cookie_secure, session_hours, session_secret
from shared.config import ConfigError


@pytest.mark.parametrize(
    ("colour", "shape", "label", "meaning"),
    [
        ("green", "●", "grön", "uppfyllt"),
        ("yellow", "▲", "gul", "delvis uppfyllt"),
        ("red", "■", "röd", "ej uppfyllt"),
        ("no_data", "○", "ingen data", "kan inte bedömas"),
        (None, "○", "ingen data", "kan inte bedömas"),
        ("purple", "○", "ingen data", "kan inte bedömas"),
    ],
)
def test_every_light_has_a_shape_and_a_word(
    colour: str | None, shape: str, label: str, meaning: str
) -> None:
    shown = views.light(colour)
    assert (shown.shape, shown.label, shown.meaning) == (shape, label, meaning)


def test_the_shapes_differ_so_colour_is_never_the_only_carrier() -> None:
    assert len(set(views.COLOUR_SHAPES.values())) == len(views.COLOUR_SHAPES)
    assert len(set(views.COLOUR_LABELS.values())) == len(views.COLOUR_LABELS)


def test_verdicts_trends_and_events_in_swedish() -> None:
    assert views.verdict_light("partly_met").label == "delvis uppfyllt"
    assert views.verdict_light("partly_met").shape == "▲"
    assert views.verdict_light(None).label == "ej bedömt"
    assert views.trend_label("better") == "↗ bättre"
    assert views.trend_label("worse") == "↘ sämre"
    assert views.trend_label(None) == views.DASH
    assert views.event_label("GoalAdopted.v1") == "målet antogs"
    assert views.event_label("ResultCorrected.v1") == "utfallet rättades"
    assert views.event_label("SomethingNew.v3") == "SomethingNew"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (89.1, "%", "89,1 %"),
        (88.0, "%", "88 %"),
        (12500, "kr", "12\u202f500 kr"),
        (1234.5, None, "1\u202f234,5"),
        (None, "%", views.DASH),
        (0, None, "0"),
    ],
)
def test_numbers_as_swedes_write_them(value: float | None, unit: str | None, text: str) -> None:
    assert views.number(value, unit) == text


def test_a_day_means_its_end_in_swedish_time_and_an_instant_is_kept() -> None:
    day = views.parse_as_of("2025-03-31")
    assert day is not None and not day.exact and day.day == dt.date(2025, 3, 31)
    assert day.instant == "2025-03-31T23:59:59.999999+02:00"  # summer time has begun
    winter = views.parse_as_of("2025-01-15")
    assert winter is not None and winter.instant.endswith("+01:00")
    exact = views.parse_as_of("2025-03-31T21:30:00.5+00:00")
    assert exact is not None and exact.exact
    assert exact.instant == "2025-03-31T21:30:00.500000+00:00"
    assert exact.day == dt.date(2025, 3, 31)
    late = views.parse_as_of("2025-03-31T22:30:00Z")
    assert late is not None and late.day == dt.date(2025, 4, 1), "the Swedish day is shown"
    assert views.parse_as_of("") is None and views.parse_as_of(None) is None


@pytest.mark.parametrize(
    "raw",
    [
        "2025-02-30",  # no such day
        "2025-02-29",  # not a leap year
        "2025-13-01",
        "2025-03-31\n",  # a trailing newline
        " 2025-03-31",
        "2025-3-31",
        "20250331",
        "\u0662\u0660\u0662\u0665-03-31",  # Arabic-Indic digits, which int() would take
        "\uff12\uff10\uff12\uff15-03-31",  # full-width digits
        "2025-03-31T25:00:00+00:00",
        "2025-03-31T10:00:00",  # an instant without its offset is ambiguous
        "0999-01-01",
        "igår",
        "2025-03-31; DROP TABLE events",
    ],
)
def test_hostile_dates_are_refused_with_swedish_words(raw: str) -> None:
    with pytest.raises(views.BadDate) as refused:
        views.parse_as_of(raw)
    assert (
        "ÅÅÅÅ-MM-DD" in str(refused.value)
        or "finns" in str(refused.value)
        or "1900" in str(refused.value)
    )


def test_a_day_with_a_time_of_day_means_that_minute_in_swedish_time() -> None:
    picked = views.parse_as_of("2025-03-31", clock="10:15")
    assert picked is not None and not picked.exact and picked.clock == "10:15"
    assert picked.instant == "2025-03-31T10:15:00+02:00"  # the minute's start: a correction
    assert picked.day == dt.date(2025, 3, 31)  # made at 10:15:30 is not yet in it
    seconds = views.parse_as_of("2025-01-15", clock="08:00:59")
    assert seconds is not None and seconds.instant == "2025-01-15T08:00:59+01:00"
    assert seconds.clock == "08:00:59"
    no_time = views.parse_as_of("2025-03-31", clock="")
    assert no_time is not None and no_time.instant.startswith("2025-03-31T23:59:59")


@pytest.mark.parametrize(
    ("day", "clock"),
    [
        ("2025-03-31", "24:00"),
        ("2025-03-31", "10:60"),
        ("2025-03-31", "10:15\n"),  # a trailing newline
        ("2025-03-31", "\uff11\uff10:15"),  # full-width digits
        ("2025-03-31", "\u0661\u0660:15"),  # Arabic-Indic digits
        ("2025-03-31", "1015"),
        ("2025-03-31", "10:15:00.5"),
        ("", "10:15"),  # a time without a day
        ("2025-03-31T10:15:00+00:00", "10:15"),  # an instant already names its time
    ],
)
def test_hostile_times_of_day_are_refused_with_swedish_words(day: str, clock: str) -> None:
    with pytest.raises(views.BadDate) as refused:
        views.parse_as_of(day, clock=clock)
    assert "kl." in str(refused.value)


@pytest.mark.parametrize(
    "raw", ["25", "20x5", "2025\n", "\uff12\uff10\uff12\uff15", "0999", "3000"]
)
def test_hostile_years_are_refused(raw: str) -> None:
    with pytest.raises(views.BadDate):
        views.parse_year(raw, 2025)


def test_an_empty_year_is_the_default() -> None:
    assert views.parse_year(None, 2025) == 2025 and views.parse_year("", 2024) == 2024
    assert views.parse_year("2023", 2025) == 2023


def test_the_diff_names_each_changed_added_and_removed_field() -> None:
    before = {
        "value": 89.1,
        "corrections": 0,
        "content": {"title": "Gammal titel", "perspectives": ["social"]},
        "comment": "x",
        "targets": {"2025": 88.0},
    }
    after = {
        "value": 91.5,
        "corrections": 1,
        "content": {"title": "Gammal titel", "perspectives": ["social", "economic"]},
        "targets": {"2025": 88.0, "2026": 90.0},
        "status": "recorded",
    }
    changes = {c.field: c for c in views.diff(before, after)}
    assert set(changes) == {
        "value",
        "corrections",
        "content.perspectives",
        "comment",
        "targets.2026",
        "status",
    }
    assert (changes["value"].before, changes["value"].after) == ("89,1", "91,5")
    assert changes["content.perspectives"].after == "social, economic"
    assert changes["comment"].kind == "removed" and changes["comment"].after == views.DASH
    assert changes["targets.2026"].kind == "added" and changes["targets.2026"].after == "90"
    assert views.diff(before, before) == []


def test_the_diff_of_a_state_that_did_not_exist_yet_lists_every_field_as_added() -> None:
    changes = views.diff(None, {"a": 1, "b": {"c": True}, "d": [{"x": None}]})
    assert [(c.field, c.after, c.kind) for c in changes] == [
        ("a", "1", "added"),
        ("b.c", "ja", "added"),
        ("d.0.x", views.DASH, "added"),
    ]


@pytest.mark.parametrize(
    ("raw", "goes_to"),
    [
        ("/review/styrkort?ar=2025", "/review/styrkort?ar=2025"),
        ("//evil.example/review/", "/review/"),
        ("https://evil.example/review/", "/review/"),
        ("/review/\\evil", "/review/"),
        ("/api/v1/admin/keys", "/review/"),
        ("", "/review/"),
    ],
)
def test_a_login_leads_only_to_a_reviewer_page_of_this_site(raw: str, goes_to: str) -> None:
    app = Flask("t")
    app.add_url_rule("/review/", "web.start", lambda: "")
    with app.test_request_context():
        assert _safe_next(raw) == goes_to


def test_session_settings_refuse_weak_or_wrong_values() -> None:
    derived = session_secret({}, "internal-secret")
    assert len(derived) == 64 and "internal-secret" not in derived
    assert session_secret({}, "internal-secret") == derived, "stable across restarts"
    assert session_secret({"GATEWAY_SESSION_SECRET": "s" * 40}, "x") == "s" * 40
    with pytest.raises(ConfigError):
        session_secret({"GATEWAY_SESSION_SECRET": "short"}, "x")
    with pytest.raises(ConfigError):
        session_secret({}, "")
    assert cookie_secure({}) is True and cookie_secure({"GATEWAY_COOKIE_SECURE": "0"}) is False
    with pytest.raises(ConfigError):
        cookie_secure({"GATEWAY_COOKIE_SECURE": "maybe"})
    assert session_hours({}) == 8
    for bad in ("0", "-1", "nan", "x", "1000"):
        with pytest.raises(ConfigError):
            session_hours({"GATEWAY_SESSION_HOURS": bad})


def test_recorded_instants_are_shown_in_swedish_time() -> None:
    assert views.local_time("2026-11-24T22:26:55.475807+00:00") == "2026-11-24 23:26:55"
    assert views.local_time("2026-07-01T10:00:00+00:00") == "2026-07-01 12:00:00"
    assert views.local_time("not a time") == "not a time"
    assert views.local_time("2026-07-01T10:00:00") == "2026-07-01T10:00:00"
