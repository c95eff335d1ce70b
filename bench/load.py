"""A steady mixed command load through the gateway, as a client that never gives up on a
command (issue #13): the fault-injection suite (tests/fault) and the soak (bench/soak.py) drive
the dev stack with it.

Each worker (a thread) owns a unit, an adopted operational goal with an indicator, and a plan
serving that goal, made in `setup`. Then it sends, round-robin, commands that make every part
of the system work:

- goals: a revision of its goal with If-Match (GoalRevised: plans' consumer reacts by flagging
  the plan for review, an event in plans) and a new strategic goal draft;
- plans: a new activity in its plan;
- reports: a result of its indicator for the next interim date.

Every command carries an `Idempotency-Key` and an `X-Correlation-Id` of its own (the gateway
records the latter in the events the command causes, so a checker finds them in the store). On
a connection error, a 5xx, a 429 or "the first request with this Idempotency-Key is still
running", the client sends the same request again with the same key until it gets a final
answer; such a command counts as failed-then-retried. Every 2xx is kept as an `Accepted`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.goals.seed import seed_id, seed_unit_id
from shared import values

KF = seed_unit_id("kf")
BUN = seed_unit_id("bun")
SECTOR = seed_unit_id("sektor-bou")  # under BUN
AREA = seed_id("area-", "livsmiljo")
#: how long one command is retried before the load gives up on it (a bug, not an outage)
COMMAND_DEADLINE_SECONDS = 240.0
RETRY_PAUSE_SECONDS = 0.3
#: the interim dates a worker records results for: every day of this year up to today
RESULT_YEAR = values.today().year


#: a 409 that asks to send the same request again: its Idempotency-Key's first request has not
#: ended (it may have been killed: its claim is taken over after a lease, shared/http.py)
KEY_IN_USE = ("is still running", "just ended")
#: the final 409 of a key whose command was applied but whose answer was lost (shared/http.py)
APPLIED_WITHOUT_ANSWER = "was applied once"


class LoadError(RuntimeError):
    """A command got an answer the load does not expect, or no final answer in time."""


@dataclass(frozen=True)
class Accepted:
    """A command the system answered with a 2xx: what the checker looks for in the store."""

    service: str
    kind: str
    correlation_id: str
    idempotency_key: str
    status: int
    entity_id: str | None


@dataclass
class Tally:
    """What the load saw, shared by its workers (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: list[Accepted] = field(default_factory=list)
    #: commands that failed at least once (connection error, 5xx, ...) and then got an answer
    retried: int = 0
    #: failed attempts by cause: "503", "500", "ConnectError", "409 still running", ...
    failures: Counter[str] = field(default_factory=Counter)
    #: final answers that were not 2xx, by status (e.g. 412 after an answer that was lost)
    refused: Counter[int] = field(default_factory=Counter)
    #: requests of any kind sent (commands' attempts and reads)
    requests: int = 0

    def note_failure(self, cause: str) -> None:
        with self.lock:
            self.failures[cause] += 1
            self.requests += 1


def _transient(response: httpx.Response) -> str | None:
    """Why this answer is not final (the same request must be sent again), or None."""
    if response.status_code >= 500 or response.status_code == 429:
        return str(response.status_code)
    if response.status_code == 409 and any(w in response.text for w in KEY_IN_USE):
        return "409 key in use"  # the first request with it still runs, or just ended
    return None


class Client:
    """One worker's door to the gateway: commands that are retried until answered."""

    def __init__(self, base_url: str, key: str, tally: Tally, stop: threading.Event) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(40.0, connect=5.0),
            trust_env=False,
        )
        self.tally = tally
        self.stop = stop

    def close(self) -> None:
        self.http.close()

    def command(
        self,
        service: str,
        kind: str,
        path: str,
        body: dict[str, Any],
        if_match: str | None = None,
        *,
        record: bool = True,
    ) -> httpx.Response:
        """POST `body` with a new Idempotency-Key and correlation id; the same request again
        after any transient failure, until a final answer (raised on none within the
        deadline). A 2xx is recorded in the tally when `record`."""
        key = f"load-{uuid.uuid4().hex}"
        correlation = f"load-{uuid.uuid4().hex}"
        headers = {"Idempotency-Key": key, "X-Correlation-Id": correlation}
        if if_match is not None:
            headers["If-Match"] = if_match
        deadline = time.monotonic() + COMMAND_DEADLINE_SECONDS
        failed = False
        while True:
            try:
                response = self.http.post(path, json=body, headers=headers)
                cause = _transient(response)
            except httpx.TransportError as exc:
                cause = type(exc).__name__
            if cause is None:
                break
            failed = True
            self.tally.note_failure(cause)
            if time.monotonic() > deadline:
                raise LoadError(f"POST {path}: no final answer in {COMMAND_DEADLINE_SECONDS} s")
            time.sleep(RETRY_PAUSE_SECONDS)
        with self.tally.lock:
            self.tally.requests += 1
            self.tally.retried += failed
            if 200 <= response.status_code < 300:
                if record:
                    made = response.json() if response.content else {}
                    entity = made.get("id") if isinstance(made, dict) else None
                    self.tally.accepted.append(
                        Accepted(service, kind, correlation, key, response.status_code, entity)
                    )
            else:
                self.tally.refused[response.status_code] += 1
        return response

    def get(self, path: str, **params: str) -> httpx.Response:
        """A read, retried on transient failures like a command (reads change nothing)."""
        deadline = time.monotonic() + COMMAND_DEADLINE_SECONDS
        while True:
            try:
                response = self.http.get(path, params=params)
                cause = _transient(response)
            except httpx.TransportError as exc:
                cause = type(exc).__name__
            if cause is None:
                with self.tally.lock:
                    self.tally.requests += 1
                return response
            self.tally.note_failure(cause)
            if time.monotonic() > deadline:
                raise LoadError(f"GET {path}: no final answer in {COMMAND_DEADLINE_SECONDS} s")
            time.sleep(RETRY_PAUSE_SECONDS)


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in (statuses or (200, 201)):
        raise LoadError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


