"""The gateway's web pages against the real goals, plans and reports apps on the real
PostgreSQL (reached through `Upstreams` with WSGI transports, as in test_gateway_keys.py):
each page answers 200 with what it should show; the public pages show no drafts, no employee
agreements and no key ids; reviewer login, logout, CSRF refusal, the session cookie's flags and
a revoked key's session; the as-of picker and the timeline and diff.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

import pytest

from services.gateway import key_commands
from services.goals.seed import seed_id
from services.reports import kolada_comparisons
from services.reports import seed as reports_seed
from services.reports.domain.comparison import Found
from shared.config import Config
from shared.envelope import ReceivedEvent
from shared.events import Metadata
from shared.runtime import Runtime
from tests.gateway_support import CLI_ACTOR, Stack, bearer, id_of, make_stack
from tests.support import connect, feed_seeded_goals

COUNCIL = seed_id("org-unit-", "kf")
SCHOOL_GOAL = "goal-80331367-4b88-585a-ae55-c378d881cd25"  # Alla elever når kunskapskraven …
SCHOOL_INDICATOR = "indicator-3428575d-f611-56ef-a6dc-a7274f4edc28"
KOLADA = Metadata(actor="system:kolada-test", correlation_id="web-kolada")


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
    # Kolada's figures of the comparison municipalities for the school indicator (N15419)
    found = [
        Found("N15419", code, year, value)
        for code, values in {"1494": (82.0, 84.0), "1495": (80.0, 81.5)}.items()
        for year, value in zip((2024, 2025), values, strict=True)
    ]
    kolada_comparisons.record(reports, KOLADA, found, kolada_comparisons.ComparisonCounts())
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
    # the comparison municipalities' mean of 2025 (84 and 81,5), named by its source
    assert "82,75 % (Källa: Kolada)" in text
    # no script may run, nothing is loaded from elsewhere, no framing
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.count("script") == 0
    css = stack.client().get("/static/web/web.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    sheet = css.get_data(as_text=True)
    assert "@media print" in sheet and ":focus-visible" in sheet and "@media (max-width" in sheet


def test_a_goal_page_shows_indicators_and_the_decisions_behind_it(stack: Stack) -> None:
    response = stack.client().get(f"/mal/{SCHOOL_GOAL}?ar=2025")
    assert response.status_code == 200
    text = html_of(response).all_text()
    assert "Alla elever når kunskapskraven i grundskolan" in text
    assert "Barn- och utbildningsnämnden" in text
    assert "målet antogs" in text and "2023-02-15" in text and "BUN §14" in text
    assert "89,1 %" in text
    # the chart (an image with a title and a description) and its data table
    assert '<svg class="goal-chart"' in response.get_data(as_text=True)
    assert 'role="img"' in response.get_data(as_text=True)
    assert "Diagrammets siffror" in text and "utfall 86,2" in text and "målvärde 88" in text
    # the comparison municipalities, with their source
    assert "Jämförelsekommuner: Elever i åk 9 behöriga till gymnasiets yrkesprogram" in text
    assert "Lidköping" in text and "84 %" in text and "81,5 %" in text
    assert "Källa: Kolada" in text


def test_without_reports_the_dashboard_still_shows_the_goals(
    make_runtime: Callable[..., Runtime], make_config: Callable[..., Config]
) -> None:
    built = make_stack(make_runtime, make_config, urls={"reports": "http://127.0.0.1:9"})
    feed_seeded_goals(built.runtimes["goals"], built.runtimes["plans"])
    client = built.client()
    page = client.get("/?ar=2025")
    assert page.status_code == 200
    text = html_of(page).all_text()
    assert "Alla elever når kunskapskraven i grundskolan" in text
    assert "Resultaten kan inte visas just nu" in text
    goal = client.get(f"/mal/{SCHOOL_GOAL}")
    assert goal.status_code == 503
    assert "Tjänsten reports svarar inte" in html_of(goal).all_text()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/mal/goal-00000000-0000-0000-0000-000000000000", 404),
        ("/mal/plan-1", 404),
        ("/?ar=20x5", 400),
        ("/mal/", 404),
        (f"/mal/{SCHOOL_GOAL}/extra", 404),
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
    # an employee agreement on the school's plan, naming an employee by an HR reference
    plans = client.get(
        f"/api/v1/plans?unit_id={seed_id('org-unit-', 'hasslerud')}", headers=bearer(admin)
    ).get_json()["items"]
    plan_id = plans[0]["id"]
    activity = client.get(f"/api/v1/plans/{plan_id}/activities", headers=bearer(admin))
    agreed = client.post(
        f"/api/v1/plans/{plan_id}/agreements",
        json={
            "employee_ref": "HR-4711",
            "activity_ids": [activity.get_json()["items"][0]["id"]],
            "agreed_on": "2026-01-20",
        },
        headers=bearer(admin),
    )
    assert agreed.status_code == 201, agreed.get_json()
    for path in ("/", "/?ar=2025", "/?ar=2026", f"/mal/{SCHOOL_GOAL}"):
        body = client.get(path).get_data(as_text=True)
        assert "Hemligt utkast" not in body and "HR-4711" not in body
        assert "key:" not in body and "system:seed" not in body
        assert id_of(admin) not in body
    assert client.get(f"/mal/{draft_id}").status_code == 404


# -- reviewer pages ------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response: Any) -> str:
    found = CSRF.search(response.get_data(as_text=True))
    assert found, "the page has no form token"
    return found.group(1)


def log_in(client: Any, key: str, next_page: str = "") -> Any:
    """Log in through the form, as a browser does: GET the form, POST it with its token."""
    form = client.get("/review/logga-in")
    assert form.status_code == 200
    return client.post(
        "/review/logga-in",
        data={"key": key, "csrf_token": csrf_of(form), "next": next_page},
    )


def test_reviewer_pages_need_a_login_and_logout_ends_the_session(stack: Stack) -> None:
    client = stack.client()
    first = client.get("/review/styrkort?ar=2025")
    assert first.status_code == 303
    assert first.headers["Location"].startswith("/review/logga-in?next=")

    wrong = log_in(client, "sk_0000000000000000000a_" + "x" * 43)
    assert wrong.status_code == 401 and "Nyckeln gäller inte" in wrong.get_data(as_text=True)
    assert client.get("/review/").status_code == 303

    done = log_in(client, stack.key("reader"), "/review/styrkort?ar=2025")
    assert done.status_code == 303 and done.headers["Location"] == "/review/styrkort?ar=2025"
    page = client.get("/review/styrkort?ar=2025")
    assert page.status_code == 200
    assert "Styrkort 2025: Kommunfullmäktige" in html_of(page).all_text()
    assert page.headers["Cache-Control"] == "no-store"

    # an address elsewhere is never where a login leads
    client2 = stack.client()
    away = log_in(client2, stack.key("reader"), "//evil.example/review/")
    assert away.headers["Location"] == "/review/"

    start = client.get("/review/")
    out = client.post("/review/logga-ut", data={"csrf_token": csrf_of(start)})
    assert out.status_code == 303
    assert client.get("/review/styrkort").status_code == 303


def test_a_post_without_the_form_token_is_refused_and_changes_nothing(stack: Stack) -> None:
    client = stack.client()
    key = stack.key("reader")
    refused = client.post("/review/logga-in", data={"key": key})
    assert refused.status_code == 400
    assert "kontrollkod" in html_of(refused).all_text()
    assert client.get("/review/").status_code == 303, "no session was started"

    assert log_in(client, key).status_code == 303
    forged = client.post("/review/logga-ut", data={"csrf_token": "x" * 43})
    assert forged.status_code == 400
    assert client.get("/review/").status_code == 200, "still logged in"


def test_the_session_cookie_is_httponly_samesite_secure_and_holds_no_secret(
    stack: Stack,
) -> None:
    key = stack.key("reader")
    client = stack.client()
    response = log_in(client, key)
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie.startswith("styrkort_session=")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "samesite"} <= flags
    assert "SameSite=Lax" in cookie and "Path=/review" in cookie
    secret = key.split("_", 2)[2]
    value = cookie.split(";")[0].split("=", 1)[1]
    payload = value.split(".")[0] if not value.startswith(".") else value.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        raw = zlib.decompress(raw)
    assert secret not in raw.decode() and key not in raw.decode()
    # the public pages set no cookie
    assert "Set-Cookie" not in stack.client().get("/").headers


def test_a_revoked_keys_session_ends_at_its_next_request(stack: Stack) -> None:
    key = stack.key("auditor")
    client = stack.client()
    assert log_in(client, key).status_code == 303
    assert client.get("/review/granskning").status_code == 200
    key_commands.revoke(stack.runtime, CLI_ACTOR, id_of(key))
    ended = client.get("/review/granskning")
    assert ended.status_code == 303 and ended.headers["Location"].startswith("/review/logga-in")
    assert client.get("/review/").status_code == 303, "the session was cleared"


def test_the_audit_page_runs_verify_for_auditors_and_is_403_for_readers(stack: Stack) -> None:
    auditor = stack.client()
    log_in(auditor, stack.key("auditor"))
    page = auditor.get("/review/granskning")
    assert page.status_code == 200
    text = html_of(page).all_text()
    assert text.count("kedjan är obruten") == 3 and "Alla kedjor är obrutna" in text
    assert "position" in text

    # an event of goals altered behind the store's back: the page names where the chain breaks
    with connect(stack.runtimes["goals"]) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("""UPDATE events SET data = '{"n": 999}' WHERE position = 3""")
    broken = html_of(auditor.get("/review/granskning")).all_text()
    assert "kedjan är bruten vid position 3" in broken
    assert broken.count("kedjan är obruten") == 2
    assert "Minst en kedja är bruten" in broken

    reader = stack.client()
    log_in(reader, stack.key("reader"))
    refused = reader.get("/review/granskning")
    assert refused.status_code == 403
    assert "Du saknar behörighet" in html_of(refused).all_text()


def test_every_reviewer_page_answers_with_its_content(stack: Stack) -> None:
    client = stack.client()
    log_in(client, stack.key("reader"))
    school = seed_id("org-unit-", "hasslerud")
    plans = client.get(f"/review/planer?enhet={school}")
    assert plans.status_code == 200 and "Handlingsplan 2026" in html_of(plans).all_text()
    plan_id = re.search(r'href="/review/planer/(plan-[^"]+)"', plans.get_data(as_text=True))
    assert plan_id
    plan = client.get(f"/review/planer/{plan_id.group(1)}")
    assert plan.status_code == 200
    plan_text = html_of(plan).all_text()
    assert "PDCA-fas" in plan_text and "planera" in plan_text
    # the quality report's improvement proposal became an activity of the school's plan
    assert "Inför rastvärdar och aktiva raster i åk 4-6" in plan_text
    assert "(från ett förbättringsförslag)" in plan_text

    reports = client.get("/review/kvalitetsrapporter")
    assert reports.status_code == 200 and "Hasslerudskolan" in html_of(reports).all_text()
    report_id = re.search(
        r'href="/review/kvalitetsrapporter/(report-[^"]+)"', reports.get_data(as_text=True)
    )
    assert report_id
    report = client.get(f"/review/kvalitetsrapporter/{report_id.group(1)}")
    assert report.status_code == 200 and "Studiero i matematik" in html_of(report).all_text()

    late = client.get("/review/forsenat")
    assert late.status_code == 200
    assert "Kvalitetsredovisning 2025" in html_of(late).all_text()

    annual = client.get("/review/arsredovisning/2025")
    assert annual.status_code == 200 and annual.mimetype == "text/html"
    assert "Alla elever når kunskapskraven i grundskolan" in annual.get_data(as_text=True)
    pdf = client.get("/review/arsredovisning/2025/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    interim = client.get("/review/delarsrapport/2025")
    assert interim.status_code == 200 and interim.mimetype == "text/html"
    links = client.get("/review/rapporter?ar=2025")
    assert "/review/arsredovisning/2025/pdf" in links.get_data(as_text=True)


def test_the_timeline_shows_who_when_and_on_whose_decision(stack: Stack) -> None:
    client = stack.client()
    log_in(client, stack.key("reader"))
    page = client.get(f"/review/historik/{SCHOOL_GOAL}")
    assert page.status_code == 200
    text = html_of(page).all_text()
    assert "målet skrevs som utkast" in text and "målet antogs" in text
    assert "system:seed" in text and "BUN §14" in text and "2023-02-15" in text
    assert "Barn- och utbildningsnämnden" in text
    for path in ("/review/historik/nothing-1", "/review/historik/goal-0", "/review/nothing"):
        missing = client.get(path)
        assert missing.status_code == 404 and "Felkod 404" in html_of(missing).all_text()


def test_the_as_of_picker_shows_the_value_before_a_correction_and_the_diff(
    stack: Stack,
) -> None:
    admin = stack.key("admin")
    api = stack.client()
    found = api.get(
        f"/api/v1/results?indicator_id={SCHOOL_INDICATOR}&period=2025", headers=bearer(admin)
    ).get_json()["items"]
    result_id = found[0]["id"]
    before = api.get(f"/api/v1/results/{result_id}", headers=bearer(admin))
    corrected = api.post(
        f"/api/v1/results/{result_id}/correct",
        json={"value": 91.5, "women": 92.0, "men": 91.0, "reason": "SCB rättade underlaget"},
        headers=bearer(admin, **{"If-Match": before.headers["ETag"]}),
    )
    assert corrected.status_code == 200, corrected.get_json()

    client = stack.client()
    log_in(client, stack.key("reader"))
    now = html_of(client.get("/review/styrkort?ar=2025")).all_text()
    assert "91,5 %" in now and "89,1 %" not in now

    timeline = client.get(f"/review/historik/{result_id}")
    text = html_of(timeline).all_text()
    assert "utfall registrerades" in text and "utfallet rättades" in text
    recorded = re.findall(r"as_of=([^\"&]+)", timeline.get_data(as_text=True))
    assert len(recorded) == 2
    first = unquote(recorded[0])
    then = client.get("/review/styrkort", query_string={"ar": "2025", "as_of": first})
    assert then.status_code == 200
    old = html_of(then).all_text()
    assert "89,1 %" in old and "91,5 %" not in old
    assert "Du ser styrkortet vid tidpunkten" in old

    diff = client.get(
        f"/review/skillnad/{result_id}", query_string={"fran": first, "till": unquote(recorded[1])}
    )
    assert diff.status_code == 200
    rows = html_of(diff).all_text()
    assert "value 89,1 91,5 ändrat" in rows and "corrections 0 1 ändrat" in rows

    # a day before anything was recorded: the result did not exist yet
    earlier = client.get(
        f"/review/skillnad/{result_id}", query_string={"fran": "2020-01-01", "till": first}
    )
    assert earlier.status_code == 200 and "Posten fanns inte än vid A" in earlier.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "as_of", ["2025-02-30", "2025-03-31\n", "\u0662\u0660\u0662\u0665-03-31", "2025-3-31", "igår"]
)
def test_hostile_dates_are_a_friendly_400_page(stack: Stack, as_of: str) -> None:
    client = stack.client()
    log_in(client, stack.key("reader"))
    for path in ("/review/styrkort", f"/review/historik/{SCHOOL_GOAL}"):
        response = client.get(path, query_string={"as_of": as_of})
        assert response.status_code == 400
        page = html_of(response)
        assert page.count("h1") == 1 and "Felkod 400" in page.all_text()


def test_a_unit_scoped_reviewer_starts_at_its_own_unit(stack: Stack) -> None:
    school = seed_id("org-unit-", "hasslerud")
    client = stack.client()
    log_in(client, stack.key("reader", scope=school))
    page = client.get("/review/styrkort?ar=2025")
    assert page.status_code == 200
    assert "Styrkort 2025: Hasslerudskolan" in "".join(html_of(page).h1)
    unknown = client.get("/review/styrkort?enhet=org-unit-nothing")
    assert unknown.status_code == 404


HOSTILE_PAGES = [
    "/review/historik/goal-%0A",
    "/review/historik/" + "goal-" + "x" * 500,
    "/review/historik/key-abc",
    "/review/skillnad/goal-1?fran=2025-01-01&till=2025-02-30",
    "/review/skillnad/nothing-1?fran=2025-01-01&till=2025-02-01",
    f"/review/skillnad/{SCHOOL_GOAL}?fran=2025-01-01&till=9999-12-31",
    "/review/styrkort?ar=1066",
    "/review/styrkort?enhet=%00",
    "/review/planer?enhet=%27%3B--",
    "/review/planer/plan-%2F..%2F",
    "/review/kvalitetsrapporter/report-x",
    "/review/arsredovisning/1800",
    "/review/arsredovisning/2101",
    "/review/delarsrapport/2025?as_of=2024-08-31",
    "/review/forsenat?as_of=2025-13-01",
    "/mal/goal-%00",
    "/?ar=-2025",
]


def test_hostile_addresses_are_friendly_pages_never_a_500(stack: Stack) -> None:
    client = stack.client()
    log_in(client, stack.key("admin"))
    for path in HOSTILE_PAGES:
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        page = html_of(response)
        assert page.count("h1") == 1 and "Felkod" in page.all_text(), path
