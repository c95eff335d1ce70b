"""Fixtures of the browser tests (issue #12, "Show it"; docs/adr/0018): the whole system on real
sockets, a real Chromium, a page per test.

The system is the dev stack as `make run` starts it (`bench.gateway.DevStackRun`: embedded
PostgreSQL and broker, every service and the gateway under gunicorn with relays, consumers and
the demo seed), started once per session on free ports. On top of the seed the session issues a
reviewer's key through the gateway's key API and corrects one seeded result, so the as-of picker
has a value before and after. Chromium is Debian's package (`make system-deps`), driven by
Playwright; each test gets a fresh browser context (no cookies from another test).

A traceback in the stack's log while a test ran fails the test, as does an uncaught error in a
page's script: the apps run in other processes, so their exceptions are collected from there.
Every page a test opens is screenshotted to `test-artifacts/screenshots/` and checked by axe.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest

from bench.gateway import DevStackRun
from services.goals.seed import seed_id
from services.reports.domain.result import result_id_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
#: the axe rules of WCAG 2.1 level A and AA, which Swedish public-sector sites must meet
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
INSTALL_HINT = (
    "`make system-deps` installs Debian's chromium package and `make install` the Python "
    "packages (playwright, axe-playwright-python); the browser tests never skip"
)

#: the seeded result the session corrects: Socialnämnden's safety indicator for 2025
CORRECTED_INDICATOR = seed_id("indicator-", "i-trygghet")
CORRECTED_GOAL = seed_id("goal-", "o-aldre")
SEEDED_VALUE, CORRECTED_VALUE = 78.5, 81.5


@dataclass(frozen=True)
class Correction:
    """The seeded result and its correction: `before` is an instant (whole minutes, as a
    date-time picker gives them) after the seeded value was recorded and before the correction."""

    result_id: str
    indicator_id: str
    goal_id: str
    old_value: float
    new_value: float
    recorded_at: dt.datetime
    corrected_at: dt.datetime
    before: dt.datetime


@dataclass
class System:
    """The running stack, the keys made for the tests and the correction."""

    stack: DevStackRun
    reviewer_key: str
    correction: Correction

    @property
    def url(self) -> str:
        return self.stack.url("gateway")

    def log_size(self) -> int:
        return self.stack.output.stat().st_size

    def tracebacks_since(self, offset: int) -> list[str]:
        """The tracebacks any process of the stack logged after `offset` (its combined log)."""
        with self.stack.output.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        lines = text.splitlines()
        return [
            "\n".join(lines[index : index + 30])
            for index, line in enumerate(lines)
            if "Traceback (most recent call last)" in line
        ]


def chromium_executable() -> str:
    """Debian's Chromium (or `$CHROMIUM`): Playwright's own browser download is never used."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(f"Chromium was not found on PATH: {INSTALL_HINT}", pytrace=False)
    return found


# -- the system ----------------------------------------------------------------------------------


def api(stack: DevStackRun, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.url("gateway"),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
        trust_env=False,
    )


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.request.method, answer.request.url, answer.text)
    return answer.json()


def caught_up(admin: httpx.Client) -> bool:
    """Every relay published every event and every consumer applied every one of its sources'."""
    services = ok(admin.get("/api/v1/admin/lag"))["services"]
    for found in services.values():
        if found["status"] != "ok" or found["relay"]["lag"] != 0:
            return False
        if any(consumer["lag"] != 0 for consumer in found["consumers"].values()):
            return False
    return True


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s", pytrace=False)
        time.sleep(0.3)
    return found


def issue_key(admin: httpx.Client, role: str, name: str) -> str:
    made = ok(
        admin.post("/api/v1/admin/keys", json={"role": role, "scope": "*", "name": name}), 201
    )
    return str(made["key"])