def _final(response: httpx.Response) -> None:
    """A 201, or the 409 of a command applied whose answer was lost; anything else raises."""
    if not (response.status_code == 409 and APPLIED_WITHOUT_ANSWER in response.text):
        _ok(response, 201)


def _until_known(attempt: Callable[[], httpx.Response], what: str, timeout: float = 120) -> Any:
    """Repeat a command (each time anew) until the service knows what it refers to: it learns
    of goals' entities from goals' topic, a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        response = attempt()
        if 200 <= response.status_code < 300:
            return response.json()
        if response.status_code not in (404, 409, 422) or time.monotonic() > deadline:
            raise LoadError(f"{what}: {response.status_code} {response.text[:500]}")
        time.sleep(0.5)


def decision(body: str = BUN) -> dict[str, str]:
    """A decision of a political body (the committee by default), with its minute reference."""
    return {
        "decided_by": body,
        "decided_on": values.today().isoformat(),
        "minute_ref": f"{'KF' if body == KF else 'BUN'} {values.today().year} §1",
    }


@dataclass
class Worker:
    """One client thread's entities and its round of commands."""

    client: Client
    name: str
    unit_id: str = ""
    goal_id: str = ""
    goal_etag: str = ""
    indicator_id: str = ""
    plan_id: str = ""
    step: int = 0
    next_day: int = 0

    def setup(self, strategic_goal: str) -> None:
        """Its unit, goal, indicator and plan; made before the faults (not counted)."""
        c = self.client
        unit = {"name": f"{self.name} enhet", "kind": "unit", "parent_id": SECTOR}
        self.unit_id = _ok(c.command("goals", "setup", "/api/v1/org-units", unit, record=False))[
            "id"
        ]
        goal = {
            "level": "operational",
            "owner_unit_id": BUN,
            "period": "2023-2026",
            "title": f"{self.name} mål",
            "derived_from": [strategic_goal],
        }
        self.goal_id = _ok(c.command("goals", "setup", "/api/v1/goals", goal, record=False))["id"]
        adopted = c.command(
            "goals", "setup", f"/api/v1/goals/{self.goal_id}/adopt", decision(), record=False
        )
        _ok(adopted)
        self.goal_etag = adopted.headers["ETag"]
        self.new_indicator()
        plan = {
            "unit_id": self.unit_id,
            "period": str(RESULT_YEAR),
            "title": f"{self.name} plan",
            "goal_ids": [self.goal_id],
        }
        self.plan_id = _until_known(
            lambda: c.command("plans", "setup", "/api/v1/plans", plan, record=False),
            "a plan serving the new goal",
        )["id"]

    def new_indicator(self) -> None:
        """A new indicator of its goal, known to reports (its results start on 1 January)."""
        c = self.client
        body = {
            "name": f"{self.name} indikator {uuid.uuid4().hex[:6]}",
            "unit_of_measure": "%",
            "direction": "higher_is_better",
            "source": {"kind": "survey"},
            "targets": {str(RESULT_YEAR): 50},
            **decision(),
        }
        path = f"/api/v1/goals/{self.goal_id}/indicators"
        self.indicator_id = _ok(c.command("goals", "setup", path, body, record=False))["id"]
        self.next_day = 0
        self.goal_etag = self._etag(f"/api/v1/goals/{self.goal_id}")
        _until_known(lambda: self._result(record=False), "a result of the new indicator")

    def _etag(self, path: str) -> str:
        return self.client.get(path).headers["ETag"]

    def _result(self, *, record: bool = True) -> httpx.Response:
        day = dt.date(RESULT_YEAR, 1, 1) + dt.timedelta(days=self.next_day)
        self.next_day += 1
        body = {"indicator_id": self.indicator_id, "period": day.isoformat(), "value": day.day}
        return self.client.command("reports", "result", "/api/v1/results", body, record=record)

    def one(self) -> None:
        """The next command of the round. A command applied whose answer was lost (a final
        409) counts as refused, not accepted: the client never learnt what it made."""
        c = self.client
        self.step += 1
        kind = self.step % 4
        if kind == 0:
            body = {"title": f"{self.name} mål, version {self.step}", **decision()}
            path = f"/api/v1/goals/{self.goal_id}/revise"
            answer = c.command("goals", "revise", path, body, self.goal_etag)
            if answer.status_code == 412 or APPLIED_WITHOUT_ANSWER in answer.text:
                # an earlier answer, or this one, was lost: the goal did change
                self.goal_etag = self._etag(f"/api/v1/goals/{self.goal_id}")
                return
            _ok(answer)
            self.goal_etag = answer.headers["ETag"]
        elif kind == 1:
            draft = {
                "level": "strategic",
                "owner_unit_id": KF,
                "period": "2027-2030",
                "title": f"{self.name} utkast {self.step}",
                "development_area_id": AREA,
                "perspectives": ["social"],
            }
            _final(c.command("goals", "goal", "/api/v1/goals", draft))
        elif kind == 2:
            activity = {
                "title": f"{self.name} aktivitet {self.step}",
                "owner": "rektor",
                "starts_on": f"{RESULT_YEAR}-01-10",
                "due_on": f"{RESULT_YEAR}-12-10",
                "goal_ids": [self.goal_id],
            }
            path = f"/api/v1/plans/{self.plan_id}/activities"
            _final(c.command("plans", "activity", path, activity))
        else:
            day = dt.date(RESULT_YEAR, 1, 1) + dt.timedelta(days=self.next_day)
            if day >= values.today():
                self.new_indicator()
            _final(self._result())


