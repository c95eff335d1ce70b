"""Comparison values and the Kolada settings without I/O: what an import records for each
thing Kolada may say of a value, given what is known, and how KOLADA_* settings are read."""

from __future__ import annotations

import pytest

from services.reports.domain import comparison
from services.reports.domain.comparison import ComparisonValue, Found
from shared.config import Config, ConfigError

NEW = Found("N15419", "1494", 2024, 71.2, 73.0, 69.5)


def known(found: Found = NEW) -> ComparisonValue:
    _, events = comparison.decide(None, found)
    return comparison.KIND.fold_new(events)


def test_a_new_value_is_recorded_and_names_its_kpi_municipality_and_year() -> None:
    outcome, events = comparison.decide(None, NEW)
    assert outcome == "new" and len(events) == 1
    (event,) = events
    assert isinstance(event, ComparisonValue.Recorded)
    assert (event.kpi, event.municipality, event.year, event.value) == (
        "N15419",
        "1494",
        2024,
        71.2,
    )
    assert event.comparison_id == comparison.comparison_id_for("N15419", "1494", 2024)
    assert event.comparison_id != comparison.comparison_id_for("N15419", "1495", 2024)


def test_unchanged_and_missing_values_record_nothing() -> None:
    state = known()
    assert comparison.decide(state, NEW) == ("unchanged", [])
    assert comparison.decide(state, Found("N15419", "1494", 2024, None)) == ("no_data", [])
    assert comparison.decide(None, Found("N15419", "1494", 2024, None)) == ("no_data", [])
    gone = Found("N15419", "1494", 2024, None, withdrawn=True)
    assert comparison.decide(None, gone) == ("no_data", [])


def test_a_revision_is_a_correction_even_of_the_split_alone() -> None:
    state = known()
    outcome, events = comparison.decide(state, Found("N15419", "1494", 2024, 71.2, 73.5, 69.5))
    assert outcome == "corrected" and isinstance(events[0], ComparisonValue.Corrected)
    after = state.when(events[0])
    assert (after.women, after.version, after.withdrawn) == (73.5, 2, False)


def test_a_deleted_value_is_withdrawn_once_and_a_republished_one_corrected() -> None:
    state = known()
    gone = Found("N15419", "1494", 2024, None, withdrawn=True)
    outcome, events = comparison.decide(state, gone)
    assert outcome == "withdrawn" and isinstance(events[0], ComparisonValue.Withdrawn)
    withdrawn = state.when(events[0])
    assert withdrawn.withdrawn and comparison.decide(withdrawn, gone) == ("unchanged", [])
    outcome, events = comparison.decide(withdrawn, NEW)  # the same value, published again
    assert outcome == "corrected" and not withdrawn.when(events[0]).withdrawn


def test_a_stream_begins_with_a_recorded_value() -> None:
    withdrawn = ComparisonValue.Withdrawn("comparison-x", "N15419", "1494", 2024)
    with pytest.raises(ValueError, match="before ComparisonValueRecorded"):
        comparison.KIND.fold_new([withdrawn])


def test_kolada_settings_are_read_and_bad_ones_named() -> None:
    base = {"DATABASE_URL": "postgresql://x/reports"}
    config = Config.from_env("reports", base)
    assert config.kolada_base_url == "https://api.kolada.se"
    assert config.kolada_municipality == "1471"
    assert [c for c, _ in config.kolada_comparisons] == ["1494", "1495", "1493", "1470"]
    config = Config.from_env(
        "reports",
        {
            **base,
            "KOLADA_BASE_URL": "http://127.0.0.1:8099/v3/",
            "KOLADA_COMPARISONS": "1494:Lidköping, 1480:Göteborg",
            "KOLADA_REQUESTS_PER_SECOND": "0",
        },
    )
    assert config.kolada_base_url == "http://127.0.0.1:8099"
    assert config.kolada_comparisons == (("1494", "Lidköping"), ("1480", "Göteborg"))
    assert config.kolada_requests_per_second == 0
    for name, raw in [
        ("KOLADA_BASE_URL", "ftp://kolada"),
        ("KOLADA_MUNICIPALITY", "Götene"),
        ("KOLADA_COMPARISONS", "1494"),
        ("KOLADA_COMPARISONS", "Lidköping:1494"),
        ("KOLADA_REQUESTS_PER_SECOND", "-1"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Config.from_env("reports", {**base, name: raw})
