"""Rules of action plans and activities (no I/O)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from services.plans.domain import plan as plan_mod
from services.plans.domain.activity import Activity, Work
from services.plans.domain.plan import (
    ActionPlan,
    GoalFacts,
    check_period,
    next_period,
    period_dates,
    plan_id_for,
)
from shared.errors import InvalidInput, RuleViolation

SECTOR = SimpleNamespace(
    id="bou", name="Sektor barn och utbildning", kind="sector", status="active"
)
ADOPTED = GoalFacts("goal-o", "operational", "adopted", "Alla elever når målen")
DAY = dt.date(2026, 1, 8)


def drafted(goals: tuple[GoalFacts, ...] = (ADOPTED,)) -> ActionPlan:
    return plan_mod.KIND.fold_new(
        ActionPlan.draft("plan-1", SECTOR, "2026", "Plan 2026", goals, DAY)
    )


def test_periods_are_calendar_or_school_years() -> None:
    assert check_period("2026") == "2026" and check_period("2025/26") == "2025/26"
    for bad in ("2025/27", "26", "2025-26", "läsår"):
        with pytest.raises(InvalidInput, match="calendar year"):
            check_period(bad)
    assert (next_period("2026"), next_period("2025/26"), next_period("2099/00")) == (
        "2027",
        "2026/27",
        "2100/01",
    )
    assert period_dates("2025/26") == (dt.date(2025, 8, 1), dt.date(2026, 6, 30))


def test_one_plan_per_unit_and_period_by_its_id() -> None:
    assert plan_id_for("bou", "2026") == plan_id_for("bou", "2026")
    assert plan_id_for("bou", "2026") != plan_id_for("bou", "2025/26")


def test_a_plan_links_only_adopted_operational_goals() -> None:
    for goal, reason in (
        (GoalFacts("g", "operational", "draft"), "draft, not adopted"),
        (GoalFacts("g", "operational", "retired"), "retired, not adopted"),
        (GoalFacts("g", "strategic", "adopted"), "plans serve operational"),
        (GoalFacts("g", "", "unknown"), "no such goal is known"),
    ):
        with pytest.raises(RuleViolation, match=reason):
            drafted((goal,))


def test_plans_are_written_by_sectors_units_and_companies() -> None:
    committee = SimpleNamespace(id="bun", name="BUN", kind="committee", status="active")
    with pytest.raises(RuleViolation, match="not by a committee"):
        ActionPlan.draft("p", committee, "2026", "Plan", (), DAY)


def test_the_plan_is_adopted_by_the_manager_of_its_own_unit() -> None:
    plan = drafted()
    with pytest.raises(RuleViolation, match="its own unit"):
        plan.adopt("sov", DAY, None)
    adopted = plan.when(plan.adopt("bou", DAY, None)[0])
    assert adopted.status == "adopted"
    with pytest.raises(RuleViolation, match="only a draft"):
        adopted.adopt("bou", DAY, None)


def test_the_improvement_wheel_turns_in_order() -> None:
    plan = drafted()
    assert plan.phase == "plan"
    with pytest.raises(RuleViolation, match="once it is adopted"):
        plan.enter_phase("do", DAY)
    plan = plan.when(plan.adopt("bou", DAY, None)[0])
    with pytest.raises(RuleViolation, match="next is do"):
        plan.enter_phase("evaluate", DAY)
    for phase in ("do", "evaluate", "improve", "plan"):
        plan = plan.when(plan.enter_phase(phase, DAY)[0])
    assert [p.phase for p in plan.phases] == ["plan", "do", "evaluate", "improve", "plan"]
    with pytest.raises(InvalidInput, match="before the one it follows"):
        plan.enter_phase("do", dt.date(2025, 1, 1))


def test_a_goal_change_flags_a_plan_once_and_only_plans_that_serve_it() -> None:
    plan = drafted()
    flags = plan.flag_for_review("goal-o", "goal_retired", "event-1", DAY)
    plan = plan.when(flags[0])
    assert plan.flag_for_review("goal-o", "goal_retired", "event-1", DAY) == []
    assert plan.flag_for_review("goal-other", "goal_revised", "event-2", DAY) == []
    closed = plan.when(plan.close("Klar")[0])
    assert closed.flag_for_review("goal-o", "goal_revised", "event-3", DAY) == []


WORK = Work("Läsfrämjande", "rektor", dt.date(2026, 1, 10), dt.date(2026, 6, 10))


def test_activity_moves_planned_in_progress_done_or_cancelled_with_reason() -> None:
    activity = Activity.start(Activity.plan("a", "plan-1", "draft", WORK)[0])
    with pytest.raises(RuleViolation, match="not to done"):
        activity.move("done", DAY)
    activity = activity.when(activity.move("in_progress", DAY)[0])
    with pytest.raises(InvalidInput, match="why"):
        activity.move("cancelled", DAY)
    done = activity.when(activity.move("done", DAY)[0])
    with pytest.raises(RuleViolation, match="finished"):
        done.move("in_progress", DAY)
    assert activity.move("in_progress", DAY) == []


def test_overdue_is_derived_from_the_due_date() -> None:
    activity = Activity.start(Activity.plan("a", "plan-1", "draft", WORK)[0])
    assert not activity.overdue(dt.date(2026, 6, 10))
    assert activity.overdue(dt.date(2026, 6, 11))
    cancelled = activity.when(activity.move("cancelled", DAY, "Ersatt")[0])
    assert not cancelled.overdue(dt.date(2027, 1, 1))


def test_activities_need_an_owner_sane_dates_and_an_open_plan() -> None:
    with pytest.raises(InvalidInput, match="due before it starts"):
        Activity.plan(
            "a", "p", "draft", Work("x", "rektor", dt.date(2026, 2, 1), dt.date(2026, 1, 1))
        )
    with pytest.raises(InvalidInput, match="owns"):
        Activity.plan("a", "p", "draft", Work("x", " ", DAY, DAY))
    with pytest.raises(RuleViolation, match="closed"):
        Activity.plan("a", "p", "closed", WORK)


def test_an_adopted_plan_changes_only_by_a_revision_of_its_manager() -> None:
    plan = drafted()
    plan = plan.when(plan.adopt("bou", DAY, None)[0])
    with pytest.raises(RuleViolation, match="revision decision"):
        plan.link_goals([ADOPTED])
    with pytest.raises(RuleViolation, match="its own unit"):
        plan.revise("Ny titel", None, "sov", DAY, None)
    revised = plan.when(plan.revise("Plan 2026, reviderad", [], "bou", DAY, "Beslut 12")[0])
    assert (revised.title, revised.goal_ids, revised.version) == ("Plan 2026, reviderad", (), 3)
    with pytest.raises(RuleViolation, match="only an adopted plan"):
        drafted().revise("x", None, "bou", DAY, None)