def strategic_goal(client: Client, name: str) -> str:
    """An adopted strategic goal of the council, which the workers' goals are derived from."""
    body = {
        "level": "strategic",
        "owner_unit_id": KF,
        "period": "2023-2026",
        "title": f"{name} strategiskt mål",
        "development_area_id": AREA,
        "perspectives": ["social"],
    }
    goal: str = _ok(client.command("goals", "setup", "/api/v1/goals", body, record=False))["id"]
    path = f"/api/v1/goals/{goal}/adopt"
    _ok(client.command("goals", "setup", path, decision(KF), record=False))
    return goal


class Load:
    """`workers` threads sending commands through the gateway until `stop()`; each pauses
    `pause` seconds between commands (a steady load, not a flood). Exceptions of the threads
    are kept in `errors` and raised by `stop()`."""

    def __init__(self, gateway_url: str, key: str, workers: int = 3, pause: float = 0.05) -> None:
        self.tally = Tally()
        self.halt = threading.Event()
        self.pause = pause
        self.errors: list[BaseException] = []
        run = uuid.uuid4().hex[:6]
        self.clients = [Client(gateway_url, key, self.tally, self.halt) for _ in range(workers)]
        self.workers = [Worker(c, f"Last {run}-{i}") for i, c in enumerate(self.clients)]
        self.threads: list[threading.Thread] = []
        self.extra: list[Callable[[Client], None]] = []

    def setup(self) -> None:
        goal = strategic_goal(self.clients[0], self.workers[0].name)
        for worker in self.workers:
            worker.setup(goal)

    def start(self) -> None:
        for worker in self.workers:
            thread = threading.Thread(target=self._run, args=(worker,), name=worker.name)
            thread.start()
            self.threads.append(thread)

    def _run(self, worker: Worker) -> None:
        try:
            while not self.halt.is_set():
                worker.one()
                for read in self.extra:
                    read(worker.client)
                self.halt.wait(self.pause)
        except BaseException as exc:
            self.errors.append(exc)
            self.halt.set()

    def stop(self) -> None:
        """Stop the workers after their command under way; raise the first error of any."""
        self.halt.set()
        for thread in self.threads:
            thread.join()
        for client in self.clients:
            client.close()
        if self.errors:
            raise self.errors[0]
