"""Rules of goals, steering documents, development areas and indicators (no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.goals.domain import goal as goal_mod
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
from services.goals.domain.indicator import (
    Baseline,
    DataSource,
    Definition,
    Indicator,
    Thresholds,
)
from shared.aggregate import DomainEvent, to_json
from shared.errors import InvalidInput, RuleViolation

COUNCIL = UnitFacts("kf", "council", "Kommunfullmäktige")
BUN = UnitFacts("bun", "committee", "Barn- och utbildningsnämnden")
SECTOR = UnitFacts("bou", "sector", "Sektor barn och utbildning")
KF = Decider.of_unit("kf", "council", "Kommunfullmäktige")
BUN_BOARD = Decider.of_unit("bun", "committee", "Barn- och utbildningsnämnden")
SON_BOARD = Decider.of_unit("son", "committee", "Socialnämnden")
SECTOR_MANAGER = Decider.of_unit("bou", "sector", "Sektor barn och utbildning")
DECIDED = Decision("kf", dt.date(2023, 2, 20), "KF 2023-02-20 §12")
#: "today" as the handler would pass it (Europe/Stockholm): the domain reads no clock
TODAY = dt.date(2027, 6, 1)
#: the ids from the sector "bou" up to the council, itself first (queries.ancestry)
BOU_ANCESTRY = ("bou", "bun", "kf")


def strategic(goal_id: str = "goal-s", period: str = "2023-2026", adopted: bool = True) -> Goal:
    state: Goal = goal_mod.KIND.fold(
        Goal.draft(
            goal_id,
            "strategic",
            COUNCIL,
            period,
            GoalContent("Trygg uppväxt", "", ("social",)),
            Placement(development_area_id="area-1"),
        )
    )
    if adopted:
        first_year = int(period[:4])
        decision = Decision("kf", dt.date(first_year, 2, 20), f"KF {first_year}-02-20 §12")
        state = state.when(state.adopt(decision, KF, today=TODAY)[0])
    return state


def operational(sources: list[Goal], derived: tuple[str, ...] = ("goal-s",)) -> Goal:
    result: Goal = goal_mod.KIND.fold(
        Goal.draft(
            "goal-o",
            "operational",
            BUN,
            "2023-2026",
            GoalContent("Alla elever når målen"),
            Placement(derived_from=derived),
            sources=sources,
        )
    )
    return result


# -- goals -------------------------------------------------------------------------------------


def test_a_strategic_goal_belongs_to_the_council_and_a_development_area() -> None:
    with pytest.raises(RuleViolation, match="belong to the council"):
        Goal.draft(
            "g",
            "strategic",
            BUN,
            "2023-2026",
            GoalContent("x"),
            Placement(development_area_id="area-1"),
        )
    with pytest.raises(InvalidInput) as raised:
        Goal.draft("g", "strategic", COUNCIL, "2023-2026", GoalContent("x"), Placement())
    assert "development_area_id" in raised.value.fields
    with pytest.raises(RuleViolation, match="retired"):
        Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2023-2026",
            GoalContent("x"),
            Placement(development_area_id="area-1"),
            area_active=False,
        )


def test_operational_goal_must_trace_to_an_adopted_strategic_goal_of_the_same_period() -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        operational([], derived=())
    with pytest.raises(RuleViolation, match="draft, not adopted"):
        operational([strategic(adopted=False)])
    with pytest.raises(RuleViolation, match="of 2019-2022, not 2023-2026"):
        operational([strategic(period="2019-2022")])
    with pytest.raises(RuleViolation, match="not a strategic goal"):
        operational([strategic()], derived=("goal-unknown",))
    assert operational([strategic()]).placement.derived_from == ("goal-s",)


def test_operational_goals_belong_to_committees_and_companies() -> None:
    with pytest.raises(RuleViolation, match="committee"):
        Goal.draft(
            "g",
            "operational",
            SECTOR,
            "2023-2026",
            GoalContent("x"),
            Placement(derived_from=("goal-s",)),
            sources=[strategic()],
        )


def test_a_closed_unit_takes_no_new_goals() -> None:
    closed = UnitFacts("bun", "committee", "BUN", closed=True)
    with pytest.raises(RuleViolation, match="closed"):
        Goal.draft(
            "g",
            "operational",
            closed,
            "2023-2026",
            GoalContent("x"),
            Placement(derived_from=("goal-s",)),
            sources=[strategic()],
        )


def test_mandate_period_is_four_years() -> None:
    assert str(MandatePeriod.parse("2023-2026")) == "2023-2026"
    for bad in ("2023-2027", "2023", "23-26", "2026-2023"):
        with pytest.raises(InvalidInput, match="four years"):
            MandatePeriod.parse(bad)


def test_only_the_council_adopts_a_strategic_goal_and_it_needs_the_minute() -> None:
    draft = strategic(adopted=False)
    with pytest.raises(RuleViolation, match="may not") as raised:
        draft.adopt(Decision("bun", dt.date(2023, 2, 1), "BUN §3"), BUN_BOARD, today=TODAY)
    assert "kommunfullmäktige" in raised.value.detail
    with pytest.raises(InvalidInput, match="minute reference"):
        draft.adopt(Decision("kf", dt.date(2023, 2, 1)), KF, today=TODAY)
    adopted = draft.when(draft.adopt(DECIDED, KF, today=TODAY)[0])
    assert adopted.status == "adopted" and adopted.decision == DECIDED


def test_an_operational_goal_is_adopted_by_its_own_committee() -> None:
    draft = operational([strategic()])
    with pytest.raises(RuleViolation, match="owns it"):
        draft.adopt(
            Decision("son", dt.date(2023, 3, 1), "SON §9"), SON_BOARD, [strategic()], today=TODAY
        )
    events = draft.adopt(
        Decision("bun", dt.date(2023, 3, 1), "BUN §9"), BUN_BOARD, [strategic()], today=TODAY
    )
    assert isinstance(events[0], Goal.Adopted)


def test_decision_dates_outside_the_mandate_period_are_invalid() -> None:
    draft = strategic(adopted=False)
    with pytest.raises(InvalidInput) as raised:
        draft.adopt(Decision("kf", dt.date(2027, 3, 1), "KF §1"), KF, today=TODAY)
    assert raised.value.fields == {"decided_on": ["outside the mandate period"]}
    with pytest.raises(InvalidInput) as raised:
        draft.adopt(Decision("kf", dt.date(2019, 1, 1), "KF §1"), KF, today=TODAY)
    assert raised.value.fields == {"decided_on": ["outside the mandate period"]}
    # the council may adopt the period's goals in the autumn before it starts
    assert draft.adopt(Decision("kf", dt.date(2022, 11, 20), "KF §1"), KF, today=TODAY)


def test_an_adopted_goal_changes_only_by_decision_and_a_retired_one_not_at_all() -> None:
    adopted = strategic()
    with pytest.raises(RuleViolation, match="only by a new decision"):
        adopted.edit(GoalContent("Ny titel"), adopted.placement, COUNCIL)
    with pytest.raises(RuleViolation, match="revise it"):
        adopted.adopt(DECIDED, KF, today=TODAY)
    revised = adopted.when(
        adopted.revise(
            GoalContent("Trygg och aktiv uppväxt"),
            adopted.placement,
            DECIDED,
            KF,
            COUNCIL,
            today=TODAY,
        )[0]
    )
    assert revised.content.title == "Trygg och aktiv uppväxt" and revised.version == 3
    retired = revised.when(revised.retire("Ersatt", DECIDED, KF, today=TODAY)[0])
    with pytest.raises(RuleViolation, match="only a draft goal can be adopted"):
        retired.adopt(DECIDED, KF, today=TODAY)
    with pytest.raises(RuleViolation, match="already retired"):
        retired.retire("igen", DECIDED, KF, today=TODAY)


EVALUATED = Decision("kf", dt.date(2027, 2, 20), "KF 2027-02-20 §9")


def test_evaluation_at_the_end_of_the_period() -> None:
    adopted = strategic()
    with pytest.raises(InvalidInput, match="end of the period"):
        adopted.evaluate("met", "Uppnått", dt.date(2024, 6, 1), EVALUATED, KF, today=TODAY)
    with pytest.raises(InvalidInput, match="outcome"):
        adopted.evaluate("great", "Uppnått", dt.date(2026, 12, 1), EVALUATED, KF, today=TODAY)
    evaluated = adopted.when(
        adopted.evaluate(
            "partly_met",
            "Två av tre indikatorer gröna",
            dt.date(2027, 2, 1),
            EVALUATED,
            KF,
            today=TODAY,
        )[0]
    )
    assert evaluated.evaluation is not None and evaluated.evaluation.outcome == "partly_met"
    with pytest.raises(RuleViolation, match="only an adopted goal is evaluated"):
        strategic(adopted=False).evaluate(
            "met", "x", dt.date(2026, 12, 1), EVALUATED, KF, today=TODAY
        )


def test_a_goal_carried_into_a_new_period_keeps_its_lineage() -> None:
    old = strategic("goal-old", period="2019-2022")
    lineage = Lineage("continues", ("goal-old",))
    events = Goal.draft(
        "goal-new",
        "strategic",
        COUNCIL,
        "2023-2026",
        GoalContent("Trygg"),
        Placement(development_area_id="area-1"),
        lineage=lineage,
        predecessors=[old],
    )
    assert events[0].lineage == lineage  # type: ignore[attr-defined]
    followed = old.when(old.carry_forward("goal-new", lineage.relation)[0])
    assert [(s.goal_id, s.relation) for s in followed.successors] == [("goal-new", "continues")]
    with pytest.raises(RuleViolation, match="later period"):
        Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2019-2022",
            GoalContent("x"),
            Placement(development_area_id="a"),
            lineage=lineage,
            predecessors=[old],
        )
    with pytest.raises(InvalidInput, match="two or more"):
        Goal.draft(
            "g",
            "strategic",
            COUNCIL,
            "2023-2026",
            GoalContent("x"),
            Placement(development_area_id="a"),
            lineage=Lineage("merged_from", ("goal-old",)),
            predecessors=[old],
        )


def test_goal_state_survives_the_json_round_trip() -> None:
    adopted = strategic()
    assert goal_mod.KIND.restore(to_json(adopted)) == adopted


# -- steering documents -----------------------------------------------------------------------

POLICY = SteeringDocument.start(
    SteeringDocument.Drafted(
        "document-1", "policy", "bou", Content("Policy för digital skola", "", dt.date(2026, 1, 1))
    )
)


def test_a_policy_adopted_by_a_unit_manager_is_refused_naming_who_may_adopt_it() -> None:
    with pytest.raises(RuleViolation) as raised:
        POLICY.adopt(
            Decision("bou", dt.date(2026, 1, 10)), SECTOR_MANAGER, BOU_ANCESTRY, today=TODAY
        )
    detail = raised.value.detail
    assert "executive board" in detail and "committee" in detail
    assert "chief executive" in detail and "may not" in detail
    assert raised.value.fields == {"decided_by": ["may not adopt a policy"]}
    adopted = POLICY.when(
        POLICY.adopt(
            Decision("chief_executive", dt.date(2026, 1, 10)),
            Decider.of_role("chief_executive"),
            BOU_ANCESTRY,
            today=TODAY,
        )[0]
    )
    assert (adopted.status, adopted.edition) == ("adopted", 1)


def test_a_vision_is_adopted_by_the_council_only() -> None:
    vision = SteeringDocument.start(
        SteeringDocument.Drafted(
            "document-v",
            "vision",
            "kf",
            Content("Bo i Götene, lev i världen", "", dt.date(2009, 1, 1)),
        )
    )
    with pytest.raises(RuleViolation, match="council"):
        vision.adopt(Decision("bun", dt.date(2009, 1, 1), "BUN §1"), BUN_BOARD, ["kf"], today=TODAY)
    assert vision.adopt(Decision("kf", dt.date(2009, 1, 1), "KF §1"), KF, ["kf"], today=TODAY)


def test_an_action_plan_is_adopted_by_the_manager_of_its_own_unit() -> None:
    plan = SteeringDocument.start(
        SteeringDocument.Drafted(
            "document-h",
            "action_plan",
            "bou",
            Content("Handlingsplan 2026", "", dt.date(2026, 1, 1)),
        )
    )
    other = Decider.of_unit("sov", "sector", "Sektor stöd och omsorg")
    with pytest.raises(RuleViolation, match="unit it belongs to"):
        plan.adopt(Decision("sov", dt.date(2026, 1, 5)), other, BOU_ANCESTRY, today=TODAY)
    assert plan.adopt(
        Decision("bou", dt.date(2026, 1, 5)), SECTOR_MANAGER, BOU_ANCESTRY, today=TODAY
    )


def test_revision_makes_a_new_edition_and_repeal_ends_the_document() -> None:
    # the sector's policy is adopted by its committee, a body above it (not by the KS, which is not)
    decision = Decision("bun", dt.date(2026, 2, 1), "BUN 2026-02-01 §7")
    adopted = POLICY.when(POLICY.adopt(decision, BUN_BOARD, BOU_ANCESTRY, today=TODAY)[0])
    with pytest.raises(RuleViolation, match="revision"):
        adopted.edit(adopted.content)
    revised = adopted.when(
        adopted.revise(
            Content("Policy för digital skola 2.0", "", dt.date(2027, 1, 1)),
            decision,
            BUN_BOARD,
            BOU_ANCESTRY,
            today=TODAY,
        )[0]
    )
    assert (revised.edition, revised.content.title) == (2, "Policy för digital skola 2.0")
    repealed = revised.when(
        revised.repeal("Ersatt av riktlinje", decision, BUN_BOARD, BOU_ANCESTRY, today=TODAY)[0]
    )
    assert repealed.status == "repealed"
    with pytest.raises(RuleViolation, match="only an adopted"):
        repealed.revise(repealed.content, decision, BUN_BOARD, BOU_ANCESTRY, today=TODAY)
    with pytest.raises(InvalidInput, match="before it starts"):
        POLICY.edit(Content("x", "", dt.date(2026, 1, 1), dt.date(2025, 1, 1)))


def test_a_role_that_does_not_exist_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="decided_by"):
        Decider.of_role("mayor")


# -- development areas --------------------------------------------------------------------------


def test_development_area_is_defined_and_retired_once() -> None:
    area = DevelopmentArea.start(
        DevelopmentArea.define(
            "area-1", " Ökad rörlighet ", "", None, None, DECIDED, KF, today=TODAY
        )[0]
    )
    assert area.name == "Ökad rörlighet"
    retired = area.when(area.retire("Ny framtidsplan", DECIDED, KF, today=TODAY)[0])
    with pytest.raises(RuleViolation, match="already retired"):
        retired.retire("igen", DECIDED, KF, today=TODAY)


# -- indicators ---------------------------------------------------------------------------------

DEFINITION = Definition(
    "Andel elever med behörighet till gymnasiet",
    "%",
    "higher_is_better",
    DataSource("kolada", "N15419"),
    Baseline(82.5, 2022),
)


GOAL = strategic()


def define(definition: Definition = DEFINITION, goal: Goal = GOAL) -> Indicator:
    return Indicator.start(
        Indicator.define("indicator-1", goal, definition, DECIDED, KF, today=TODAY)[0]
    )


def indicator(direction: str = "higher_is_better") -> Indicator:
    return define(Definition("x", "%", direction, DataSource("manual")))  # type: ignore[arg-type]


def test_indicator_targets_lie_within_the_goal_period() -> None:
    state = define()
    state = state.when(state.set_target(2026, 90.0, GOAL, DECIDED, KF, today=TODAY)[0])
    assert state.targets == {2026: 90.0}
    assert state.set_target(2026, 90.0, GOAL, DECIDED, KF, today=TODAY) == []
    with pytest.raises(InvalidInput) as raised:
        state.set_target(2027, 91.0, GOAL, DECIDED, KF, today=TODAY)
    assert "year" in raised.value.fields


def test_kolada_sources_name_a_kpi_id() -> None:
    bad = Definition("x", "%", "higher_is_better", DataSource("kolada", "945"))
    with pytest.raises(InvalidInput, match="Kolada"):
        define(bad)
    retired = GOAL.when(GOAL.retire("Ersatt", DECIDED, KF, today=TODAY)[0])
    with pytest.raises(RuleViolation, match="retired"):
        define(DEFINITION, retired)


def test_traffic_lights_follow_the_direction() -> None:
    def thresholds(state: Indicator, green: float, yellow: float) -> list[DomainEvent]:
        return state.set_thresholds(Thresholds(green, yellow), GOAL, DECIDED, KF, today=TODAY)

    higher = indicator()
    higher = higher.when(thresholds(higher, 85, 75)[0])
    assert [higher.light(v) for v in (90, 80, 70)] == ["green", "yellow", "red"]
    lower = indicator("lower_is_better")
    lower = lower.when(thresholds(lower, 5, 10)[0])
    assert [lower.light(v) for v in (4, 8, 12)] == ["green", "yellow", "red"]
    with pytest.raises(InvalidInput, match="at least yellow"):
        thresholds(indicator(), 70, 80)


def test_indicator_state_survives_the_json_round_trip() -> None:
    state = define()
    state = state.when(state.set_target(2025, 88.0, GOAL, DECIDED, KF, today=TODAY)[0])
    from services.goals.domain import indicator as indicator_mod

    assert indicator_mod.KIND.restore(to_json(state)) == state
