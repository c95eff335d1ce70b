"""Rules of action plans, activities, employee agreements and improvement proposals (no I/O)."""

from __future__ import annotations

import datetime as dt
import typing

import pytest

from services.plans.domain import plan as plan_mod
from services.plans.domain import proposal as proposal_mod
from services.plans.domain.activity import Activity, IndicatorFacts, Work
from services.plans.domain.agreement import EmployeeAgreement
from services.plans.domain.plan import (
    PHASES,
    ActionPlan,
    GoalFacts,
    UnitFacts,
    check_period,
    mandate_covers,
    next_period,
    period_dates,
    plan_id_for,
)
from services.plans.domain.proposal import ImprovementProposal
from shared.errors import InvalidInput, RuleViolation

SECTOR = UnitFacts("bou", "Sektor barn och utbildning", "sector", "active")
ADOPTED = GoalFacts("goal-o", "operational", "adopted", "Alla elever når målen", "2023-2026")
OTHER = GoalFacts("goal-p", "operational", "adopted", "Trygg skola", "2023-2026")
DAY = dt.date(2026, 1, 8)
TODAY = dt.date(2026, 11, 24)
WORK = Work("Läsfrämjande", "rektor", dt.date(2026, 1, 10), dt.date(2026, 6, 10))
INDICATOR = IndicatorFacts("indicator-1", "goal-o", "active")
FULL_WIDTH_2027 = "\uff12\uff10\uff12\uff17"  # what Python's \d takes for a year
ARABIC_INDIC_2027 = "\u0662\u0660\u0662\u0667"


def drafted(goals: tuple[GoalFacts, ...] = (ADOPTED,), period: str = "2026") -> ActionPlan:
    return plan_mod.KIND.fold_new(
        ActionPlan.draft("plan-1", SECTOR, period, "Plan 2026", goals, DAY)
    )


def adopted(goals: tuple[GoalFacts, ...] = (ADOPTED,)) -> ActionPlan:
    plan = drafted(goals)
    return plan.when(plan.adopt("bou", DAY, "Beslut 2026-01-08 §3", TODAY)[0])


def closed() -> ActionPlan:
    plan = adopted()
    return plan.when(plan.close("Klar")[0])


def planned(plan: ActionPlan | None = None, work: Work = WORK) -> Activity:
    return Activity.start(Activity.plan("a", plan or drafted(), work, (INDICATOR,))[0])


# -- periods -------------------------------------------------------------------------------------


def test_periods_are_calendar_or_school_years() -> None:
    assert check_period("2026") == "2026" and check_period("2025/26") == "2025/26"
    for bad in ("2025/27", "26", "2025-26", "läsår", 2026):
        with pytest.raises(InvalidInput, match="calendar year"):
            check_period(bad)
    assert (next_period("2026"), next_period("2025/26"), next_period("2099/00")) == (
        "2027",
        "2026/27",
        "2100/01",
    )
    assert period_dates("2025/26") == (dt.date(2025, 8, 1), dt.date(2026, 6, 30))
    assert period_dates("2026") == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


