"""Contract of the event store against the real PostgreSQL (DESIGN.md §3)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import Metadata, NewEvent, Upcasters
from shared.migrate import Migration, MigrationError, migrate
from shared.runtime import Runtime
from shared.store import COPY_AT, ConcurrencyError, EventStore
from tests.support import connect

META = Metadata(
    actor="key:test", correlation_id="corr-1", causation_id="cause-1", request_id="req-1"
)


def append(runtime: Runtime, stream: str, expected: int, *types: str, **data: Any) -> list[Any]:
    with connect(runtime) as conn, conn.transaction():
        return runtime.store.append(
            conn, stream, "thing", expected, [NewEvent(t, dict(data)) for t in types], META
        )


def test_append_then_read_stream_and_all(goals: Runtime) -> None:
    recorded = append(goals, "thing-1", 0, "ThingMade.v1", "ThingNamed.v1", name="Götene")
    assert [e.version for e in recorded] == [1, 2]
    assert [e.position for e in recorded] == [1, 2]
    with connect(goals) as conn:
        stream = goals.store.read_stream(conn, "thing-1")
        assert [(e.event_type, e.data["name"]) for e in stream] == [
            ("ThingMade.v1", "Götene"),
            ("ThingNamed.v1", "Götene"),
        ]
        assert stream[0].metadata == {
            "actor": "key:test",
            "correlation_id": "corr-1",
            "causation_id": "cause-1",
            "request_id": "req-1",
        }
        assert [e.position for e in goals.store.read_all(conn, after_position=1)] == [2]


def test_wrong_expected_version_is_a_typed_conflict_and_writes_nothing(goals: Runtime) -> None:
    append(goals, "thing-1", 0, "ThingMade.v1")
    for stale in (0, 2):
        with pytest.raises(ConcurrencyError) as raised:
            append(goals, "thing-1", stale, "ThingNamed.v1")
        assert (raised.value.expected, raised.value.actual) == (stale, 1)
    with connect(goals) as conn:
        assert goals.store.last_position(conn) == 1


def test_events_of_one_command_commit_together_or_not_at_all(goals: Runtime) -> None:
    with pytest.raises(RuntimeError), connect(goals) as conn, conn.transaction():
        goals.store.append(conn, "a", "thing", 0, [NewEvent("ThingMade.v1", {})], META)
        goals.store.append(conn, "b", "thing", 0, [NewEvent("ThingMade.v1", {})], META)
        raise RuntimeError("the command failed after appending")
    with connect(goals) as conn:
        assert goals.store.read_all(conn) == []


def test_a_large_command_goes_by_copy_and_chains_like_small_ones(goals: Runtime) -> None:
    append(goals, "thing-1", 0, "ThingMade.v1", name="före")
    tricky = 'Ängen \\ "citat"\t tab\n ny rad\r\u2028 \\N §45'
    big = append(goals, "thing-2", 0, *["ThingCounted.v1"] * (COPY_AT + 10), name=tricky)
    append(goals, "thing-1", 1, "ThingNamed.v1", name="efter")
    assert [e.position for e in big] == list(range(2, COPY_AT + 12))
    assert [e.version for e in big] == list(range(1, COPY_AT + 11))
    with pytest.raises(ConcurrencyError):
        append(goals, "thing-2", 3, *["ThingCounted.v1"] * COPY_AT)
    with connect(goals) as conn:
        stored = goals.store.read_stream(conn, "thing-2")
        assert stored == big, "what append returned is what was stored"
        assert stored[0].data["name"] == tricky
        report = goals.store.verify(conn)
    assert report.ok and report.checked == COPY_AT + 12


def test_event_type_must_carry_a_schema_version(goals: Runtime) -> None:
    with pytest.raises(ValueError, match="version"):
        append(goals, "thing-1", 0, "ThingMade")


def test_eight_threads_on_one_stream_exactly_one_wins_each_version(goals: Runtime) -> None:
    wins: list[tuple[int, int]] = []
    conflicts = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        for _ in range(25):
            with connect(goals) as conn:
                version = goals.store.stream_version(conn, "contested")
                try:
                    with conn.transaction():
                        goals.store.append(
                            conn,
                            "contested",
                            "thing",
                            version,
                            [NewEvent("ThingTouched.v1", {"by": n})],
                            META,
                        )
                    wins.append((version + 1, n))
                except ConcurrencyError:
                    conflicts.append(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with connect(goals) as conn:
        stream = goals.store.read_stream(conn, "contested")
    versions = [v for v, _ in wins]
    assert sorted(versions) == list(range(1, len(wins) + 1)), "one winner per version"
    # (threads note their wins after the commit, so the list's order is not the commit order)
    assert [e.version for e in stream] == sorted(versions), "no duplicates, no gaps"
    assert {e.version: e.data["by"] for e in stream} == dict(wins), "each winner's own event"
    assert len(wins) + len(conflicts) == 8 * 25 and conflicts, "contention produced conflicts"


def test_reader_following_positions_never_skips_under_eight_concurrent_writers(
    goals: Runtime,
) -> None:
    stop = threading.Event()
    writers_done = threading.Event()
    written: list[int] = []
    seen: list[int] = []

    def writer(n: int) -> None:
        version = 0
        with connect(goals) as conn:
            while not stop.is_set():
                with conn.transaction():
                    events = goals.store.append(
                        conn,
                        f"stream-{n}",
                        "thing",
                        version,
                        # writer 0 brings commands large enough to go by COPY
                        [NewEvent("ThingTouched.v1", {"i": version})]
                        * (COPY_AT if n == 0 else 1 + version % 3),
                        META,
                    )
                    time.sleep(0.001)  # hold the transaction open a little, as a command does
                version += len(events)
                written.extend(e.position for e in events)

    def reader() -> None:
        last = 0
        with connect(goals) as conn:
            while not writers_done.is_set() or last < max(written, default=0):
                for event in goals.store.read_all(conn, last, 100):
                    seen.append(event.position)
                    last = event.position

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    follower = threading.Thread(target=reader)
    for t in [*threads, follower]:
        t.start()
    time.sleep(5)
    stop.set()
    for t in threads:
        t.join(30)
    writers_done.set()
    follower.join(30)
    assert len(written) > 100
    assert seen == list(range(1, len(written) + 1)), "the reader saw every position, in order"


def test_verify_names_the_first_tampered_row(goals: Runtime) -> None:
    for i in range(1, 6):
        append(goals, f"thing-{i}", 0, "ThingMade.v1", name=f"nr {i}")
    with connect(goals) as conn:
        assert goals.store.verify(conn).ok
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("UPDATE events SET data = '{}' WHERE position = 3")
        # A superuser can bypass the trigger; the hash chain still tells.
        conn.execute("SET session_replication_role = replica")
        conn.execute("""UPDATE events SET data = '{"name": "nr 30"}' WHERE position = 3""")
        report = goals.store.verify(conn)
    assert (report.ok, report.first_broken_position, report.checked) == (False, 3, 2)
    assert "row changed" in (report.reason or "")


def test_verify_names_a_removed_row(goals: Runtime) -> None:
    for i in range(1, 5):
        append(goals, f"thing-{i}", 0, "ThingMade.v1")
    with connect(goals) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM events WHERE position = 2")
        report = goals.store.verify(conn)
    assert report.first_broken_position == 3
    assert "position 2 is missing" in (report.reason or "")


def test_verify_cli_exits_nonzero_naming_the_position(goals: Runtime) -> None:
    import json
    import os
    import subprocess
    import sys

    append(goals, "thing-1", 0, "ThingMade.v1", "ThingNamed.v1", name="x")
    with connect(goals) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("""UPDATE events SET metadata = '{"actor": "key:someone-else"}'
                         WHERE position = 2""")
    env = {**os.environ, "DATABASE_URL": goals.config.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "services.goals", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["first_broken_position"] == 2


def test_recorded_at_never_goes_backwards_so_as_of_is_a_prefix(goals: Runtime) -> None:
    for i in range(20):
        append(goals, f"thing-{i}", 0, "ThingMade.v1")
    with connect(goals) as conn:
        events = goals.store.read_all(conn)
        times = [e.recorded_at for e in events]
        assert times == sorted(times)
        cut = events[9].recorded_at
        assert [e.position for e in goals.store.read_all(conn, as_of=cut)][-1] >= 10


def test_upcaster_turns_old_events_into_the_new_shape_on_read_only(goals: Runtime) -> None:
    append(goals, "thing-1", 0, "ThingMade.v1", title="Trygg skola")
    upcasters = Upcasters()
    upcasters.register(
        "ThingMade.v1", "ThingMade.v2", lambda d: {"name": d["title"], "perspectives": []}
    )
    store = EventStore(upcasters)
    with connect(goals) as conn:
        [event] = store.read_stream(conn, "thing-1")
        assert event.event_type == "ThingMade.v2"
        assert event.data == {"name": "Trygg skola", "perspectives": []}
        stored = conn.execute("SELECT event_type, data FROM events").fetchone()
        assert stored == ("ThingMade.v1", {"title": "Trygg skola"})
        assert store.verify(conn).ok, "upcasting never touches what is hashed"


# jsonb refuses NUL and lone surrogates in text; the store refuses them with a clear error
# (tests/unit/test_events.py), so the property covers every other JSON value.
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values)
def test_any_json_round_trips_through_the_store_and_verifies(goals: Runtime, value: Any) -> None:
    with connect(goals) as conn:
        stream = f"prop-{time.monotonic_ns()}"
        with conn.transaction():
            goals.store.append(conn, stream, "thing", 0, [NewEvent("Prop.v1", {"v": value})], META)
        assert goals.store.verify(conn).ok


def test_migrations_apply_once_and_refuse_an_edited_one(
    make_database: Callable[[str], str],
) -> None:
    url = make_database("goals")
    first = [Migration("x/0001_a.sql", "CREATE TABLE a (id int)")]
    assert migrate(url, first) == ["x/0001_a.sql"]
    assert migrate(url, first) == []
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(url, [Migration("x/0001_a.sql", "CREATE TABLE a (id bigint)")])
