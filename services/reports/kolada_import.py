"""Import Kolada results into reports: each Kolada value of an indicator the municipality follows
becomes a result (`source = "kolada"`), recorded, corrected or withdrawn as Kolada revises it.

The run is idempotent: a value reports already has gives no event, so importing the same data
twice records nothing the second time. Per (KPI, year) of the municipality, for each *active*
indicator whose source is Kolada with that KPI, the result for the period `str(year)`:

- no result yet and a value -> recorded, as `handlers.record_result` would (new);
- a result with other values (total, women, men), or a withdrawn result and a value again ->
  corrected as `handlers.correct_result`, reason "Kolada reviderade värdet" (corrected);
- a result with the same values -> nothing (unchanged);
- Kolada deleted the total and a recorded result exists -> withdrawn, reason "Kolada
  drog tillbaka värdet" (withdrawn); with no recorded result nothing (no_data, or unchanged
  when the result is withdrawn already);
- a null total -> nothing (no_data): a missing value never withdraws one already recorded.

A KPI that only retired indicators name is counted as unmapped. A change reports refuses (a
closed year's results, above all) does not stop the run: it is counted in `refused` with its
reason, and the run goes on (the change is undone alone, in a savepoint). Values are recorded
`BATCH` a transaction, by the same rules as the result commands (handlers.py): the year open,
the indicator active, the result's own rules. Everything is fetched (and folded) before anything
is recorded, so a failed fetch records nothing. All events of one run share one correlation id.

**Comparison municipalities** (`comparisons`, e.g. Lidköping 1494, Skara 1495) are fetched in
the same requests as the municipality, and their values of every KPI a Kolada indicator names
are recorded as comparison values (services/reports/kolada_comparisons.py, one stream per KPI,
municipality and year) by the same rules: new, corrected, withdrawn, or nothing when unchanged
or null. They are counted apart (`report.comparisons`); `new`, `corrected`, ... above are the
municipality's results.

**Resumable**: every decision is made against what is stored, so a run that stopped half way
(a crash, a failed fetch, a stopped job) is finished by running it again: what was recorded is
unchanged the second time, and only what is missing is recorded.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from services.reports import handlers, kolada_comparisons
from services.reports.domain import result
from services.reports.domain.comparison import Found
from services.reports.domain.result import IndicatorResult, Measurement
from services.reports.kolada import KoladaResult, KoladaSource, KoladaValue, fold
from services.reports.kolada_comparisons import ComparisonCounts
from shared import values, versions
from shared.errors import InvalidInput, RuleViolation
from shared.events import Metadata
from shared.runtime import Runtime
from shared.store import ConcurrencyError
from shared.uow import UnitOfWork

ACTOR = "system:kolada-import"
SOURCE = "kolada"
REASON_REVISED = "Kolada reviderade värdet"
REASON_WITHDRAWN = "Kolada drog tillbaka värdet"
DEFAULT_MUNICIPALITY = "1471"  # Götene
DEFAULT_PROGRESS_EVERY = 100
#: values recorded per transaction: one commit per value made a first import of 10,000 results
#: take a minute (bench/kolada.py); the store's append lock is held to the commit, so a batch
#: stays small enough (about 0.1 s) not to hold the service's other commands up for long
BATCH = 100


@dataclass(frozen=True)
class Refusal:
    """A change reports refused (e.g. to a closed year's result), with its reason."""

    indicator_id: str
    kpi: str
    year: int
    action: str  # record, correct, withdraw
    reason: str


@dataclass
class ImportReport:
    """What one run did. `fetched`: observations read from the source; `results`: the
    (KPI, year) values of the municipality after folding; the other counts are per indicator
    and year, except `unmapped` (values of a KPI no active indicator names)."""

    correlation_id: str
    municipality: str
    fetched: int = 0
    results: int = 0
    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    unmapped: int = 0
    no_data: int = 0
    refused: list[Refusal] = field(default_factory=list)
    unmapped_kpis: list[str] = field(default_factory=list)
    comparisons: ComparisonCounts = field(default_factory=ComparisonCounts)
    #: values to handle once fetched (the municipality's and the comparisons'), 0 before
    planned: int = 0

    @property
    def handled(self) -> int:
        """Values handled so far, of `planned`."""
        return self.results + self.comparisons.values

    @property
    def events(self) -> int:
        """How many events the run appended (results and comparison values)."""
        c = self.comparisons
        return self.new + self.corrected + self.withdrawn + c.new + c.corrected + c.withdrawn

    def totals(self) -> dict[str, int]:
        """Results and comparison values together: what a job's status shows first."""
        c = self.comparisons
        return {
            "fetched": self.fetched,
            "planned": self.planned,
            "handled": self.handled,
            "new": self.new + c.new,
            "corrected": self.corrected + c.corrected,
            "unchanged": self.unchanged + c.unchanged,
            "withdrawn": self.withdrawn + c.withdrawn,
            "no_data": self.no_data + c.no_data,
            "refused": len(self.refused) + c.refused,
        }

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON: the totals, then per kind (results, comparison values)."""
        return {
            **self.totals(),
            "results": {
                "values": self.results,
                "new": self.new,
                "corrected": self.corrected,
                "unchanged": self.unchanged,
                "withdrawn": self.withdrawn,
                "no_data": self.no_data,
                "unmapped": self.unmapped,
                "refused": len(self.refused),
            },
            "comparisons": self.comparisons.as_dict(),
            "unmapped_kpis": self.unmapped_kpis[:100],
            "refusals": [vars(r) for r in self.refused[:100]],
            "correlation_id": self.correlation_id,
            "municipality": self.municipality,
        }

    def summary(self) -> str:
        c = self.comparisons
        return (
            f"fetched {self.fetched}, new {self.new}, corrected {self.corrected}, "
            f"unchanged {self.unchanged}, withdrawn {self.withdrawn}, unmapped {self.unmapped}, "
            f"no data {self.no_data}, refused {len(self.refused)}; comparison values: "
            f"new {c.new}, corrected {c.corrected}, unchanged {c.unchanged}, "
            f"withdrawn {c.withdrawn}, no data {c.no_data}, refused {c.refused}"
        )


def kolada_indicators(runtime: Runtime) -> tuple[list[str], dict[str, list[str]]]:
    """Every KPI a Kolada indicator names (whatever its status), and per KPI the active
    indicators that name it."""
    with runtime.pool.connection() as conn:
        rows = conn.execute(
            "SELECT id, kpi_id, status FROM known_indicators "
            "WHERE source_kind = 'kolada' AND kpi_id IS NOT NULL ORDER BY kpi_id, id"
        ).fetchall()
    kpis: dict[str, None] = {}
    active: dict[str, list[str]] = {}
    for indicator_id, kpi_id, status in rows:
        kpis[kpi_id] = None
        if status == "active":
            active.setdefault(kpi_id, []).append(indicator_id)
    return list(kpis), active


def import_kolada(
    runtime: Runtime,
    source: KoladaSource,
    *,
    municipality: str = DEFAULT_MUNICIPALITY,
    years: Iterable[int | str],
    from_date: dt.date | str | None = None,
    comparisons: Sequence[str] = (),
    progress: Callable[[ImportReport], None] | None = None,
    progress_every: int = DEFAULT_PROGRESS_EVERY,
    batch: int = BATCH,
) -> ImportReport:
    """Import the Kolada values of `municipality` and of the `comparisons` municipalities for
    `years` (see the module's docstring). `progress(report)` is called every `progress_every`
    values fetched, after each batch of values recorded (`batch` a transaction), and once at
    the end."""
    if progress_every < 1 or batch < 1:
        raise ValueError("progress_every and batch: 1 or more")
    the_years = list(years)
    report = ImportReport(str(uuid.uuid4()), municipality)
    metadata = Metadata(actor=ACTOR, correlation_id=report.correlation_id)

    def tick(count: int) -> None:
        if progress is not None and count % progress_every == 0:
            progress(report)

    others = [c for c in dict.fromkeys(comparisons) if c != municipality]
    kpis, active = kolada_indicators(runtime)
    if kpis:
        observations: list[KoladaValue] = []
        for observation in source.data(
            kpis, [municipality, *others], the_years, from_date=from_date
        ):
            observations.append(observation)
            report.fetched += 1
            tick(report.fetched)
        everything = fold(observations)
        folded = [r for r in everything if r.municipality == municipality]
        wanted = set(others)
        report.planned = len(folded) + sum(1 for r in everything if r.municipality in wanted)
        _record_results(runtime, metadata, report, folded, active, batch, progress)
        kolada_comparisons.record(
            runtime,
            metadata,
            (_found(r) for r in everything if r.municipality in wanted),
            report.comparisons,
            None if progress is None else lambda: progress(report),
            batch,
        )
    if progress is not None:
        progress(report)
    return report


def _found(value: KoladaResult) -> Found:
    return Found(
        value.kpi,
        value.municipality,
        value.year,
        value.total,
        value.women,
        value.men,
        value.withdrawn,
    )


def _same_values(state: dict[str, Any], found: KoladaResult) -> bool:
    return (
        state.get("status") == "recorded"
        and state.get("value") == found.total
        and state.get("women") == found.women
        and state.get("men") == found.men
    )


def _record_results(
    runtime: Runtime,
    metadata: Metadata,
    report: ImportReport,
    folded: Sequence[KoladaResult],
    active: dict[str, list[str]],
    batch: int,
    progress: Callable[[ImportReport], None] | None,
) -> None:
    """The municipality's values as results, `batch` values a transaction (progress after
    each commit). The years' locks are taken first, as a command takes them before it appends,
    so a batch and a year's close never wait for each other in a circle."""
    unmapped: dict[str, None] = {}
    for start in range(0, len(folded), batch):
        chunk = folded[start : start + batch]
        with runtime.uow() as uow:
            handlers.lock_years(uow, sorted({found.year for found in chunk}))
            for found in chunk:
                report.results += 1
                indicator_ids = active.get(found.kpi, [])
                if not indicator_ids:
                    report.unmapped += 1
                    unmapped[found.kpi] = None
                for indicator_id in indicator_ids:
                    _import_one(uow, metadata, report, indicator_id, found)
        if progress is not None:
            progress(report)
    report.unmapped_kpis = sorted(unmapped)


Action = Literal["record", "correct", "withdraw"]


def _import_one(
    uow: UnitOfWork,
    metadata: Metadata,
    report: ImportReport,
    indicator_id: str,
    found: KoladaResult,
) -> None:
    """Decide one (indicator, year) against its stored state; a change goes in a savepoint, so
    a refusal (a closed year, a concurrent change) undoes that value alone."""
    period = str(found.year)
    result_id = result.result_id_for(indicator_id, period)
    state = versions.get(uow.conn, result_id)
    action: Action
    if found.withdrawn:
        if state is None:
            report.no_data += 1
            return
        if state.get("status") != "recorded":
            report.unchanged += 1
            return
        action = "withdraw"
    elif not found.has_data:
        report.no_data += 1
        return
    elif state is None:
        action = "record"
    elif _same_values(state, found):
        report.unchanged += 1
        return
    else:
        action = "correct"
    try:
        with uow.conn.transaction():
            _change(uow, metadata, action, indicator_id, result_id, state, found)
    except (RuleViolation, InvalidInput, ConcurrencyError) as refused:
        report.refused.append(Refusal(indicator_id, found.kpi, found.year, action, str(refused)))
        return
    if action == "record":
        report.new += 1
    elif action == "correct":
        report.corrected += 1
    else:
        report.withdrawn += 1


def _change(
    uow: UnitOfWork,
    metadata: Metadata,
    action: Action,
    indicator_id: str,
    result_id: str,
    state: dict[str, Any] | None,
    found: KoladaResult,
) -> None:
    """What handlers.record_result / correct_result / withdraw_result do, in the batch's
    transaction: the year open, the result's rules, the append."""
    handlers.require_year_open(uow, found.year, "its results")
    if state is None:
        measurement = Measurement.check(found.total, found.women, found.men, SOURCE, None)
        facts = handlers.indicator_facts(uow, indicator_id)
        period = str(found.year)
        events = IndicatorResult.record(result_id, facts, period, measurement, values.today())
        version = 0
    else:
        current = result.KIND.restore(state)
        version = current.version
        if action == "withdraw":
            events = current.withdraw(REASON_WITHDRAWN)
        else:
            measurement = Measurement.check(found.total, found.women, found.men, SOURCE, None)
            events = current.correct(measurement, REASON_REVISED)
    uow.append(result_id, result.STREAM_TYPE, version, [e.to_new_event() for e in events], metadata)