@pytest.mark.parametrize(
    "period",
    ["2027\n", FULL_WIDTH_2027, ARABIC_INDIC_2027, " 2027", "2025/26\n", "2025/\u0662\u0666"],
)
def test_a_period_is_ascii_digits_and_nothing_else(period: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_period(period)
    assert "period" in refused.value.fields


@pytest.mark.parametrize("period", ["0000", "9999", "1989", "2101", "2100/01"])
def test_a_period_is_a_plausible_year(period: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_period(period)
    assert refused.value.fields == {"period": ["implausible year"]}


def test_the_plan_id_only_ever_sees_the_canonical_period() -> None:
    assert plan_id_for("bou", "2026") == plan_id_for("bou", "2026")
    assert plan_id_for("bou", "2026") != plan_id_for("bou", "2025/26")
    with pytest.raises(InvalidInput):
        plan_id_for("bou", "2026\n")
    event = ActionPlan.draft(plan_id_for("bou", "2026"), SECTOR, "2026", "Plan", (), DAY)[0]
    assert isinstance(event, ActionPlan.Drafted) and event.period == "2026"


def test_a_mandate_period_covers_a_year_or_either_year_of_a_school_year() -> None:
    assert mandate_covers("2023-2026", "2026") and mandate_covers("2023-2026", "2023")
    assert mandate_covers("2023-2026", "2026/27"), "autumn 2026 is in the period"
    assert mandate_covers("2027-2030", "2026/27"), "spring 2027 is in the next"
    assert not mandate_covers("2023-2026", "2027") and not mandate_covers("2023-2026", "2040")
    assert not mandate_covers("", "2026") and not mandate_covers(f"{FULL_WIDTH_2027}-2030", "2027")


# -- drafting, goals and decisions ---------------------------------------------------------------


def test_a_plan_links_only_adopted_operational_goals() -> None:
    for goal, reason in (
        (GoalFacts("g", "operational", "draft", "", "2023-2026"), "draft, not adopted"),
        (GoalFacts("g", "operational", "retired", "", "2023-2026"), "retired, not adopted"),
        (GoalFacts("g", "strategic", "adopted", "", "2023-2026"), "plans serve operational"),
        (GoalFacts("g", "", "unknown"), "no such goal is known"),
    ):
        with pytest.raises(RuleViolation, match=reason):
            drafted((goal,))


def test_a_plan_serves_goals_whose_mandate_period_covers_its_period() -> None:
    with pytest.raises(RuleViolation, match="for 2023-2026, not for 2040") as refused:
        ActionPlan.draft("p", SECTOR, "2040", "Plan 2040", (ADOPTED,), DAY)
    assert "goal_ids" in refused.value.fields
    assert ActionPlan.draft("p", SECTOR, "2026/27", "Plan", (ADOPTED,), DAY)


def test_plans_are_written_by_sectors_units_and_companies() -> None:
    committee = UnitFacts("bun", "BUN", "committee", "active")
    with pytest.raises(RuleViolation, match="not by a committee"):
        ActionPlan.draft("p", committee, "2026", "Plan", (), DAY)


def test_a_closed_unit_takes_no_new_plans() -> None:
    gone = UnitFacts("bou", "Gamla skolan", "unit", "closed")
    with pytest.raises(RuleViolation, match="closed") as refused:
        ActionPlan.draft("p", gone, "2026", "Plan", (), DAY)
    assert refused.value.fields == {"unit_id": ["closed unit"]}


@pytest.mark.parametrize("title", ["", "   ", "\u200b", "Plan\x00", "Plan\nB", "x" * 301])
def test_titles_refuse_control_characters_and_blank_text(title: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        ActionPlan.draft("p", SECTOR, "2026", title, (), DAY)
    assert "title" in refused.value.fields
    with pytest.raises(InvalidInput):
        adopted().revise(title, None, "bou", DAY, None, TODAY)
    with pytest.raises(InvalidInput):
        Activity.plan("a", drafted(), Work(title, "rektor", DAY, DAY))


def test_the_plan_is_adopted_by_the_manager_of_its_own_unit() -> None:
    plan = drafted()
    with pytest.raises(RuleViolation, match="its own unit"):
        plan.adopt("sov", DAY, None, TODAY)
    done = adopted()
    assert done.status == "adopted"
    with pytest.raises(RuleViolation, match="only a draft"):
        done.adopt("bou", DAY, None, TODAY)


def test_a_plan_keeps_the_minute_ref_of_its_adoption_and_revision() -> None:
    plan = adopted()
    assert (plan.decided_on, plan.minute_ref) == (DAY, "Beslut 2026-01-08 §3")
    revised = plan.when(plan.revise(None, None, "bou", TODAY, "  Beslut §9 ", TODAY)[0])
    assert (revised.decided_on, revised.minute_ref) == (TODAY, "Beslut §9")
    blank = drafted().adopt("bou", DAY, "", TODAY)[0]
    assert isinstance(blank, ActionPlan.Adopted) and blank.minute_ref is None
    with pytest.raises(InvalidInput, match="control character"):
        drafted().adopt("bou", DAY, "§3\x07", TODAY)


def test_a_plan_decision_is_not_in_the_future_nor_before_the_draft() -> None:
    with pytest.raises(InvalidInput, match="future") as future:
        drafted().adopt("bou", TODAY + dt.timedelta(days=1), None, TODAY)
    assert future.value.fields == {"decided_on": ["in the future"]}
    with pytest.raises(InvalidInput, match="after it was drafted") as early:
        drafted().adopt("bou", DAY - dt.timedelta(days=1), None, TODAY)
    assert "decided_on" in early.value.fields
    with pytest.raises(InvalidInput, match="future"):
        adopted().revise("Ny", None, "bou", dt.date(9999, 12, 31), None, TODAY)
    with pytest.raises(InvalidInput, match="after it was drafted"):
        adopted().revise("Ny", None, "bou", dt.date(2025, 1, 1), None, TODAY)


def test_a_revision_follows_the_last_decision() -> None:
    plan = adopted()
    later = plan.when(plan.revise(None, None, "bou", dt.date(2026, 3, 1), None, TODAY)[0])
    with pytest.raises(InvalidInput, match="follows the last decision"):
        later.revise(None, None, "bou", dt.date(2026, 2, 1), None, TODAY)


def test_an_adopted_plan_changes_only_by_a_revision_of_its_manager() -> None:
    plan = adopted()
    with pytest.raises(RuleViolation, match="revision decision"):
        plan.link_goals([ADOPTED])
    with pytest.raises(RuleViolation, match="its own unit"):
        plan.revise("Ny titel", None, "sov", DAY, None, TODAY)
    revised = plan.when(plan.revise("Plan 2026, reviderad", [], "bou", DAY, "Beslut 12", TODAY)[0])
    assert (revised.title, revised.goal_ids, revised.version) == ("Plan 2026, reviderad", (), 3)
    with pytest.raises(RuleViolation, match="only an adopted plan"):
        drafted().revise("x", None, "bou", DAY, None, TODAY)


def test_revising_a_plans_goals_rechecks_the_link_rules() -> None:
    strategic = GoalFacts("s", "strategic", "adopted", "", "2023-2026")
    later = GoalFacts("g", "operational", "adopted", "", "2027-2030")
    for goal in (strategic, later, GoalFacts("u", "", "unknown")):
        with pytest.raises(RuleViolation) as refused:
            adopted().revise(None, [goal], "bou", DAY, None, TODAY)
        assert "goal_ids" in refused.value.fields
        with pytest.raises(RuleViolation):
            drafted().link_goals([goal])
    plan = drafted()
    assert plan.link_goals([ADOPTED]) == []
    linked = plan.when(plan.link_goals([ADOPTED, OTHER])[0])
    assert linked.goal_ids == ("goal-o", "goal-p")


# -- the improvement wheel -----------------------------------------------------------------------


def test_the_improvement_wheel_turns_in_order() -> None:
    plan = drafted()
    assert plan.phase == "plan"
    with pytest.raises(RuleViolation, match="once it is adopted"):
        plan.enter_phase("do", DAY, TODAY)
    with pytest.raises(InvalidInput, match="phase is one of"):
        plan.enter_phase("check", DAY, TODAY)
    plan = adopted()
    with pytest.raises(RuleViolation, match="next is do"):
        plan.enter_phase("evaluate", DAY, TODAY)
    for phase in ("do", "evaluate", "improve", "plan"):
        plan = plan.when(plan.enter_phase(phase, DAY, TODAY)[0])
    assert [p.phase for p in plan.phases] == ["plan", "do", "evaluate", "improve", "plan"]
    with pytest.raises(InvalidInput, match="before the one it follows"):
        plan.enter_phase("do", dt.date(2025, 1, 1), TODAY)


def test_a_phase_is_not_in_the_future() -> None:
    with pytest.raises(InvalidInput, match="future") as refused:
        adopted().enter_phase("do", dt.date(9999, 12, 31), TODAY)
    assert refused.value.fields == {"since": ["in the future"]}


def test_a_closed_plan_turns_no_more() -> None:
    with pytest.raises(RuleViolation, match="closed"):
        closed().enter_phase("do", TODAY, TODAY)
    with pytest.raises(RuleViolation, match="closed"):
        closed().link_goals([])
    with pytest.raises(RuleViolation, match="closed"):
        closed().close("igen")


def test_only_an_adopted_plan_is_closed() -> None:
    with pytest.raises(RuleViolation, match="only an adopted plan is closed"):
        drafted().close("Klar")
    assert closed().status == "closed"
    with pytest.raises(InvalidInput, match="control character"):
        adopted().close("Klar\x1b[31m")


def test_a_goal_change_flags_a_plan_once_and_only_plans_that_serve_it() -> None:
    plan = adopted()
    flags = plan.flag_for_review("goal-o", "goal_retired", "event-1", DAY)
    plan = plan.when(flags[0])
    assert plan.review_flags[0].reason == "goal_retired"
    assert plan.flag_for_review("goal-o", "goal_retired", "event-1", DAY) == []
    assert plan.flag_for_review("goal-other", "goal_revised", "event-2", DAY) == []
    done = plan.when(plan.close("Klar")[0])
    assert done.flag_for_review("goal-o", "goal_revised", "event-3", DAY) == []


# -- activities ----------------------------------------------------------------------------------


def test_activity_moves_planned_in_progress_done_or_cancelled_with_reason() -> None:
    plan = drafted()
    activity = planned(plan)
    with pytest.raises(InvalidInput, match="status is one of"):
        activity.move("finished", DAY, plan)
    with pytest.raises(RuleViolation, match="not to done"):
        activity.move("done", DAY, plan)
    activity = activity.when(activity.move("in_progress", DAY, plan)[0])
    with pytest.raises(InvalidInput, match="why"):
        activity.move("cancelled", DAY, plan)
    done = activity.when(activity.move("done", DAY, plan)[0])
    with pytest.raises(RuleViolation, match="finished"):
        done.move("in_progress", DAY, plan)
    assert activity.move("in_progress", DAY, plan) == []
    noted = activity.when(activity.note("  Igång\n i alla klasser ", DAY, plan)[0])
    assert noted.notes[-1].text == "Igång\n i alla klasser"
    with pytest.raises(InvalidInput, match="blank"):
        activity.note("\u200b", DAY, plan)


def test_overdue_is_derived_from_the_due_date() -> None:
    plan = drafted()
    activity = planned(plan)
    assert not activity.overdue(dt.date(2026, 6, 10))
    assert activity.overdue(dt.date(2026, 6, 11))
    cancelled = activity.when(activity.move("cancelled", DAY, plan, "Ersatt")[0])
    assert cancelled.cancel_reason == "Ersatt" and not cancelled.overdue(dt.date(2027, 1, 1))


def test_activities_need_an_owner_sane_dates_and_an_open_plan() -> None:
    plan = drafted()
    with pytest.raises(InvalidInput, match="due before it starts"):
        Activity.plan("a", plan, Work("x", "rektor", dt.date(2026, 2, 1), dt.date(2026, 1, 1)))
    with pytest.raises(InvalidInput, match="owns"):
        Activity.plan("a", plan, Work("x", " ", DAY, DAY))
    with pytest.raises(InvalidInput, match="control character"):
        Activity.plan("a", plan, Work("x", "rektor\x00", DAY, DAY))
    with pytest.raises(RuleViolation, match="closed"):
        Activity.plan("a", closed(), WORK)


@pytest.mark.parametrize(
    ("starts_on", "due_on", "field"),
    [
        (dt.date(1900, 1, 1), dt.date(2026, 6, 10), "starts_on"),
        (dt.date(2025, 12, 31), dt.date(2026, 6, 10), "starts_on"),
        (dt.date(2026, 1, 10), dt.date(2027, 1, 1), "due_on"),
    ],
)
def test_an_activity_lies_within_its_plans_period(
    starts_on: dt.date, due_on: dt.date, field: str
) -> None:
    with pytest.raises(InvalidInput, match="between 2026-01-01 and 2026-12-31") as refused:
        Activity.plan("a", drafted(), Work("x", "rektor", starts_on, due_on))
    assert refused.value.fields == {field: ["outside the period"]}


def test_an_activity_serves_only_goals_of_its_plan() -> None:
    with pytest.raises(RuleViolation, match="goal-p is not one of them") as refused:
        Activity.plan("a", drafted(), Work("x", "rektor", DAY, DAY, ("goal-o", "goal-p")))
    assert refused.value.fields == {"goal_ids": ["not a goal the plan serves"]}
    [event] = Activity.plan("a", drafted(), Work("x", "rektor", DAY, DAY, ("goal-o", "goal-o")))
    assert isinstance(event, Activity.Planned) and event.work.goal_ids == ("goal-o",)


@pytest.mark.parametrize(
    ("known", "problem"),
    [
        ((), "no such indicator is known here"),
        ((IndicatorFacts("indicator-1", "goal-o", "retired"),), "the indicator is retired"),
        (
            (IndicatorFacts("indicator-1", "goal-p", "active"),),
            "the indicator measures a goal the activity does not serve",
        ),
    ],
)
def test_an_activitys_indicators_exist_and_measure_its_goals(
    known: tuple[IndicatorFacts, ...], problem: str
) -> None:
    work = Work("x", "rektor", DAY, DAY, ("goal-o",), ("indicator-1",))
    with pytest.raises(RuleViolation) as refused:
        Activity.plan("a", drafted((ADOPTED, OTHER)), work, known)
    assert refused.value.fields == {"indicator_ids": [problem]}
    assert Activity.plan("a", drafted(), work, (INDICATOR,))


def test_no_progress_or_notes_on_activities_of_a_closed_plan() -> None:
    activity = planned()
    with pytest.raises(RuleViolation, match="takes no progress") as refused:
        activity.move("in_progress", TODAY, closed())
    assert refused.value.fields == {"plan_id": ["closed"]}
    with pytest.raises(RuleViolation, match="takes no notes"):
        activity.note("Klart", TODAY, closed())


# -- employee agreements -------------------------------------------------------------------------


def agreement() -> EmployeeAgreement:
    events = EmployeeAgreement.make("ag", adopted(), "hr-1", ("a",), {"a", "b"}, DAY, TODAY)
    return EmployeeAgreement.start(events[0])


def test_an_agreement_names_an_opaque_employee_ref_and_activities_of_the_plan() -> None:
    plan = adopted()
    made = agreement()
    assert (made.plan_id, made.unit_id, made.employee_ref) == ("plan-1", "bou", "hr-1")
    with pytest.raises(InvalidInput, match="no names") as named:
        EmployeeAgreement.make("ag", plan, "Anna Andersson", ("a",), {"a"}, DAY, TODAY)
    assert "employee_ref" in named.value.fields
    with pytest.raises(InvalidInput, match="blank"):
        EmployeeAgreement.make("ag", plan, "\u200b", ("a",), {"a"}, DAY, TODAY)
    with pytest.raises(InvalidInput, match="at least one"):
        EmployeeAgreement.make("ag", plan, "hr-1", (), {"a"}, DAY, TODAY)
    with pytest.raises(RuleViolation, match="not an activity of this plan"):
        EmployeeAgreement.make("ag", plan, "hr-1", ("z",), {"a"}, DAY, TODAY)


def test_an_agreement_is_not_dated_in_the_future() -> None:
    with pytest.raises(InvalidInput, match="future") as refused:
        EmployeeAgreement.make(
            "ag", adopted(), "hr-1", ("a",), {"a"}, TODAY + dt.timedelta(days=1), TODAY
        )
    assert refused.value.fields == {"agreed_on": ["in the future"]}
    with pytest.raises(InvalidInput, match="future"):
        agreement().change_activities(adopted(), ("b",), {"a", "b"}, dt.date(9999, 1, 1), TODAY)


def test_an_agreement_is_changed_after_it_was_made() -> None:
    made = agreement()
    with pytest.raises(InvalidInput, match="after it was made"):
        made.change_activities(adopted(), ("b",), {"a", "b"}, DAY - dt.timedelta(days=1), TODAY)
    changed = made.when(made.change_activities(adopted(), ("b",), {"a", "b"}, TODAY, TODAY)[0])
    assert (changed.activity_ids, changed.agreed_on) == (("b",), TODAY)


def test_no_agreements_or_agreement_changes_on_a_closed_plan() -> None:
    with pytest.raises(RuleViolation, match="takes no new agreements"):
        EmployeeAgreement.make("ag", closed(), "hr-1", ("a",), {"a"}, DAY, TODAY)
    with pytest.raises(RuleViolation, match="takes no changes to its agreements"):
        agreement().change_activities(closed(), ("b",), {"a", "b"}, TODAY, TODAY)


def test_an_agreement_does_not_end_before_it_began_and_ends_once() -> None:
    made = agreement()
    with pytest.raises(InvalidInput, match="end before it began") as refused:
        made.end(DAY - dt.timedelta(days=1), TODAY)
    assert "ended_on" in refused.value.fields
    with pytest.raises(InvalidInput, match="future"):
        made.end(TODAY + dt.timedelta(days=1), TODAY)
    ended = made.when(made.end(TODAY, TODAY)[0])
    assert ended.status == "ended"
    with pytest.raises(RuleViolation, match="already ended"):
        ended.end(TODAY, TODAY)
    with pytest.raises(RuleViolation, match="has ended"):
        ended.change_activities(adopted(), ("b",), {"a", "b"}, TODAY, TODAY)


# -- improvement proposals -----------------------------------------------------------------------


def test_a_proposal_is_accepted_or_rejected_once_in_a_stream_of_its_own() -> None:
    stream = proposal_mod.proposal_stream_id("proposal-1")
    assert stream == proposal_mod.proposal_stream_id("proposal-1") != "proposal-1"
    accepted = proposal_mod.KIND.fold_new(ImprovementProposal.accept("proposal-1", "a", "p"))
    assert (accepted.id, accepted.outcome, accepted.plan_id) == (stream, "accepted", "p")
    rejected = proposal_mod.KIND.fold_new(
        ImprovementProposal.reject("proposal-1", "not by a committee")
    )
    assert (rejected.outcome, rejected.reason) == ("rejected", "not by a committee")
    with pytest.raises(ValueError, match="after the proposal was decided"):
        rejected.when(ImprovementProposal.accept("proposal-1", "a", "p")[0])


# -- closed value sets ---------------------------------------------------------------------------


def test_closed_value_sets_are_literals_the_events_carry() -> None:
    hints = typing.get_type_hints(ActionPlan.PhaseEntered)
    assert typing.get_args(hints["phase"]) == PHASES
    flag_hints = typing.get_type_hints(ActionPlan.FlaggedForReview)
    assert set(typing.get_args(flag_hints["reason"])) == {"goal_revised", "goal_retired"}
    assert typing.get_args(typing.get_type_hints(ActionPlan)["status"]) == plan_mod.PLAN_STATUSES


def test_a_closed_units_plan_takes_nothing_new() -> None:
    plan = drafted()
    plan.require_unit_open(SECTOR, "decisions")
    gone = UnitFacts("bou", "Sektor barn och utbildning", "sector", "closed")
    with pytest.raises(RuleViolation, match="closed: its plan takes no decisions") as refused:
        plan.require_unit_open(gone, "decisions")
    assert refused.value.fields == {"unit_id": ["closed unit"]}


def test_a_plan_keeps_the_goals_its_open_activities_serve() -> None:
    plan = drafted((ADOPTED, OTHER))
    serving = Work("Läsa", "rektor", DAY, DAY, goal_ids=("goal-o",))
    plan.require_goals_kept(("goal-o",), [serving])
    with pytest.raises(RuleViolation, match="served by the open activity 'Läsa'") as refused:
        plan.require_goals_kept(("goal-p",), [serving])
    assert refused.value.fields == {"goal_ids": ["served by an open activity"]}