def correct_seeded_result(admin: httpx.Client) -> Correction:
    """Correct the seeded 2025 result of the safety indicator, first waiting for the clock to
    pass a whole minute after it was recorded: a picker of dates and minutes can then name an
    instant between the two versions."""
    result_id = result_id_for(CORRECTED_INDICATOR, "2025")
    seeded = admin.get(f"/api/v1/results/{result_id}")
    assert seeded.status_code == 200, seeded.text
    assert seeded.json()["value"] == SEEDED_VALUE, seeded.json()
    history = ok(admin.get(f"/api/v1/history/{result_id}"))["events"]
    recorded_at = dt.datetime.fromisoformat(history[-1]["recorded_at"])
    before = recorded_at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    while dt.datetime.now(dt.UTC) < before + dt.timedelta(seconds=1):
        time.sleep(0.5)
    corrected = admin.post(
        f"/api/v1/results/{result_id}/correct",
        json={"value": CORRECTED_VALUE, "reason": "Brukarundersökningen räknades om"},
        headers={"If-Match": seeded.headers["ETag"]},
    )
    assert corrected.status_code == 200, corrected.text
    versions = ok(admin.get(f"/api/v1/history/{result_id}"))["events"]
    corrected_at = dt.datetime.fromisoformat(versions[-1]["recorded_at"])
    assert recorded_at < before < corrected_at
    return Correction(
        result_id,
        CORRECTED_INDICATOR,
        CORRECTED_GOAL,
        SEEDED_VALUE,
        CORRECTED_VALUE,
        recorded_at,
        corrected_at,
        before,
    )


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    # the pages' reads through one key must not meet the per-key rate limit
    env = {"GATEWAY_RATE_LIMIT": "100000/minute"}
    stack = DevStackRun(tmp_path_factory.mktemp("browser") / "dev", env)
    try:
        stack.start()
        with api(stack, stack.admin_key) as admin:
            reviewer_key = issue_key(admin, "auditor", "Revisor i webbläsartesten")
            wait_for(lambda: caught_up(admin), "relays and consumers caught up after the seed")
            correction = correct_seeded_result(admin)
            wait_for(lambda: caught_up(admin), "relays and consumers caught up")
    except (RuntimeError, TimeoutError) as exc:
        stack.stop()
        pytest.fail(f"the dev stack did not start: {exc}", pytrace=False)
    except BaseException:
        stack.stop()
        raise
    try:
        yield System(stack, reviewer_key, correction)
    finally:
        stack.stop()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"Playwright is not installed: {INSTALL_HINT}", pytrace=False)
    executable = chromium_executable()
    # this run's screenshots only: one left from a renamed test would show a page that is gone
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    with sync_playwright() as playwright:
        # --no-sandbox: CI and the dev machines run as root, where Chromium's sandbox refuses
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"], timeout=60_000
        )
        try:
            yield launched
        finally:
            launched.close()


def axe_report(violations: list[dict[str, Any]]) -> str:
    """The violations as lines a person reads: rule, impact, help and each node's selector and
    HTML, so a failing test says what to fix where."""
    lines = [f"{len(violations)} axe violation(s) of WCAG 2.1 AA:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}: {node['html'][:300]}")
            summary = node.get("failureSummary")
            if summary:
                lines.extend(f"      {line}" for line in summary.splitlines())
    return "\n".join(lines)


@dataclass
class Web:
    """One test's page, with the checks every page gets: 200, a screenshot, axe."""

    page: Page
    system: System
    test_name: str
    shots: list[Path] = field(default_factory=list)

    def open(self, path: str, name: str, status: int = 200) -> Response:
        """Go to `path` on the gateway; it must answer `status` and pass axe."""
        response = self.page.goto(path)
        assert response is not None, path
        assert response.status == status, (path, response.status, self.page.content()[:2000])
        self.checked(name)
        return response

    def checked(self, name: str) -> None:
        """The page as it is now: screenshotted and checked by axe (after a click, a form)."""
        self.screenshot(name)
        self.assert_accessible(name)

    def screenshot(self, name: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", f"{self.test_name}-{len(self.shots):02d}-{name}".lower())
        path = SCREENSHOTS / f"{slug.strip('-')}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def login(self, key: str, then: str = "/review/") -> None:
        """Log in through the login form (the page a reviewer page redirects to), then land on
        `then`: the form is filled and sent as a person would."""
        self.open(f"/review/logga-in?next={quote(then, safe='')}", "inloggning")
        self.page.get_by_label("API-nyckel").fill(key)
        self.page.get_by_role("button", name="Logga in").click()
        self.page.wait_for_url(lambda url: "/logga-in" not in url)

    def axe(self) -> list[dict[str, Any]]:
        from axe_playwright_python.base import AXE_SCRIPT

        self.page.evaluate(AXE_SCRIPT)
        options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
        results = self.page.evaluate("options => axe.run(document, options)", options)
        violations: list[dict[str, Any]] = results["violations"]
        return violations

    def assert_accessible(self, name: str) -> None:
        violations = self.axe()
        assert not violations, f"{name} ({self.page.url}):\n{axe_report(violations)}"


@pytest.fixture
def web(browser: Browser, system: System, request: pytest.FixtureRequest) -> Iterator[Web]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=system.url, locale="sv-SE", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    offset = system.log_size()
    made = Web(page, system, request.node.name)
    try:
        yield made
    finally:
        context.close()
    tracebacks = system.tracebacks_since(offset)
    assert not tracebacks, "the stack logged a traceback during the test:\n" + "\n\n".join(
        tracebacks
    )
    assert not script_errors, f"a page's script failed: {script_errors}"
