"""The gateway's cost (issue #11): requests/s and p99 of a small GET and of a command through
the gateway against the same requests sent straight to the service, signed by hand, in one run.

The whole dev stack runs as `make run` starts it (infra/devstack.py: embedded PostgreSQL and
broker, every service and the gateway under gunicorn with their relays and consumers), on free
ports in a temporary directory, with its admin key. The GET is `GET /api/v1/org-units/<id>`;
the command a rename of an organisation unit with `If-Match` (each client renames its own unit,
so no client's ETag goes stale). Through the gateway a client sends its key; straight, it signs
each request for goals as the gateway would (a new nonce each time). Prints requests/s, p50
and p99 of each and the ratio gateway / straight (target ≥ 0.5); asserts nothing.
  python -m bench gateway [--requests N] [--clients C]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.table import Figure, at_least, record
from infra.embedded import free_port
from shared.identity import Identity, sign, signing_target

REPO = Path(__file__).resolve().parent.parent
PORT_SETTINGS = {
    "postgres": "DEV_PG_PORT",
    "kafka": "DEV_KAFKA_PORT",
    "gateway": "GATEWAY_PORT",
    "goals": "GOALS_PORT",
    "plans": "PLANS_PORT",
    "reports": "REPORTS_PORT",
}
BANNER = "styrkort dev stack is up"
#: goals' seeded council (services/goals/seed.py derives the id from this namespace and key)
SEED_NAMESPACE = uuid.UUID("5b0e3c1e-6a4f-4c1b-9d59-1471a0000000")
COUNCIL = f"org-unit-{uuid.uuid5(SEED_NAMESPACE, 'kf')}"
BENCH_IDENTITY = Identity("key:bench", "admin", "*")


@dataclass
class DevStackRun:
    """`python -m infra.devstack` on free ports in `dev_dir`, until `stop()`.

    `env` is added to the stack's environment (e.g. GATEWAY_UPSTREAM_TIMEOUT); every process
    the stack started is found by `dev_dir` and killed if it outlives the launcher."""

    dev_dir: Path
    env: dict[str, str]
    ports: dict[str, int] | None = None
    launcher: subprocess.Popen[bytes] | None = None

    @property
    def output(self) -> Path:
        return self.dev_dir.parent / f"{self.dev_dir.name}-launcher.log"

    def url(self, service: str) -> str:
        assert self.ports is not None
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def admin_key(self) -> str:
        return (self.dev_dir / "admin-key").read_text().strip()

    @property
    def secret(self) -> str:
        return (self.dev_dir / "internal-secret").read_text().strip()

    def start(self, timeout: float = 240.0) -> None:
        ports: set[int] = set()
        while len(ports) < len(PORT_SETTINGS):
            ports.add(free_port())
        self.ports = dict(zip(PORT_SETTINGS, sorted(ports), strict=True))
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "STYRKORT_INTERNAL_SECRET")
        }
        env.update({setting: str(self.ports[name]) for name, setting in PORT_SETTINGS.items()})
        env.update(STYRKORT_DEV_DIR=str(self.dev_dir), NO_COLOR="1", **self.env)
        with self.output.open("wb") as out:
            self.launcher = subprocess.Popen(
                [sys.executable, "-m", "infra.devstack"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_up(timeout)

    def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        health = f"{self.url('gateway')}/healthz"
        while True:
            assert self.launcher is not None
            if self.launcher.poll() is not None:
                raise RuntimeError(f"the dev stack exited:\n{self.log_tail()}")
            if BANNER in self.output.read_text(errors="replace") and answers(health):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dev stack did not come up:\n{self.log_tail()}")
            time.sleep(0.5)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])

    def processes(self) -> list[psutil.Process]:
        """Every process started for this dev dir (its path in the command line or env)."""
        found = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.pid == os.getpid():
                    continue
                in_cmdline = str(self.dev_dir) in " ".join(proc.cmdline())
                if in_cmdline or proc.environ().get("STYRKORT_DEV_DIR") == str(self.dev_dir):
                    found.append(proc)
        return found

    def stop(self) -> None:
        """Ctrl-C to the launcher (it stops everything), then kill whatever is left."""
        if self.launcher is not None and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGINT)
            try:
                self.launcher.wait(60)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
                self.launcher.wait()
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                proc.kill()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running_stack(env: dict[str, str]) -> Iterator[DevStackRun]:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        stack = DevStackRun(Path(tmp) / "dev", env)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


# -- the two ways in --------------------------------------------------------------------------


class Door:
    """How a client reaches goals: through the gateway with a key, or straight, signed."""

    def __init__(self, base_url: str, key: str | None, secret: str | None) -> None:
        self.key, self.secret = key, secret
        self.client = httpx.Client(base_url=base_url, timeout=30, trust_env=False)

    def send(self, method: str, path: str, body: bytes = b"", **headers: str) -> httpx.Response:
        if body:
            headers["Content-Type"] = "application/json"
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        else:
            assert self.secret is not None
            headers.update(
                sign(
                    self.secret,
                    BENCH_IDENTITY,
                    method,
                    signing_target(path),
                    body,
                    audience="goals",
                    headers=headers,
                )
            )
        return self.client.request(method, path, content=body, headers=headers)

    def close(self) -> None:
        self.client.close()


def create_unit(door: Door, name: str) -> tuple[str, str]:
    body = httpx.Request(
        "POST", "/", json={"name": name, "kind": "committee", "parent_id": COUNCIL}
    ).content
    made = door.send("POST", "/api/v1/org-units", body)
    if made.status_code != 201:
        raise RuntimeError(f"could not create a unit: {made.status_code} {made.text}")
    return str(made.json()["id"]), made.headers["ETag"]


# -- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self, label: str) -> str:
        return (
            f"{label:<34} {self.per_second:8,.0f} req/s   p50 {self.quantile(0.5) * 1000:6.1f} ms"
            f"   p99 {self.quantile(0.99) * 1000:6.1f} ms   ({self.requests} requests)"
        )


def measure(
    clients: int, per_client: int, make_worker: Callable[[int], Callable[[], None]]
) -> Figures:
    """`clients` threads each call their worker `per_client` times; every call is timed.
    A worker raises on an unexpected answer; the first failure is raised here."""
    workers = [make_worker(i) for i in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start_line = threading.Barrier(clients + 1)

    def run(i: int) -> None:
        start_line.wait()
        try:
            for _ in range(per_client):
                began = time.perf_counter()
                workers[i]()
                latencies[i].append(time.perf_counter() - began)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    flat = [value for per in latencies for value in per]
    return Figures(len(flat), seconds, flat)


def getter(door: Door, unit_id: str) -> Callable[[], None]:
    def get() -> None:
        answer = door.send("GET", f"/api/v1/org-units/{unit_id}")
        if answer.status_code != 200:
            raise RuntimeError(f"GET answered {answer.status_code}: {answer.text}")

    return get


def renamer(door: Door, name: str) -> Callable[[], None]:
    """Renames its own unit again and again, each time with the ETag of the last answer."""
    unit_id, etag = create_unit(door, f"{name} 0")
    state: dict[str, Any] = {"etag": etag, "n": 0}

    def rename() -> None:
        state["n"] += 1
        body = httpx.Request("POST", "/", json={"name": f"{name} {state['n']}"}).content
        path = f"/api/v1/org-units/{unit_id}/rename"
        answer = door.send("POST", path, body, **{"If-Match": state["etag"]})
        if answer.status_code != 200:
            raise RuntimeError(f"rename answered {answer.status_code}: {answer.text}")
        state["etag"] = answer.headers["ETag"]

    return rename


def compare(
    label: str,
    doors: dict[str, list[Door]],
    requests: int,
    make: Callable[[Door, int], Callable[[], None]],
) -> None:
    """Warm both ways up, then measure the gateway and straight alternately, twice each, and
    keep each one's better run (a background flush or relay burst hits either by chance)."""
    clients = len(doors["gateway"])
    best: dict[str, Figures] = {}
    workers = {way: [make(door, i) for i, door in enumerate(ds)] for way, ds in doors.items()}
    for way in doors:  # warm-up: pooled connections, gunicorn threads, caches
        measure(clients, max(20, requests // 20), workers[way].__getitem__)
    for _ in range(2):
        for way in doors:
            per_client = requests // clients
            figures = measure(clients, per_client, workers[way].__getitem__)
            if way not in best or figures.per_second > best[way].per_second:
                best[way] = figures
    print(best["gateway"].line(f"{label}, through the gateway"))
    print(best["straight"].line(f"{label}, straight to goals"))
    ratio = best["gateway"].per_second / best["straight"].per_second
    print(f"{label}: ratio gateway / straight {ratio:.2f} (target >= 0.5)")
    through, straight = best["gateway"], best["straight"]
    record(
        Figure(
            f"{label} through the gateway, {clients} clients",
            through.per_second,
            "requests/s",
            f"straight to goals {straight.per_second:,.0f}/s",
            ratio,
            at_least(0.5, "ratio"),
        )
    )
    p99, straight_p99 = through.quantile(0.99) * 1000, straight.quantile(0.99) * 1000
    record(
        Figure(
            f"{label} through the gateway, {clients} clients: p99",
            p99,
            "ms",
            f"straight to goals {straight_p99:.1f} ms",
            p99 / straight_p99,
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench gateway")
    parser.add_argument("--requests", type=int, default=2000, help="per measured run")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    args = parser.parse_args(argv)
    # the limit would refuse the benchmark's own key; 2 workers x 4 threads as `make run`
    env = {"GATEWAY_RATE_LIMIT": "1000000/minute", "LOG_LEVEL": "WARNING"}
    print("starting the dev stack (embedded PostgreSQL and broker, all services) ...")
    with running_stack(env) as stack:
        doors = {
            "gateway": [
                Door(stack.url("gateway"), stack.admin_key, None) for _ in range(args.clients)
            ],
            "straight": [Door(stack.url("goals"), None, stack.secret) for _ in range(args.clients)],
        }
        try:
            unit_id, _ = create_unit(doors["gateway"][0], "Bänknämnden")
            print(
                f"{args.clients} client threads, {args.requests} requests a run; "
                f"gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} workers x "
                f"{os.environ.get('GUNICORN_THREADS', '4')} threads per app; "
                f"{os.cpu_count()} CPUs shared by clients and servers"
            )
            compare("GET /org-units/<id>", doors, args.requests, lambda d, i: getter(d, unit_id))
            compare(
                "rename with If-Match",
                doors,
                args.requests // 2,
                lambda d, i: renamer(d, f"Bänk {uuid.uuid4().hex[:6]} {i}"),
            )
        finally:
            for ds in doors.values():
                for door in ds:
                    door.close()


if __name__ == "__main__":
    main()
