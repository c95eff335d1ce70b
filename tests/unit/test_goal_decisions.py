"""Who decides, when, and the values decisions are made of (issue #7), in the goals domain.

No I/O: the facts a handler reads (today, the owner's ancestry, sibling names, the plan's type)
are passed in, as the handlers do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from services.goals.domain import areas as areas_mod
from services.goals.domain import goal as goal_mod
from services.goals.domain import indicator as indicator_mod
from services.goals.domain.areas import DevelopmentArea
from services.goals.domain.decisions import Decider, Decision
from services.goals.domain.documents import Content, SteeringDocument
from services.goals.domain.goal import (
    Goal,
    GoalContent,
    Lineage,
    MandatePeriod,
    Placement,
    UnitFacts,
)
from services.goals.domain.indicator import Baseline, DataSource, Definition, Indicator, Thresholds
from services.goals.events import registries, upcasters
from shared.asyncapi import asyncapi_document
from shared.errors import InvalidInput, RuleViolation, StyrkortError
from shared.events import RecordedEvent

TODAY = dt.date(2026, 11, 24)  # what values.today() gave the handler
COUNCIL = UnitFacts("kf", "council", "Kommunfullmäktige")
BUN = UnitFacts("bun", "committee", "Barn- och utbildningsnämnden")
KF = Decider.of_unit("kf", "council", "Kommunfullmäktige")
KS = Decider.of_unit("ks", "executive_board", "Kommunstyrelsen")
BUN_BOARD = Decider.of_unit("bun", "committee", "Barn- och utbildningsnämnden")
SON_BOARD = Decider.of_unit("son", "committee", "Socialnämnden")
BOLAG = Decider.of_unit("bolag", "company", "Götene Bostäder AB")
BOU_MANAGER = Decider.of_unit("bou", "sector", "Sektor barn och utbildning")
CHIEF = Decider.of_role("chief_executive")
BY_KF = Decision("kf", dt.date(2023, 2, 20), "KF 2023-02-20 §12")
BY_BUN = Decision("bun", dt.date(2023, 3, 1), "BUN 2023-03-01 §9")
BY_SON = Decision("son", dt.date(2023, 3, 1), "SON §9")
DEFINITION = Definition(
    "Elever behöriga till gymnasiet", "%", "higher_is_better", DataSource("kolada", "N15419")
)


def fields_of(raised: pytest.ExceptionInfo[StyrkortError]) -> set[str]:
    return set(raised.value.fields)


def strategic(goal_id: str = "goal-s", period: str = "2023-2026") -> Goal:
    draft = Goal.draft(
        goal_id,
        "strategic",
        COUNCIL,
        period,
        GoalContent("Trygg uppväxt"),
        Placement(development_area_id="area-1"),
    )
    state = goal_mod.KIND.fold_new(draft)
    first = int(period[:4])
    decision = Decision("kf", dt.date(first, 2, 20), f"KF {first}-02-20 §12")
    return state.when(state.adopt(decision, KF, today=dt.date(2100, 1, 1))[0])


STRATEGIC = strategic()


def operational() -> Goal:
    draft = Goal.draft(
        "goal-o",
        "operational",
        BUN,
        "2023-2026",
        GoalContent("Alla elever når målen"),
        Placement(derived_from=("goal-s",)),
        sources=[STRATEGIC],
    )
    state = goal_mod.KIND.fold_new(draft)
    return state.when(state.adopt(BY_BUN, BUN_BOARD, [STRATEGIC], today=TODAY)[0])


OPERATIONAL = operational()


def define(
    goal: Goal = STRATEGIC,
    decision: Decision = BY_KF,
    decider: Decider = KF,
    definition: Definition = DEFINITION,
    **kw: Any,
) -> list[Any]:
    return Indicator.define("indicator-1", goal, definition, decision, decider, today=TODAY, **kw)


INDICATOR = indicator_mod.KIND.fold_new(define())


def area(**kw: Any) -> list[Any]:
    args: dict[str, Any] = {
        "plan_id": None,
        "plan_type": None,
        "decision": BY_KF,
        "decider": KF,
        **kw,
    }
    return DevelopmentArea.define(
        "area-1",
        "Ökad rörlighet",
        "",
        args["plan_id"],
        args["plan_type"],
        args["decision"],
        args["decider"],
        today=TODAY,
    )


AREA = areas_mod.KIND.fold_new(area())


def document(doc_type: str, owner: str, on: dt.date = dt.date(2026, 1, 1)) -> SteeringDocument:
    return SteeringDocument.start(
        SteeringDocument.draft(f"document-{doc_type}", doc_type, owner, Content("Text", "", on))[0]
    )


#: ancestry of each unit as queries.ancestry gives it: itself first, up to the council
ANCESTRY = {
    "kf": ("kf",),
    "ks": ("ks", "kf"),
    "bun": ("bun", "kf"),
    "son": ("son", "kf"),
    "bou": ("bou", "bun", "kf"),
}


# -- 1. decisions on indicators, development areas and evaluations --------------------------------


def test_indicator_events_carry_the_decision() -> None:
    events = define(targets={"2025": 80, "2026": 85}, thresholds=Thresholds(85, 75))
    assert [type(e).__name__ for e in events] == [
        "Defined",
        "TargetSet",
        "TargetSet",
        "ThresholdsSet",
    ]
    assert {(e.decided_by, e.decided_on, e.minute_ref) for e in events} == {
        ("kf", dt.date(2023, 2, 20), "KF 2023-02-20 §12")
    }
    retired = INDICATOR.retire("Mäts inte längre", STRATEGIC, BY_KF, KF, today=TODAY)
    assert retired[0].decided_by == "kf"  # type: ignore[attr-defined]


def test_indicators_of_a_strategic_goal_are_decided_by_the_council() -> None:
    with pytest.raises(RuleViolation, match="may not") as raised:
        define(STRATEGIC, BY_BUN, BUN_BOARD)
    assert fields_of(raised) == {"decided_by"}
    with pytest.raises(RuleViolation, match="may not"):
        INDICATOR.set_target(2026, 90, STRATEGIC, BY_BUN, BUN_BOARD, today=TODAY)
    with pytest.raises(RuleViolation, match="may not"):
        INDICATOR.set_thresholds(Thresholds(90, 80), STRATEGIC, BY_BUN, BUN_BOARD, today=TODAY)
    with pytest.raises(RuleViolation, match="may not"):
        INDICATOR.retire("x", STRATEGIC, BY_BUN, BUN_BOARD, today=TODAY)


def test_indicators_of_an_operational_goal_are_decided_by_the_owning_committee() -> None:
    assert define(OPERATIONAL, BY_BUN, BUN_BOARD)
    with pytest.raises(RuleViolation, match="owns it") as raised:
        define(OPERATIONAL, BY_SON, SON_BOARD)
    assert raised.value.fields == {"decided_by": ["not the owning body"]}
    with pytest.raises(RuleViolation, match="may not"):
        define(OPERATIONAL, BY_KF, KF)


def test_a_political_decision_needs_its_minute_reference() -> None:
    unminuted = Decision("kf", dt.date(2023, 2, 20), "  ")
    for attempt in (
        lambda: define(decision=unminuted),
        lambda: area(decision=unminuted),
        lambda: STRATEGIC.retire("x", unminuted, KF, today=TODAY),
    ):
        with pytest.raises(InvalidInput) as raised:
            attempt()
        assert fields_of(raised) == {"minute_ref"}
    with pytest.raises(InvalidInput, match="control character"):
        define(decision=Decision("kf", dt.date(2023, 2, 20), "KF §1\n§2"))


def test_development_areas_are_defined_and_retired_by_the_council() -> None:
    assert AREA.defined_on == BY_KF.decided_on
    with pytest.raises(RuleViolation, match="council"):
        area(decision=BY_BUN, decider=BUN_BOARD)
    with pytest.raises(RuleViolation, match="council"):
        AREA.retire("Ny plan", BY_BUN, BUN_BOARD, today=TODAY)
    [retired] = AREA.retire("Ny plan", Decision("kf", TODAY, "KF §3"), KF, today=TODAY)
    assert retired.decided_by == "kf"  # type: ignore[attr-defined]


def test_an_evaluation_is_decided_by_the_body_that_adopts_the_goal() -> None:
    on = dt.date(2026, 11, 1)
    with pytest.raises(RuleViolation, match="may not"):
        STRATEGIC.evaluate("met", "Uppnått", on, BY_BUN, BUN_BOARD, today=TODAY)
    with pytest.raises(RuleViolation, match="owns it"):
        OPERATIONAL.evaluate("met", "Uppnått", on, BY_SON, SON_BOARD, today=TODAY)
    [event] = STRATEGIC.evaluate("met", "Uppnått\nSe bilaga", on, BY_KF, KF, today=TODAY)
    assert (event.decided_by, event.minute_ref) == ("kf", "KF 2023-02-20 §12")  # type: ignore[attr-defined]


def old_event(event_type: str, data: dict[str, Any], version: int = 1) -> RecordedEvent:
    return RecordedEvent(
        1,
        "indicator-1",
        "indicator",
        version,
        uuid.uuid4(),
        event_type,
        data,
        {},
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "0" * 64,
        "0" * 64,
    )


def test_v1_events_are_upcast_to_v2_with_no_decision() -> None:
    v1 = {k: v for k, v in define()[0].as_data().items() if not k.startswith(("decided", "minute"))}
    upcast = upcasters().upcast(old_event("IndicatorDefined.v1", v1))
    assert upcast.event_type == "IndicatorDefined.v2"
    state = indicator_mod.KIND.fold_new(indicator_mod.EVENTS.decode_all([upcast]))
    assert state.defined_on is None and state.definition.name == DEFINITION.name
    # with no adoption date known, a retirement is only checked against today
    assert state.retire(
        "x", STRATEGIC, Decision("kf", dt.date(2000, 1, 1), "KF §1"), KF, today=TODAY
    )
    for name in (
        "GoalEvaluated",
        "IndicatorTargetSet",
        "IndicatorThresholdsSet",
        "IndicatorRetired",
    ):
        assert upcasters().upcast(old_event(f"{name}.v1", {})).event_type == f"{name}.v2"
    for name in ("DevelopmentAreaDefined", "DevelopmentAreaRetired"):
        assert upcasters().upcast(old_event(f"{name}.v1", {})).data["decided_on"] is None
    assert upcasters().upcast(old_event("GoalAdopted.v1", {})).event_type == "GoalAdopted.v1"


def test_a_goal_is_carried_forward_by_an_event_on_the_predecessor() -> None:
    old = strategic("goal-old", "2019-2022")
    [event] = old.carry_forward("goal-new", "continues")
    followed = old.when(event)
    assert [(s.goal_id, s.relation) for s in followed.successors] == [("goal-new", "continues")]


def test_lineage_names_each_predecessor_once() -> None:
    old = strategic("goal-old", "2019-2022")
    [drafted] = Goal.draft(
        "goal-new",
        "strategic",
        COUNCIL,
        "2023-2026",
        GoalContent("Trygg"),
        Placement(development_area_id="area-1"),
        lineage=Lineage("continues", ("goal-old", "goal-old")),
        predecessors=[old],
    )
    assert drafted.lineage == Lineage("continues", ("goal-old",))  # type: ignore[attr-defined]


# -- 3. values parsed once, strictly --------------------------------------------------------------


@pytest.mark.parametrize(
    "period",
    [
        "2023-2026\n",
        "\u0662\u0660\u0662\u0663-\u0662\u0660\u0662\u0666",
        "\uff12\uff10\uff12\uff13-\uff12\uff10\uff12\uff16",
        " 2023-2026",
        "2023\u20132026",
    ],
)
def test_mandate_period_refuses_unicode_digits_and_trailing_newline(period: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        MandatePeriod.parse(period)
    assert fields_of(raised) == {"period"}


def test_mandate_period_years_are_plausible() -> None:
    with pytest.raises(InvalidInput, match="outside the years"):
        MandatePeriod.parse("1066-1069")
    assert MandatePeriod.parse("2027-2030") == MandatePeriod(2027, 2030)


@pytest.mark.parametrize("year", [2027.5, 2027.0, "2027", True, 1066])
def test_a_target_year_is_an_integer_year(year: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        INDICATOR.set_target(year, 80, STRATEGIC, BY_KF, KF, today=TODAY)
    assert fields_of(raised) == {"year"}


@pytest.mark.parametrize(
    "key", ["\uff12\uff10\uff12\uff17", "2027\n", "27", "2027.0", "\u0662\u0660\u0662\u0665"]
)
def test_target_keys_of_a_new_indicator_are_four_ascii_digits(key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        define(targets={key: 80})
    assert fields_of(raised) == {"targets"}


def test_target_keys_outside_the_mandate_period_are_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        define(targets={"2030": 80})
    assert raised.value.fields == {"year": ["outside the mandate period"]}


@pytest.mark.parametrize("value", ["8.0", None, True, float("nan"), float("inf")])
def test_target_values_thresholds_and_baselines_are_numbers(value: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        INDICATOR.set_target(2026, value, STRATEGIC, BY_KF, KF, today=TODAY)
    assert fields_of(raised) == {"value"}
    with pytest.raises(InvalidInput) as raised:
        INDICATOR.set_thresholds(Thresholds(value, 70), STRATEGIC, BY_KF, KF, today=TODAY)
    assert fields_of(raised) == {"thresholds.green"}
    with pytest.raises(InvalidInput) as raised:
        define(definition=dataclasses.replace(DEFINITION, baseline=Baseline(value, 2022)))
    assert fields_of(raised) == {"baseline.value"}


def test_a_baseline_year_is_a_plausible_year() -> None:
    with pytest.raises(InvalidInput) as raised:
        define(definition=dataclasses.replace(DEFINITION, baseline=Baseline(80, 22)))
    assert fields_of(raised) == {"baseline.year"}


@pytest.mark.parametrize(
    "day", [dt.date(2026, 11, 25), dt.date(2030, 12, 31), dt.date(2200, 12, 31)]
)
def test_a_decision_dated_in_the_future_is_refused(day: dt.date) -> None:
    kf = Decision("kf", day, "KF §1")
    draft = goal_mod.KIND.fold_new(
        Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2027-2030",
            GoalContent("x"),
            Placement(development_area_id="a"),
        )
    )
    attempts = [
        lambda: draft.adopt(kf, KF, today=TODAY),
        lambda: STRATEGIC.retire("x", kf, KF, today=TODAY),
        lambda: define(decision=kf),
        lambda: INDICATOR.set_target(2026, 9, STRATEGIC, kf, KF, today=TODAY),
        lambda: area(decision=kf),
        lambda: document("vision", "kf").adopt(kf, KF, ANCESTRY["kf"], today=TODAY),
        lambda: STRATEGIC.evaluate("met", "x", dt.date(2026, 11, 1), kf, KF, today=TODAY),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput, match="in the future") as raised:
            attempt()
        assert raised.value.fields == {"decided_on": ["in the future"]}


def test_a_decision_of_today_is_taken() -> None:
    assert define(decision=Decision("kf", TODAY, "KF §1"))


def test_an_evaluation_dated_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        STRATEGIC.evaluate("met", "x", dt.date(2026, 12, 1), BY_KF, KF, today=TODAY)
    assert raised.value.fields == {"evaluated_on": ["in the future"]}


def test_a_retirement_dated_before_the_adoption_is_refused() -> None:
    early = Decision("kf", dt.date(2023, 1, 5), "KF §1")
    with pytest.raises(InvalidInput, match="predate the adoption") as raised:
        STRATEGIC.retire("Ersatt", early, KF, today=TODAY)
    assert fields_of(raised) == {"decided_on"}
    defined = Indicator.start(define(decision=Decision("kf", dt.date(2024, 1, 1), "KF §2"))[0])
    with pytest.raises(InvalidInput, match="predate"):
        defined.retire("x", STRATEGIC, early, KF, today=TODAY)
    with pytest.raises(InvalidInput, match="predate"):
        AREA.retire("x", Decision("kf", dt.date(2020, 1, 1), "KF §1"), KF, today=TODAY)
    assert STRATEGIC.retire("Ersatt", BY_KF, KF, today=TODAY), "the same day is not before"


def test_a_revision_dated_before_the_adoption_is_refused() -> None:
    early = Decision("kf", dt.date(2023, 1, 5), "KF §1")
    with pytest.raises(InvalidInput, match="predate"):
        STRATEGIC.revise(STRATEGIC.content, STRATEGIC.placement, early, KF, COUNCIL, today=TODAY)


def test_a_repeal_dated_before_the_adoption_is_refused() -> None:
    vision = document("vision", "kf")
    adopted = vision.when(
        vision.adopt(Decision("kf", dt.date(2026, 3, 1), "KF §1"), KF, ["kf"], today=TODAY)[0]
    )
    before = Decision("kf", dt.date(2026, 2, 1), "KF §9")
    with pytest.raises(InvalidInput, match="predate") as raised:
        adopted.repeal("Ersatt", before, KF, ["kf"], today=TODAY)
    assert fields_of(raised) == {"decided_on"}
    with pytest.raises(InvalidInput, match="predate"):
        adopted.revise(adopted.content, before, KF, ["kf"], today=TODAY)


def test_a_document_valid_to_before_valid_from_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        SteeringDocument.draft(
            "d", "policy", "bun", Content("Policy", "", dt.date(2026, 1, 1), dt.date(2025, 12, 31))
        )
    assert fields_of(raised) == {"valid_to"}


BAD_NAMES = ["\u200b", "  \t ", "Nämnd\x07", "Titel\nrad två", "\x00", "\u202e\u200b"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_names_and_titles_refuse_control_characters_and_invisible_only_text(bad: str) -> None:
    attempts = {
        "title": lambda: Goal.draft(
            "g", "strategic", COUNCIL, "2023-2026", GoalContent(bad), Placement("area-1")
        ),
        "title ": lambda: SteeringDocument.draft(
            "d", "policy", "bun", Content(bad, "", dt.date(2026, 1, 1))
        ),
        "name": lambda: DevelopmentArea.define("a", bad, "", None, None, BY_KF, KF, today=TODAY),
        "name ": lambda: define(definition=dataclasses.replace(DEFINITION, name=bad)),
        "unit_of_measure": lambda: define(
            definition=dataclasses.replace(DEFINITION, unit_of_measure=bad)
        ),
    }
    for field, attempt in attempts.items():
        with pytest.raises(InvalidInput) as raised:
            attempt()
        assert fields_of(raised) == {field.strip()}


def test_descriptions_may_span_lines_but_refuse_other_control_characters() -> None:
    [drafted] = Goal.draft(
        "g",
        "strategic",
        COUNCIL,
        "2023-2026",
        GoalContent(" Trygg\u200b ", "Första stycket.\n\n\tAndra stycket."),
        Placement("area-1"),
    )
    content = drafted.content  # type: ignore[attr-defined]
    assert (content.title, content.description) == ("Trygg", "Första stycket.\n\n\tAndra stycket.")
    with pytest.raises(InvalidInput) as raised:
        Goal.draft(
            "g", "strategic", COUNCIL, "2023-2026", GoalContent("T", "a\x1bb"), Placement("a")
        )
    assert fields_of(raised) == {"description"}
    with pytest.raises(InvalidInput) as raised:
        SteeringDocument.draft("d", "policy", "bun", Content("P", "\x0c", dt.date(2026, 1, 1)))
    assert fields_of(raised) == {"summary"}
    with pytest.raises(InvalidInput) as raised:
        DevelopmentArea.define("a", "A", "\x7f", None, None, BY_KF, KF, today=TODAY)
    assert fields_of(raised) == {"description"}


def test_reasons_are_required_everywhere_something_ends() -> None:
    for attempt in (
        lambda: STRATEGIC.retire("\u200b", BY_KF, KF, today=TODAY),
        lambda: AREA.retire(" ", BY_KF, KF, today=TODAY),
        lambda: INDICATOR.retire("", STRATEGIC, BY_KF, KF, today=TODAY),
    ):
        with pytest.raises(InvalidInput, match="say why") as raised:
            attempt()
        assert fields_of(raised) == {"reason"}


def test_an_evaluation_needs_its_reasoning() -> None:
    with pytest.raises(InvalidInput) as raised:
        STRATEGIC.evaluate("met", " ", dt.date(2026, 11, 1), BY_KF, KF, today=TODAY)
    assert fields_of(raised) == {"reasoning"}


# -- 4. who adopts a steering document ------------------------------------------------------------


def test_a_committee_may_not_adopt_another_committees_policy() -> None:
    policy = document("policy", "son")
    with pytest.raises(RuleViolation, match="body above it") as raised:
        policy.adopt(BY_BUN, BUN_BOARD, ANCESTRY["son"], today=TODAY)
    assert raised.value.fields == {"decided_by": ["neither the owning unit nor a body above it"]}
    assert policy.adopt(BY_SON, SON_BOARD, ANCESTRY["son"], today=TODAY)


def test_a_committee_adopts_the_policy_of_a_sector_below_it_but_not_the_executive_board() -> None:
    policy = document("policy", "bou")
    assert policy.adopt(BY_BUN, BUN_BOARD, ANCESTRY["bou"], today=TODAY)
    with pytest.raises(RuleViolation, match="body above it"):
        policy.adopt(Decision("ks", TODAY, "KS §1"), KS, ANCESTRY["bou"], today=TODAY)


def test_the_chief_executive_adopts_policies_and_guidelines_where_the_table_allows() -> None:
    no_minute = Decision("chief_executive", dt.date(2026, 2, 1))
    for doc_type in ("policy", "guideline"):
        assert document(doc_type, "son").adopt(no_minute, CHIEF, ANCESTRY["son"], today=TODAY)
    with pytest.raises(RuleViolation, match="may not"):
        document("statutory_plan", "kf").adopt(no_minute, CHIEF, ANCESTRY["kf"], today=TODAY)


def test_a_company_board_adopts_its_policy_but_no_guideline() -> None:
    by_bolag = Decision("bolag", TODAY, "Styrelsen §4")
    assert document("policy", "bolag").adopt(by_bolag, BOLAG, ("bolag", "kf"), today=TODAY)
    with pytest.raises(RuleViolation, match="may not"):
        document("guideline", "bolag").adopt(by_bolag, BOLAG, ("bolag", "kf"), today=TODAY)


def test_a_revision_and_a_repeal_follow_the_same_rule_as_adoption() -> None:
    policy = document("policy", "son")
    adopted = policy.when(policy.adopt(BY_SON, SON_BOARD, ANCESTRY["son"], today=TODAY)[0])
    with pytest.raises(RuleViolation, match="body above it"):
        adopted.revise(adopted.content, BY_BUN, BUN_BOARD, ANCESTRY["son"], today=TODAY)
    with pytest.raises(RuleViolation, match="body above it"):
        adopted.repeal("x", BY_BUN, BUN_BOARD, ANCESTRY["son"], today=TODAY)


def test_an_unknown_document_type_and_a_deciding_unit_kind_are_named() -> None:
    with pytest.raises(InvalidInput) as raised:
        SteeringDocument.draft("d", "manifesto", "kf", Content("M", "", dt.date(2026, 1, 1)))
    assert fields_of(raised) == {"doc_type"}
    with pytest.raises(InvalidInput) as raised:
        Decider.of_unit("x", "department", "Avdelning")
    assert fields_of(raised) == {"decided_by"}


def test_a_closed_unit_takes_no_new_documents() -> None:
    with pytest.raises(RuleViolation) as raised:
        SteeringDocument.draft("d", "policy", "bun", Content("P", "", dt.date(2026, 1, 1)), True)
    assert fields_of(raised) == {"owner_unit_id"}


# -- 5. closed value sets are Literals, listed in the AsyncAPI document ---------------------------


def test_closed_value_sets_are_enums_in_the_asyncapi_document() -> None:
    document = asyncapi_document("goals", registries(), "0")
    messages = document["channels"]["goals.events"]["subscribe"]["message"]["oneOf"]
    data = {m["name"]: m["payload"]["properties"]["data"]["properties"] for m in messages}
    assert data["GoalDrafted.v1"]["level"]["enum"] == ["strategic", "operational"]
    perspectives = data["GoalDrafted.v1"]["content"]["properties"]["perspectives"]
    assert perspectives["items"]["enum"] == ["social", "economic", "environmental"]
    assert data["GoalEvaluated.v2"]["outcome"]["enum"] == ["met", "partly_met", "not_met"]
    assert data["GoalCarriedForward.v1"]["relation"]["enum"] == [
        "continues",
        "split_from",
        "merged_from",
    ]
    assert "vision" in data["SteeringDocumentDrafted.v1"]["doc_type"]["enum"]
    assert "council" in data["OrgUnitCreated.v1"]["kind"]["enum"]
    definition = data["IndicatorDefined.v2"]["definition"]["properties"]
    assert definition["direction"]["enum"] == ["higher_is_better", "lower_is_better"]
    assert definition["source"]["properties"]["kind"]["enum"] == ["manual", "survey", "kolada"]


# -- 6. rules that moved from the handlers into the domain -----------------------------------------


def test_a_development_area_belongs_to_a_long_term_plan_or_vision() -> None:
    with pytest.raises(InvalidInput) as raised:
        area(plan_id="document-p", plan_type="policy")
    assert raised.value.fields == {"plan_id": ["a policy"]}
    assert area(plan_id="document-p", plan_type="long_term_plan")
    assert area(plan_id="document-v", plan_type="vision")


def test_a_goal_implements_a_political_programme_only() -> None:
    def draft(programme_type: str | None) -> list[Any]:
        return Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2023-2026",
            GoalContent("x"),
            Placement("area-1", "document-p"),
            programme_type=programme_type,
        )

    with pytest.raises(InvalidInput) as raised:
        draft("policy")
    assert fields_of(raised) == {"programme_id"}
    assert draft("political_programme")
    draft_goal = goal_mod.KIND.fold_new(draft("political_programme"))
    with pytest.raises(InvalidInput, match="political programme"):
        draft_goal.edit(draft_goal.content, draft_goal.placement, COUNCIL, programme_type="vision")


def test_the_indicator_of_a_retired_goal_takes_no_targets_or_thresholds() -> None:
    retired = STRATEGIC.when(STRATEGIC.retire("Ersatt", BY_KF, KF, today=TODAY)[0])
    with pytest.raises(RuleViolation, match="goal is retired") as raised:
        INDICATOR.set_target(2026, 90, retired, BY_KF, KF, today=TODAY)
    assert fields_of(raised) == {"goal_id"}
    with pytest.raises(RuleViolation, match="goal is retired"):
        INDICATOR.set_thresholds(Thresholds(90, 80), retired, BY_KF, KF, today=TODAY)
    assert INDICATOR.retire("Målet avvecklat", retired, BY_KF, KF, today=TODAY)


def test_a_retired_indicator_takes_nothing_more() -> None:
    retired = INDICATOR.when(INDICATOR.retire("x", STRATEGIC, BY_KF, KF, today=TODAY)[0])
    with pytest.raises(RuleViolation, match="already retired"):
        retired.retire("x", STRATEGIC, BY_KF, KF, today=TODAY)
    with pytest.raises(RuleViolation, match="indicator is retired"):
        retired.set_target(2026, 1, STRATEGIC, BY_KF, KF, today=TODAY)


def test_unknown_levels_outcomes_directions_and_sources_are_named() -> None:
    with pytest.raises(InvalidInput) as raised:
        Goal.draft("g", "tactical", COUNCIL, "2023-2026", GoalContent("x"), Placement("a"))
    assert fields_of(raised) == {"level"}
    with pytest.raises(InvalidInput) as raised:
        Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2023-2026",
            GoalContent("x", "", ("cultural",)),  # type: ignore[arg-type]
            Placement("a"),
        )
    assert fields_of(raised) == {"perspectives"}
    with pytest.raises(InvalidInput) as raised:
        define(definition=dataclasses.replace(DEFINITION, direction="up"))  # type: ignore[arg-type]
    assert fields_of(raised) == {"direction"}
    with pytest.raises(InvalidInput) as raised:
        define(definition=Definition("x", "%", "higher_is_better", DataSource("guess")))  # type: ignore[arg-type]
    assert fields_of(raised) == {"source.kind"}
    with pytest.raises(InvalidInput) as raised:
        define(definition=Definition("x", "%", "higher_is_better", DataSource("manual", "N00945")))
    assert fields_of(raised) == {"source.kpi_id"}


def test_a_strategic_goal_is_not_derived_from_other_goals() -> None:
    with pytest.raises(InvalidInput) as raised:
        Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2023-2026",
            GoalContent("x"),
            Placement("area-1", None, ("goal-s",)),
        )
    assert fields_of(raised) == {"derived_from"}


def test_lineage_rules_name_the_predecessor_field() -> None:
    old = strategic("goal-old", "2019-2022")
    draft_old = goal_mod.KIND.fold_new(
        Goal.draft(
            "goal-d", "strategic", COUNCIL, "2019-2022", GoalContent("x"), Placement("area-1")
        )
    )

    def successor(lineage: Lineage, predecessors: list[Goal], level: str = "strategic") -> Any:
        return Goal.draft(
            "goal-new",
            level,
            COUNCIL if level == "strategic" else BUN,
            "2023-2026",
            GoalContent("x"),
            Placement("area-1") if level == "strategic" else Placement(derived_from=("goal-s",)),
            sources=[STRATEGIC],
            lineage=lineage,
            predecessors=predecessors,
        )

    cases = [
        (Lineage("copied", ("goal-old",)), [old], "strategic", "lineage.relation"),  # type: ignore[arg-type]
        (Lineage("continues", ("goal-x",)), [old], "strategic", "lineage.predecessors"),
        (Lineage("continues", ("goal-old",)), [old], "operational", "lineage.predecessors"),
        (Lineage("continues", ("goal-d",)), [draft_old], "strategic", "lineage.predecessors"),
    ]
    for lineage, predecessors, level, field in cases:
        with pytest.raises(StyrkortError) as raised:
            successor(lineage, predecessors, level)
        assert fields_of(raised) == {field}


def test_transitions_of_goals_are_refused_with_the_reason() -> None:
    draft = goal_mod.KIND.fold_new(
        Goal.draft("g", "strategic", COUNCIL, "2023-2026", GoalContent("x"), Placement("area-1"))
    )
    with pytest.raises(RuleViolation, match="edit the draft instead"):
        draft.revise(draft.content, draft.placement, BY_KF, KF, COUNCIL, today=TODAY)
    closed = dataclasses.replace(BUN, closed=True)
    with pytest.raises(RuleViolation) as raised:
        Goal.draft(
            "g",
            "operational",
            closed,
            "2023-2026",
            GoalContent("x"),
            Placement(derived_from=("goal-s",)),
            sources=[STRATEGIC],
        )
    assert fields_of(raised) == {"owner_unit_id"}


def test_transitions_of_documents_are_refused_with_the_reason() -> None:
    policy = document("policy", "son")
    with pytest.raises(RuleViolation, match="only an adopted document can be repealed"):
        policy.repeal("x", BY_SON, SON_BOARD, ANCESTRY["son"], today=TODAY)
    adopted = policy.when(policy.adopt(BY_SON, SON_BOARD, ANCESTRY["son"], today=TODAY)[0])
    with pytest.raises(RuleViolation, match="revise it instead"):
        adopted.adopt(BY_SON, SON_BOARD, ANCESTRY["son"], today=TODAY)
    with pytest.raises(InvalidInput, match="say why"):
        adopted.repeal(" ", BY_SON, SON_BOARD, ANCESTRY["son"], today=TODAY)


def test_a_closed_unit_takes_no_decisions() -> None:
    with pytest.raises(RuleViolation, match="closed and takes no decisions") as refused:
        Decider.of_unit("bun", "committee", "Barn- och utbildningsnämnden", closed=True)
    assert refused.value.fields == {"decided_by": ["closed unit"]}
