"""The reports service's warehouse tables (docs/warehouse.md): results on both time axes,
indicator statuses, quality reports and the decisions in reports' log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from services.reports import known, queries
from services.reports.domain import rules
from shared.warehouse import Column, Conn, Table, current_entities, decisions_table, sql_rows

C = Column
STATE = (
    C("version", "integer", "the entity's version (its stream version): grows with each change"),
    C("position", "bigint", "position in reports' log of the entity's latest event"),
    C("updated_at", "timestamp", "when that event was recorded"),
)
STATE_SQL = "v.version, v.position, v.valid_from"

RESULTS = Table(
    "results",
    "Results (fact, bitemporal): every version of every result. `period`/`year` say what the "
    "value is for (valid time); `recorded_at`/`superseded_at` when the municipality knew it "
    "(transaction time). The value known at instant t is the row with recorded_at <= t < "
    "superseded_at (or superseded_at empty).",
    (
        C("result_id", "text", "result-…: one per indicator and period"),
        C("version", "integer", "1 for the first value, 2… for each correction"),
        C("indicator_id", "text", "goals' indicators.indicator_id"),
        C("period", "text", "what the value is for: a year 2025, or an interim date 2025-08-31"),
        C("year", "integer", "the year of the period"),
        C("interim", "boolean", "true for an interim result (delårsuppföljning)"),
        C("value", "double", "the value"),
        C("women", "double", "the value for women, if split by gender"),
        C("men", "double", "the value for men, if split by gender"),
        C("source", "text", "manual, survey or kolada"),
        C("comment", "text", "the comment recorded with it"),
        C("status", "text", "recorded, or withdrawn"),
        C("corrected", "boolean", "true when this version corrects an earlier one"),
        C("current", "boolean", "true for the version in force now"),
        C("recorded_at", "timestamp", "when this version was recorded (known from)"),
        C("superseded_at", "timestamp", "when a later version replaced it; empty while current"),
        C("position", "bigint", "position in reports' log of this version's event"),
    ),
    sql_rows(
        """SELECT r.result_id, r.version, r.indicator_id, r.period, r.year,
                  strpos(r.period, '-') > 0, r.value, r.women, r.men, r.source, r.comment,
                  r.status, r.version > 1, r.valid_to IS NULL, r.valid_from, r.valid_to,
                  r.position
             FROM result_versions r
            WHERE r.result_id IN (SELECT c.result_id FROM result_versions c
                                   WHERE c.valid_to IS NULL AND c.position > %(since)s)
            ORDER BY r.result_id, r.version"""
    ),
    since_rule="every version of the results that have a version recorded after the cursor",
    key=("result_id", "version"),
)

STATUS_COLUMNS = (
    C("indicator_id", "text", "goals' indicators.indicator_id"),
    C("year", "integer", "the year"),
    C("colour", "text", "green, yellow, red or no_data (computed, docs/status.md)"),
    C(
        "rule",
        "text",
        "the rule that gave the colour: thresholds, target, no_result or no_yardstick",
    ),
    C("trend", "text", "better, same or worse than the year before; NULL without both values"),
    C("value", "double", "the year's result (its own, or the latest interim one)"),
    C("result_period", "text", "the period of that result"),
    C("result_id", "text", "results.result_id"),
    C("previous_value", "double", "the year before's result"),
    C("target", "double", "the year's target"),
    C("green", "double", "threshold for green"),
    C("yellow", "double", "threshold for yellow"),
    C("share_of_target", "double", "value / target (or target / value when lower is better)"),
)
#: indicators computed per round of queries
_STATUS_CHUNK = 500


def status_rows(conn: Conn, since: int) -> Iterator[Sequence[Any]]:
    """Each indicator's status for each year it has a result, computed now as the scorecard
    does (services/reports/queries.indicator_line: the same rules, targets, thresholds)."""
    rules_changed = conn.execute(
        "SELECT 1 FROM events WHERE stream_id = %s AND position > %s LIMIT 1",
        [rules.STREAM_ID, since],
    ).fetchone()
    pairs = conn.execute(
        """SELECT DISTINCT r.indicator_id, r.year, i.direction
             FROM result_versions r JOIN known_indicators i ON i.id = r.indicator_id
            WHERE r.valid_to IS NULL AND r.status = 'recorded'
              AND r.indicator_id IN (SELECT c.indicator_id FROM result_versions c
                                      WHERE c.valid_to IS NULL AND c.position > %s)
            ORDER BY r.indicator_id, r.year""",
        [0 if rules_changed else since],
    ).fetchall()
    rules_now, _ = queries.rules_as_of(conn, None)
    for start in range(0, len(pairs), _STATUS_CHUNK):
        chunk = pairs[start : start + _STATUS_CHUNK]
        ids = sorted({p[0] for p in chunk})
        years = sorted({p[1] for p in chunk})
        yardsticks = known.yardsticks(conn, ids, years)
        results = queries.results_by_year(
            conn, ids, sorted({*years, *(y - 1 for y in years)}), None
        )
        for indicator_id, year, direction in chunk:
            row = {"indicator_id": indicator_id, "direction": direction}
            line = queries.indicator_line(row, year, yardsticks, results, rules_now)
            status, result = line["status"], line["result"] or {}
            thresholds = line["thresholds"] or {}
            yield (
                indicator_id,
                year,
                status["colour"],
                status["reason"]["rule"],
                status["trend"],
                result.get("value"),
                result.get("period"),
                result.get("result_id"),
                status["previous_value"],
                line["target"],
                thresholds.get("green"),
                thresholds.get("yellow"),
                status["share_of_target"],
            )


STATUSES = Table(
    "statuses",
    "Indicator statuses (fact, computed): each indicator's colour per year it has a result, "
    "by the status rules, targets and thresholds in force now (never stored: ADR 0012).",
    STATUS_COLUMNS,
    status_rows,
    since_rule="the statuses of indicators with a result recorded after the cursor (all of "
    "them when the status rules changed); a target or threshold decided in goals changes a "
    "status without an event of reports: reload statuses in full after goals' targets move",
    key=("indicator_id", "year"),
)

QUALITY_REPORTS = Table(
    "quality_reports",
    "Quality reports (fact): a unit's yearly report, how far it got and its approval.",
    (
        C("report_id", "text", "report-…"),
        C("unit_id", "text", "the unit reporting (goals' units.unit_id)"),
        C("plan_id", "text", "the action plan it follows up (plans.plan_id), if any"),
        C("period", "text", "the period reported on, e.g. 2025"),
        C("status", "text", "draft, submitted or approved"),
        C("sections_done", "json", "the sections marked done"),
        C("improvement_areas", "integer", "how many improvement areas it names"),
        C("proposal_ids", "json", "ids of its improvement proposals"),
        C("submitted_on", "date", "the day it was submitted"),
        C("decided_by", "text", "the unit that approved it"),
        C("decided_on", "date", "the day it was approved"),
        C("minute_ref", "text", "the minutes of the approval"),
        *STATE,
    ),
    sql_rows(
        current_entities(
            "quality_report",
            "v.entity_id, v.state ->> 'unit_id', v.state ->> 'plan_id', v.state ->> 'period', "
            "v.state ->> 'status', coalesce(v.state -> 'done', '[]')::text, "
            "CASE jsonb_typeof(v.state -> 'improvement_areas') WHEN 'array' "
            "THEN jsonb_array_length(v.state -> 'improvement_areas') ELSE 0 END, "
            "coalesce(v.state -> 'proposal_ids', '[]')::text, "
            "(v.state ->> 'submitted_on')::date, v.state ->> 'decided_by', "
            f"(v.state ->> 'decided_on')::date, v.state ->> 'minute_ref', {STATE_SQL}",
        )
    ),
    key=("report_id",),
)

REPORT_DECISIONS = decisions_table("report_decisions", "reports")

TABLES = (RESULTS, STATUSES, QUALITY_REPORTS, REPORT_DECISIONS)
