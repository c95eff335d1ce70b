"""`python -m services.reports import-kolada [--file F] [--years Y ...] [--from-date D]
[--municipality CODE]`: a Kolada import in the foreground, as a recorded job (its state is
answered by GET /api/v1/imports/kolada/<id> too), with a progress bar on stderr and a summary.

Without `--file` it reads the configured Kolada (KOLADA_BASE_URL); with it, a saved JSON file
(services/reports/kolada.py names the format). The comparison municipalities are
KOLADA_COMPARISONS. Exit 0 when the import ran (refusals are listed), 1 when it failed (nothing
of a failed fetch is recorded; run it again: it is resumable), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from services.reports import kolada_jobs
from services.reports.domain import calendar
from services.reports.kolada import KoladaError, KoladaFile, KoladaSource
from services.reports.kolada_import import ImportReport
from shared import values
from shared.cli import Command
from shared.errors import InvalidInput, RuleViolation
from shared.runtime import Runtime

BAR_WIDTH = 30
#: the bar is redrawn at most this often (seconds)
REDRAW = 0.2


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", metavar="F", help="a saved Kolada JSON file, not the API")
    parser.add_argument(
        "--years",
        nargs="+",
        type=str,  # values.year checks it in run: int() reads full-width digits and "2_024"
        metavar="Y",
        help=f"calendar years (default the last {kolada_jobs.DEFAULT_YEARS} finished ones)",
    )
    parser.add_argument(
        "--from-date",
        type=strict_date,
        metavar="D",
        help="only values Kolada changed on or after this date (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--municipality", metavar="CODE", help="Kolada's code (default KOLADA_MUNICIPALITY)"
    )


def strict_date(text: str) -> dt.date:
    """YYYY-MM-DD only: date.fromisoformat also reads "20240101" and "2024-W01-1"."""
    try:
        return calendar.parse_date(text, "--from-date")
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def progress_line(report: ImportReport) -> str:
    """One line of the bar: fetching (a count), then handling (a bar of handled / planned)."""
    counts = report.totals()
    tail = (
        f"new {counts['new']} corrected {counts['corrected']} unchanged "
        f"{counts['unchanged']} withdrawn {counts['withdrawn']}"
    )
    if not report.planned:
        return f"Kolada: fetched {report.fetched} values ... {tail}"
    share = min(report.handled / report.planned, 1.0)
    done = round(share * BAR_WIDTH)
    bar = "#" * done + "." * (BAR_WIDTH - done)
    return f"Kolada: [{bar}] {report.handled}/{report.planned} {tail}"


def bar(
    stream: TextIO,
) -> tuple[Callable[[ImportReport], None], Callable[[ImportReport | None], None]]:
    """A text bar redrawn in place (\\r), and what ends it (a last drawing and a new line)."""
    last = [0.0]

    def show(report: ImportReport) -> None:
        now = time.monotonic()
        if now - last[0] >= REDRAW:
            last[0] = now
            stream.write("\r" + progress_line(report))
            stream.flush()

    def end(report: ImportReport | None) -> None:
        if report is not None:
            stream.write("\r" + progress_line(report))
        stream.write("\n")
        stream.flush()

    return show, end


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would break the bar
    try:
        years = sorted({values.year(y, "--years") for y in args.years or []})
        if args.from_date is not None:
            values.year(args.from_date.year, "--from-date")
        municipality = (
            _code(args.municipality) if args.municipality else runtime.config.kolada_municipality
        )
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    years = years or kolada_jobs.default_years()
    if len(years) > kolada_jobs.MAX_YEARS:
        print(f"error: --years: at most {kolada_jobs.MAX_YEARS} years", file=sys.stderr)
        return 2
    source: KoladaSource = KoladaFile(args.file) if args.file else kolada_jobs.client_for(runtime)
    by = os.environ.get("STYRKORT_ADMIN") or f"cli:{getpass.getuser()}"
    try:
        job = kolada_jobs.create_job(runtime, by, years, args.from_date)
    except RuleViolation as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = args.file or runtime.config.kolada_base_url
    print(f"reports: Kolada import job {job} from {where}, years {years[0]}-{years[-1]}")
    show, end = bar(sys.stderr)
    try:
        report = kolada_jobs.run_job(
            runtime,
            job,
            source,
            years=years,
            from_date=args.from_date,
            municipality=municipality,
            progress=show,
        )
    except (KoladaError, ValueError, OSError) as exc:
        end(None)
        print(f"error: the import failed ({exc}); run it again to finish it", file=sys.stderr)
        return 1
    end(report)
    print(f"reports: Kolada import done (Källa: Kolada): {report.summary()}")
    for refusal in report.refused:
        print(
            f"  refused: {refusal.action} {refusal.indicator_id} {refusal.year}: {refusal.reason}"
        )
    return 0


def _code(raw: str) -> str:
    if not (len(raw) == 4 and raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"--municipality is a code of four digits, not {raw!r}")
    return raw


COMMANDS = {
    "import-kolada": Command(
        "import Kolada's values (results and comparison municipalities), resumably",
        arguments,
        run,
    )
}
