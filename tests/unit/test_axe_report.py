"""The browser tests' report of axe violations (tests/browser/conftest.py) names what to fix
where: the rule, its impact and help, and each node's selector, HTML and failure summary."""

from __future__ import annotations

from tests.browser.conftest import axe_report


def test_each_violation_names_its_rule_and_every_node() -> None:
    violations = [
        {
            "id": "color-contrast",
            "impact": "serious",
            "help": "Elements must meet minimum color contrast ratio thresholds",
            "helpUrl": "https://example.invalid/color-contrast",
            "nodes": [
                {
                    "target": [".light-yellow"],
                    "html": '<span class="light light-yellow">gul</span>',
                    "failureSummary": "Fix any of the following:\n  contrast of 2.1",
                },
                {"target": ["main", "p.meta"], "html": "<p class=meta>x</p>"},
            ],
        },
        {
            "id": "label",
            "impact": "critical",
            "help": "Form elements must have labels",
            "helpUrl": "u",
            "nodes": [{"target": ["#as_of"], "html": "<input id=as_of>"}],
        },
    ]
    text = axe_report(violations)
    lines = text.splitlines()
    assert lines[0] == "2 axe violation(s) of WCAG 2.1 AA:"
    assert "- color-contrast (serious): Elements must meet minimum color contrast" in text
    assert '    at .light-yellow: <span class="light light-yellow">gul</span>' in lines
    assert "      Fix any of the following:" in lines and "        contrast of 2.1" in lines
    assert "    at main p.meta: <p class=meta>x</p>" in lines
    assert "- label (critical): Form elements must have labels <u>" in lines
    assert "    at #as_of: <input id=as_of>" in lines
