"""The gateway's web pages against the real goals, plans and reports apps on the real
PostgreSQL (reached through `Upstreams` with WSGI transports, as in test_gateway_keys.py):
each page answers 200 with what it should show; the public pages show no drafts, no employee
agreements and no key ids; reviewer login, logout, CSRF refusal, the session cookie's flags and
a revoked key's session; the as-of picker and the timeline and diff.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from services.goals.seed import seed_id
from services.reports import seed as reports_seed
from shared.config import Config
from shared.envelope import ReceivedEvent
from shared.runtime import Runtime
from tests.gateway_support import Stack, bearer, make_stack
from tests.support import connect, feed_seeded_goals

COUNCIL = seed_id("org-unit-", "kf")
SCHOOL_GOAL = "goal-80331367-4b88-585a-ae55-c378d881cd25"  # Alla elever når kunskapskraven …
SCHOOL_INDICATOR = "indicator-3428575d-f611-56ef-a6dc-a7274f4edc28"


def relay(source: Runtime, target: Runtime, service: str) -> None:
    """Apply every event of `source` to `target`'s read models, as its consumer would."""
    with connect(source) as conn:
        events = source.store.read_all(conn, limit=10_000, upcast=False)
    with connect(target) as conn, conn.transaction():
        target.applier.apply_all(conn, [ReceivedEvent(f"/styrkort/{service}", e) for e in events])


@pytest.fixture
def stack(make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]) -> Stack:
    """The gateway before the three services, with Götene's demo data in each."""
    built = make_stack(make_runtime, make_config)
    goals, plans, reports = (built.runtimes[name] for name in ("goals", "plans", "reports"))
    feed_seeded_goals(goals, reports)
    relay(goals, plans, "goals")
    reports_seed.seed(reports)
    relay(reports, plans, "reports")
    return built


class Page(HTMLParser):
    """The parts of a page the tests look at: its text, headings, landmarks and links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h1: list[str] = []
        self._in_h1 = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_h1:
            self.h1.append(data)

    def all_text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def html_of(response: Any) -> Page:
    assert response.mimetype == "text/html", response.data[:300]
    return Page(response.get_data(as_text=True))


def test_the_public_dashboard_shows_vision_areas_goals_results_and_lights(stack: Stack) -> None:
    response = stack.client().get("/?ar=2025")
    assert response.status_code == 200
    page = html_of(response)
    text = page.all_text()
    assert page.count("h1") == 1 and "Mål och resultat 2025" in "".join(page.h1)
    assert 'lang="sv"' in response.get_data(as_text=True)
    assert "Hoppa till innehållet" in text
    assert "Bo i Götene, lev i världen" in text  # the vision
    assert "Utvecklingsområde: Attraktiva livsmiljöer" in text
    assert "Alla elever når kunskapskraven i grundskolan" in text
    # the school indicator's 2025 result, its target, its light as word and shape
    assert "89,1 %" in text and "88 %" in text
    assert "● grön" in text and "■ röd" in text and "▲ gul" in text
    assert "↗ bättre" in text
    assert "(Källa: Kolada)" in text


def test_a_goal_page_shows_indicators_and_the_decisions_behind_it(stack: Stack) -> None:
    response = stack.client().get(f"/mal/{SCHOOL_GOAL}?ar=2025")
    assert response.status_code == 200
    text = html_of(response).all_text()
    assert "Alla elever når kunskapskraven i grundskolan" in text
    assert "Barn- och utbildningsnämnden" in text
    assert "målet antogs" in text and "2023-02-15" in text and "BUN §14" in text
    assert "89,1 %" in text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/mal/goal-00000000-0000-0000-0000-000000000000", 404),
        ("/mal/plan-1", 404),
        ("/?ar=20x5", 400),
        ("/?ar=\uff12\uff10\uff12\uff15", 400),
    ],
)
def test_bad_public_addresses_are_friendly_pages(stack: Stack, path: str, status: int) -> None:
    response = stack.client().get(path)
    assert response.status_code == status
    page = html_of(response)
    assert page.count("h1") == 1
    assert f"Felkod {status}" in page.all_text()


def test_public_pages_show_no_drafts_and_no_key_ids(stack: Stack) -> None:
    admin = stack.key("admin")
    client = stack.client()
    drafted = client.post(
        "/api/v1/goals",
        json={
            "level": "strategic",
            "owner_unit_id": COUNCIL,
            "period": "2023-2026",
            "title": "Hemligt utkast om parkering",
            "development_area_id": seed_id("area-", "livsmiljo"),
        },
        headers=bearer(admin),
    )
    assert drafted.status_code == 201, drafted.get_json()
    draft_id = drafted.get_json()["id"]
    for path in ("/", "/?ar=2025", f"/mal/{SCHOOL_GOAL}"):
        body = client.get(path).get_data(as_text=True)
        assert "Hemligt utkast" not in body
        assert "key:" not in body and "system:seed" not in body
    assert client.get(f"/mal/{draft_id}").status_code == 404
