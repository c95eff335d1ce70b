"""Idempotency-Key on the real PostgreSQL (issue #8): only final answers are kept, the hash
covers If-Match, keys expire, and a replay re-checks the caller's role and scope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from services.goals.app import create_app
from services.goals.seed import seed, seed_id, seed_unit_id
from shared.config import Config
from shared.identity import Identity
from shared.runtime import Runtime
from tests.support import EDITOR, SignedClient, connect

UNITS = "/api/v1/org-units"
GOALS = "/api/v1/goals"
KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SON = seed_unit_id("son")
STRATEGIC = seed_id("goal-", "s-trygg")
AREA = seed_id("area-", "livsmiljo")
COUNCIL_DECISION = {"decided_by": KF, "decided_on": "2023-01-30", "minute_ref": "KF §7"}
OPERATIONAL = {
    "level": "operational",
    "owner_unit_id": BUN,
    "period": "2023-2026",
    "title": "Fler elever läser på fritiden",
}


@pytest.fixture
def app(goals: Runtime) -> Any:
    return create_app(goals.config, goals)


def key(k: str, **more: str) -> dict[str, str]:
    return {"Idempotency-Key": k, **more}


def replayed(response: Any) -> bool:
    return response.headers.get("Idempotent-Replayed") == "true"


def events(goals: Runtime) -> int:
    with connect(goals) as conn:
        return goals.store.last_position(conn)


def test_a_409_is_not_kept_a_retry_runs_anew_once_the_cause_is_gone(
    app: Any, goals: Runtime
) -> None:
    seed(goals)
    editor = SignedClient(app, EDITOR)
    draft = editor.post(
        GOALS,
        {
            "level": "strategic",
            "owner_unit_id": KF,
            "period": "2023-2026",
            "title": "Fler unga väljer att bo kvar",
            "development_area_id": AREA,
            "perspectives": ["social"],
        },
    ).get_json()
    body = {**OPERATIONAL, "derived_from": [draft["id"]]}
    refused = editor.post(GOALS, body, headers=key("op-1"))
    assert refused.status_code == 409 and "not adopted" in refused.get_json()["detail"]
    adopted = editor.post(f"{GOALS}/{draft['id']}/adopt", COUNCIL_DECISION)
    assert adopted.status_code == 200
    made = editor.post(GOALS, body, headers=key("op-1"))
    assert made.status_code == 201 and not replayed(made), made.get_json()
    again = editor.post(GOALS, body, headers=key("op-1"))
    assert again.status_code == 201 and replayed(again)
    assert again.get_json() == made.get_json()


def test_a_412_is_not_replayed_and_if_match_is_part_of_the_request(
    app: Any, goals: Runtime
) -> None:
    editor = SignedClient(app, EDITOR)
    unit = editor.post(UNITS, {"name": "KF", "kind": "council"}).get_json()
    rename = f"{UNITS}/{unit['id']}/rename"
    early = editor.post(rename, {"name": "Fullmäktige"}, headers=key("r-1", **{"If-Match": '"2"'}))
    assert early.status_code == 412
    assert editor.post(rename, {"name": "Rådet"}).status_code == 200  # now at version 2
    done = editor.post(rename, {"name": "Fullmäktige"}, headers=key("r-1", **{"If-Match": '"2"'}))
    assert done.status_code == 200 and not replayed(done), done.get_json()
    assert done.headers["ETag"] == '"3"'
    other = editor.post(rename, {"name": "Fullmäktige"}, headers=key("r-1", **{"If-Match": '"3"'}))
    assert other.status_code == 422, other.get_json()
    assert "different request" in other.get_json()["detail"]
    assert "Idempotency-Key" in other.get_json()["errors"]
    same = editor.post(rename, {"name": "Fullmäktige"}, headers=key("r-1", **{"If-Match": '"2"'}))
    assert same.status_code == 200 and replayed(same) and same.headers["ETag"] == '"3"'


def test_validation_answers_are_kept_and_404_is_not(app: Any, goals: Runtime) -> None:
    editor = SignedClient(app, EDITOR)
    invalid = editor.post(UNITS, {"name": "KF"}, headers=key("v-1"))
    assert invalid.status_code == 422
    again = editor.post(UNITS, {"name": "KF"}, headers=key("v-1"))
    assert again.status_code == 422 and replayed(again)
    missing = editor.post(f"{UNITS}/org-unit-nope/rename", {"name": "X"}, headers=key("n-1"))
    assert missing.status_code == 404
    with connect(goals) as conn:
        kept = conn.execute("SELECT key FROM idempotency_keys ORDER BY key").fetchall()
    assert kept == [("v-1",)], "a 404 releases its key"


def test_a_key_expires_and_then_runs_anew(
    make_config: Callable[..., Config], make_runtime: Callable[..., Runtime]
) -> None:
    goals = make_runtime("goals", make_config("goals", idempotency_key_hours=1 / 3600))
    editor = SignedClient(create_app(goals.config, goals), EDITOR)
    council = editor.post(UNITS, {"name": "KF", "kind": "council"}).get_json()["id"]
    body = {"name": "Socialnämnden", "kind": "committee", "parent_id": council}
    first = editor.post(UNITS, body, headers=key("e-1"))
    assert first.status_code == 201
    second = {**body, "name": "Kultur"}
    assert editor.post(UNITS, second, headers=key("e-2")).status_code == 201
    assert replayed(editor.post(UNITS, body, headers=key("e-1")))
    assert events(goals) == 3
    time.sleep(1.2)
    anew = editor.post(UNITS, body, headers=key("e-1"))  # runs: the unit's name is taken now
    assert anew.status_code == 409 and not replayed(anew), anew.get_json()
    assert "Socialnämnden" in anew.get_json()["detail"]
    with connect(goals) as conn:
        kept = conn.execute("SELECT key FROM idempotency_keys").fetchall()
    assert kept == [], "the claim deleted the other expired key, the 409 released its own"
    assert replayed(editor.post(UNITS, second, headers=key("e-2"))) is False
    # an expired key may be used for another request
    time.sleep(1.2)
    other = editor.post(UNITS, {**body, "name": "Rådet"}, headers=key("e-1"))
    assert other.status_code == 201 and not replayed(other)
    assert events(goals) == 4


def test_config_reads_the_expiry_from_the_environment() -> None:
    from shared.config import ConfigError

    env = {"DATABASE_URL": "postgresql://x/y"}
    assert Config.from_env("goals", env).idempotency_key_hours == 24
    assert Config.from_env("goals", {**env, "IDEMPOTENCY_KEY_HOURS": "0.5"}).idempotency_key_hours
    for bad in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(ConfigError):
            Config.from_env("goals", {**env, "IDEMPOTENCY_KEY_HOURS": bad})


def test_a_replay_rechecks_the_callers_current_role(app: Any) -> None:
    body = {"name": "Kommunfullmäktige", "kind": "council"}
    made = SignedClient(app, EDITOR).post(UNITS, body, headers=key("role-1"))
    assert made.status_code == 201
    for role in ("reader", "auditor"):
        now = SignedClient(app, Identity(EDITOR.actor, role, "*"))
        refused = now.post(UNITS, body, headers=key("role-1"))
        assert refused.status_code == 403 and not replayed(refused), role
    other_actor = SignedClient(app, Identity("key:someone-else", "editor", "*"))
    fresh = other_actor.post(UNITS, body, headers=key("role-1"))
    assert fresh.status_code == 409 and not replayed(fresh), "keys belong to one actor"
    back = SignedClient(app, EDITOR).post(UNITS, body, headers=key("role-1"))
    assert back.status_code == 201 and replayed(back)


def test_a_replay_reruns_the_access_check_on_the_callers_current_scope(
    app: Any, goals: Runtime
) -> None:
    seed(goals)
    actor = "key:bun-editor"
    body = {**OPERATIONAL, "derived_from": [STRATEGIC]}
    made = SignedClient(app, Identity(actor, "editor", BUN)).post(GOALS, body, headers=key("s-1"))
    assert made.status_code == 201, made.get_json()
    moved = SignedClient(app, Identity(actor, "editor", SON))
    refused = moved.post(GOALS, body, headers=key("s-1"))
    assert refused.status_code == 403 and not replayed(refused), refused.get_json()
    wider = SignedClient(app, Identity(actor, "editor", KF))
    again = wider.post(GOALS, body, headers=key("s-1"))
    assert again.status_code == 201 and replayed(again)
    assert again.get_json() == made.get_json()
    # a change: the check runs on the goal as it is now
    goal_path = f"{GOALS}/{made.get_json()['id']}/edit"
    edited = SignedClient(app, Identity(actor, "editor", BUN)).post(
        goal_path, {"title": "Fler läser"}, headers=key("s-2")
    )
    assert edited.status_code == 200, edited.get_json()
    assert moved.post(goal_path, {"title": "Fler läser"}, headers=key("s-2")).status_code == 403


def test_an_answer_given_before_any_access_check_is_replayed_only_to_the_same_authority(
    app: Any,
) -> None:
    actor = "key:bun-editor"
    invalid = SignedClient(app, Identity(actor, "editor", BUN)).post(
        UNITS, {"name": "X"}, headers=key("a-1")
    )
    assert invalid.status_code == 422
    other = SignedClient(app, Identity(actor, "editor", SON)).post(
        UNITS, {"name": "X"}, headers=key("a-1")
    )
    assert other.status_code == 403
    admin = SignedClient(app, Identity(actor, "admin", "*")).post(
        UNITS, {"name": "X"}, headers=key("a-1")
    )
    assert admin.status_code == 422 and replayed(admin)


# -- a command applied whose answer was never recorded (tests/fault found it) ------------------


def test_a_command_applied_without_a_recorded_answer_is_never_run_again(
    app: Any, goals: Runtime
) -> None:
    """The service dies (or its database does) after the command's commit and before its
    answer is stored: the client saw no answer and retries with the key. Before the fix the
    key was released (a 500 deletes it) and the retry made a second goal."""
    seed(goals)
    editor = SignedClient(app, EDITOR)
    body = {**OPERATIONAL, "derived_from": [STRATEGIC]}
    dying = {"on": True}

    @app.after_request
    def die_after_the_commit(response: Any) -> Any:  # runs before the answer is recorded
        if dying["on"]:
            raise RuntimeError("the process died before recording the answer")
        return response

    before = events(goals)
    lost = editor.post(GOALS, body, headers=key("lost-1"))
    assert lost.status_code == 500
    assert events(goals) == before + 1, "the command was applied"
    dying["on"] = False
    retry = editor.post(GOALS, body, headers=key("lost-1"))
    assert retry.status_code == 409, retry.get_json()
    assert "applied once" in retry.get_json()["detail"]
    assert events(goals) == before + 1, "the retry did not run the command again"


def test_a_killed_first_requests_key_is_not_taken_over_after_its_lease_once_applied(
    app: Any, goals: Runtime
) -> None:
    """A worker killed after the commit leaves its claim running (status 0); after the lease
    a retry may take a claim over only if its command never committed."""
    seed(goals)
    editor = SignedClient(app, EDITOR)
    body = {**OPERATIONAL, "derived_from": [STRATEGIC], "title": "Fler läser"}
    assert editor.post(GOALS, body, headers=key("killed-1")).status_code == 201
    assert editor.post(GOALS, {**body, "title": "Inte körd"}, headers=key("killed-2")).status_code
    with connect(goals) as conn:  # as the killed worker left them, long ago
        conn.execute(
            "UPDATE idempotency_keys SET status = 0, body = NULL, "
            "created_at = now() - interval '10 minutes'"
        )
        conn.execute("UPDATE idempotency_keys SET applied_at = NULL WHERE key = 'killed-2'")
    before = events(goals)
    retry = editor.post(GOALS, body, headers=key("killed-1"))
    assert retry.status_code == 409 and "applied once" in retry.get_json()["detail"]
    assert events(goals) == before
    # a claim whose command never committed is taken over and run
    anew = editor.post(GOALS, {**body, "title": "Inte körd"}, headers=key("killed-2"))
    assert anew.status_code == 201 and not replayed(anew)
    assert events(goals) == before + 1
