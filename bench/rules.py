"""Which business rules the unit tests exercise: the share of `raise RuleViolation(...)` and
`raise InvalidInput(...)` sites in services/*/domain (and shared/values.py) that tests/unit
executes, per file, with the lines never reached. A refusal no unit test triggers is a rule
nobody has seen work. Prints figures, asserts nothing (target ≥ 90%).
  python -m bench rules
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from bench.table import Figure, at_least, record

REPO = Path(__file__).resolve().parent.parent
REFUSALS = {"RuleViolation", "InvalidInput"}


def raise_sites(path: Path) -> list[int]:
    """Line numbers of `raise RuleViolation(...)` / `raise InvalidInput(...)` in a file."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = node.exc.func
            if isinstance(name, ast.Name) and name.id in REFUSALS:
                lines.append(node.lineno)
    return sorted(lines)


def main(argv: list[str] | None = None) -> None:
    import coverage
    import pytest

    files = [*sorted(REPO.glob("services/*/domain/*.py")), REPO / "shared" / "values.py"]
    sites = {path: raise_sites(path) for path in files}
    cov = coverage.Coverage(data_file=None, include=[str(p) for p in files])
    cov.start()
    code = pytest.main([str(REPO / "tests" / "unit"), "-q", "-p", "no:cacheprovider"])
    cov.stop()
    if code != 0:
        sys.exit(f"the unit tests failed ({code}); the figures would mean nothing")
    data = cov.get_data()
    totals = {"services": [0, 0], "shared": [0, 0]}
    print("raise sites of RuleViolation / InvalidInput executed by tests/unit:")
    for path, lines in sites.items():
        if not lines:
            continue
        executed = set(data.lines(str(path)) or ())
        missed = [line for line in lines if line not in executed]
        hit = len(lines) - len(missed)
        totals["shared" if path.parts[-2] == "shared" else "services"][0] += hit
        totals["shared" if path.parts[-2] == "shared" else "services"][1] += len(lines)
        where = path.relative_to(REPO)
        print(
            f"  {where!s:42s} {hit:3d} of {len(lines):3d}"
            + (f"  missed lines {', '.join(map(str, missed))}" if missed else "")
        )
    hit, total = totals["services"]
    print(f"  services/*/domain: {hit} of {total} = {hit / total:.0%} (target ≥ 90%)")
    record(
        Figure(
            f"refusals in services/*/domain that unit tests reach ({hit} of {total})",
            100 * hit / total,
            "%",
            target=at_least(90),
        )
    )
    hit, total = totals["shared"]
    print(f"  shared/values.py:  {hit} of {total} = {hit / max(total, 1):.0%}")


if __name__ == "__main__":
    main()
