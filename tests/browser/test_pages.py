"""The web pages in a real Chromium (issue #12, "Show it"): the public dashboard and a goal page,
a reviewer's login with a key made through the gateway's key API, the as-of picker moved back
before a correction showing the old value, a timeline and a diff, the annual report, the audit
page; axe-core (WCAG 2.1 A and AA) on every page with no violation; the main flow by keyboard
alone with the focus visible; traffic lights that carry words, not colour alone.

The system is the dev stack with its demo seed and one correction (conftest.py): Socialnämnden's
goal "Äldre känner sig trygga i sitt boende" has the safety indicator whose 2025 result 78,5 %
was corrected to 81,5 %. Every page opened is screenshotted to test-artifacts/screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import CORRECTED_GOAL, Web

ELDERLY_GOAL = "Äldre känner sig trygga i sitt boende"
SAFETY_INDICATOR = "Brukare i särskilt boende som känner sig trygga"
#: the words a traffic light may carry (services/gateway/web/views.py), beside its shape
LIGHT_WORDS = re.compile(
    r"(grön|gul|röd|ingen data|uppfyllt|delvis uppfyllt|ej uppfyllt|kan inte bedömas)", re.I
)


def figure(value: float) -> str:
    """A figure as the pages write it: decimal comma, then the unit."""
    return f"{value:g}".replace(".", ",") + " %"


def lights_carry_words(page: Page) -> int:
    """Every traffic light on the page has a word in its text, not only a colour and a shape;
    returns how many there are."""
    lights = page.locator(".light")
    count = lights.count()
    for index in range(count):
        text = lights.nth(index).inner_text()
        assert LIGHT_WORDS.search(text), f"a traffic light without a word: {text!r}"
    return count


def focus_is_visible(page: Page) -> bool:
    """The focused element draws an outline or a ring (WCAG 2.4.7), as its computed style says."""
    return bool(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return false;
                const style = getComputedStyle(el);
                const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
                return outline || style.boxShadow !== 'none';
            }"""
        )
    )


def focused_text(page: Page) -> str:
    return str(page.evaluate("() => (document.activeElement?.textContent || '').trim()"))


# -- public ------------------------------------------------------------------------------------


def test_the_public_dashboard_and_a_goal_page(web: Web) -> None:
    page = web.page
    web.open("/", "dashboard")
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_role("link", name=ELDERLY_GOAL)).to_be_visible()
    assert "Källa: Kolada" in page.content()
    assert lights_carry_words(page) >= 4
    assert "key:" not in page.content() and "utkast" not in page.inner_text("main").lower()

    page.get_by_role("link", name=ELDERLY_GOAL).click()
    page.wait_for_url(f"**/mal/{CORRECTED_GOAL}*")
    web.checked("mal")
    expect(page.locator("h1")).to_have_text(ELDERLY_GOAL)
    row = page.get_by_role("row").filter(has_text=SAFETY_INDICATOR).first
    expect(row).to_contain_text(figure(web.system.correction.new_value))
    assert lights_carry_words(page) >= 1
    expect(page.get_by_role("table").filter(has_text="Protokoll")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Socialnämnden")
