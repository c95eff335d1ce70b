"""Comparisons: for a Kolada indicator and a year, the municipality's value beside the
comparison municipalities' (and their mean), as known at an instant. Källa: Kolada.

The municipality's value is its result of the indicator for the year (result_versions); the
others' are Kolada's values of the indicator's KPI (comparison_values, recorded by the import).
Both are read `as_of` an instant: a value revised after it shows as it was then, a withdrawn one
shows no data (None).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import psycopg

from shared.config import DEFAULT_KOLADA_MUNICIPALITY, kolada_comparisons

SOURCE_LABEL = "Kolada"
LABEL = "Källa: Kolada"

Conn = psycopg.Connection[Any]


def for_indicators(
    conn: Conn,
    indicator_ids: Sequence[str],
    years: Sequence[int],
    as_of: dt.datetime | None,
    *,
    municipality: str | None = None,
    comparisons: Sequence[tuple[str, str]] | None = None,
) -> dict[str, dict[int, dict[str, Any]]]:
    """Per indicator id and year, for Kolada indicators only (others are absent):

        {"kpi": "N15419",
         "municipality": {"code": "1471", "value": 85.0, "women": ..., "men": ...},
         "comparisons": [{"code": "1494", "name": "Lidköping", "value": 71.2, "women": ...,
                          "men": ..., "position": 812, "event_id": "..."}, ...],
         "mean": <mean of the comparison values that have data, or None>,
         "source": "Kolada", "label": "Källa: Kolada"}

    A value with no data (never published, null, or withdrawn) is None, and so are its
    `position` and `event_id` (the event that recorded what is shown, for tracing it). Every
    comparison municipality is listed, in the configured order, with or without data.
    `municipality` and `comparisons` ((code, name) pairs) default to KOLADA_MUNICIPALITY and
    KOLADA_COMPARISONS of the environment (shared/config.py)."""
    own = municipality or os.environ.get("KOLADA_MUNICIPALITY", DEFAULT_KOLADA_MUNICIPALITY)
    others = list(
        comparisons
        if comparisons is not None
        else kolada_comparisons(os.environ.get("KOLADA_COMPARISONS"))
    )
    kpis = _kpis(conn, indicator_ids)
    if not kpis or not years:
        return {}
    ours = _results(conn, list(kpis), years, as_of)
    theirs = _comparison_values(
        conn, sorted(set(kpis.values())), [c for c, _ in others], years, as_of
    )
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for indicator_id, kpi in kpis.items():
        by_year: dict[int, dict[str, Any]] = {}
        for year in years:
            mine = ours.get((indicator_id, year), {})
            listed = [
                {"code": code, "name": name, **theirs.get((kpi, code, year), _NO_DATA)}
                for code, name in others
            ]
            found = [c["value"] for c in listed if c["value"] is not None]
            by_year[year] = {
                "kpi": kpi,
                "municipality": {
                    "code": own,
                    "value": mine.get("value"),
                    "women": mine.get("women"),
                    "men": mine.get("men"),
                },
                "comparisons": listed,
                "mean": mean(found),
                "source": SOURCE_LABEL,
                "label": LABEL,
            }
        out[indicator_id] = by_year
    return out


def mean(found: Sequence[float]) -> float | None:
    """The mean, or None of nothing. Each value is divided before the sum, so values near the
    largest float (which Kolada may send and a result may hold) give their mean, not an
    infinity that the JSON answer would carry as `Infinity`, which is not JSON."""
    if not found:
        return None
    return sum(v / len(found) for v in found)


_NO_DATA: dict[str, Any] = {
    "value": None,
    "women": None,
    "men": None,
    "position": None,
    "event_id": None,
}


def _kpis(conn: Conn, indicator_ids: Sequence[str]) -> dict[str, str]:
    """Indicator id -> the Kolada KPI it names, for the Kolada indicators among the ids."""
    rows = conn.execute(
        "SELECT id, kpi_id FROM known_indicators WHERE id = ANY(%s) "
        "AND source_kind = 'kolada' AND kpi_id IS NOT NULL ORDER BY id",
        [list(indicator_ids)],
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def _results(
    conn: Conn, indicator_ids: list[str], years: Sequence[int], as_of: dt.datetime | None
) -> dict[tuple[str, int], dict[str, Any]]:
    """The municipality's yearly results of the indicators (recorded ones) as of the instant."""
    rows = conn.execute(
        """SELECT indicator_id, year, value, women, men FROM result_versions
            WHERE indicator_id = ANY(%s) AND year = ANY(%s) AND period = year::text
              AND status = 'recorded'
              AND (%s::timestamptz IS NULL
                   OR (valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)))
              AND (%s::timestamptz IS NOT NULL OR valid_to IS NULL)""",
        [indicator_ids, list(years), as_of, as_of, as_of, as_of],
    ).fetchall()
    return {(r[0], r[1]): {"value": r[2], "women": r[3], "men": r[4]} for r in rows}


def _comparison_values(
    conn: Conn,
    kpis: list[str],
    municipalities: list[str],
    years: Sequence[int],
    as_of: dt.datetime | None,
) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The last version of each comparison value recorded by the instant (None: now)."""
    if not municipalities:
        return {}
    rows = conn.execute(
        """SELECT DISTINCT ON (kpi, municipality, year)
                  kpi, municipality, year, value, women, men, withdrawn, position, event_id
             FROM comparison_values
            WHERE kpi = ANY(%s) AND municipality = ANY(%s) AND year = ANY(%s)
              AND (%s::timestamptz IS NULL OR recorded_at <= %s)
            ORDER BY kpi, municipality, year, version DESC""",
        [kpis, municipalities, list(years), as_of, as_of],
    ).fetchall()
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    for kpi, code, year, value, women, men, withdrawn, position, event_id in rows:
        if withdrawn:
            out[(kpi, code, year)] = _NO_DATA
        else:
            out[(kpi, code, year)] = {
                "value": value,
                "women": women,
                "men": men,
                "position": position,
                "event_id": event_id,
            }
    return out
