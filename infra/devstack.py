"""The dev stack in one command (`make run`): PostgreSQL, a Kafka-protocol broker and every service.

PostgreSQL keeps its data in `.dev/pgdata` across runs; the Tansu broker keeps topics in memory,
so the relays re-feed it from their stores on start (DESIGN.md §8, docs/adr/0003). Each service
gets its own database and is migrated, then its web app (gunicorn), relay and consumer run as
child processes whose lines are shown behind a coloured name, as foreman does (and kept in
`.dev/logs/`). Once they all answer, the services are seeded in order (goals first): a seed may
wait for another service's seeded data to reach it over Kafka, as reports' does. A crashed app
process is restarted with backoff, and so are a crashed PostgreSQL (same data dir and port: the
durable data survives) and a crashed broker (same port, empty again: the relays re-feed it), each
with a loud line; the stack gives up, and stops everything, only when a server crashed
SERVER_MAX_CRASHES times within a minute. Ctrl-C or SIGTERM stops the apps, then the broker, then
PostgreSQL; exit 0.

Environment: STYRKORT_DEV_DIR (default .dev), DEV_PG_PORT (55432), DEV_KAFKA_PORT (19092),
DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS (use that PostgreSQL server / Kafka cluster instead),
GATEWAY_PORT, GOALS_PORT, PLANS_PORT, REPORTS_PORT, LOG_LEVEL, DEV_START_TIMEOUT (seconds, 60),
DEV_SERVER_MAX_CRASHES (5: a server crashing that often within a minute stops the stack).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import psutil
import psycopg

from infra.embedded import EmbeddedBroker, EmbeddedPostgres, create_database, port_open
from shared.config import DEFAULT_PORTS, SERVICES

REPO = Path(__file__).resolve().parents[1]
#: Besides its web app (if it has `wsgi.py`), what each service runs, if its CLI has the command.
WORKERS = {
    "goals": ("relay",),
    "plans": ("relay", "consumer"),
    "reports": ("relay", "consumer"),
    "gateway": ("relay",),  # its API keys' events go to gateway.events
}
API_PATHS = {"goals": "goals", "plans": "plans", "reports": "reports", "gateway": "openapi.json"}
STOP_GRACE_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30.0
#: A server (PostgreSQL, the broker) that crashes this often within a minute is not restarted
#: again: something is wrong with it, not with one moment. DEV_SERVER_MAX_CRASHES overrides it
#: (tests/fault, which kills them on purpose, may hit one several times a minute).
SERVER_MAX_CRASHES = 5
PALETTE = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)  # ANSI colours of the name prefixes
RED = 31


class StackError(RuntimeError):
    """The stack cannot run: a start-up step failed, or PostgreSQL or the broker died."""


class Shutdown(Exception):
    """Ctrl-C or SIGTERM: stop everything and exit 0."""


class Console:
    """The shared terminal: whole lines behind a coloured name, copied to .dev/logs/<name>.log."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.coloured = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        self.lock = threading.Lock()
        self.colours: dict[str, int] = {}
        self.logs: dict[str, IO[str]] = {}

    def line(self, name: str, text: str, *, loud: bool = False) -> None:
        with self.lock:
            if name not in self.logs:
                self.logs[name] = (self.log_dir / f"{name}.log").open("w", encoding="utf-8")
            colour = self.colours.setdefault(name, PALETTE[len(self.colours) % len(PALETTE)])
            prefix = f"{name:<16} |"
            if self.coloured:
                prefix = f"\033[{colour}m{prefix}\033[0m"
            for part in text.splitlines() or [""]:
                self.logs[name].write(part + "\n")
                if loud:
                    part = f"\033[1;{RED}m{part}\033[0m" if self.coloured else f"*** {part}"
                with contextlib.suppress(OSError):  # a closed terminal must not stall the pipes
                    print(f"{prefix} {part}", flush=True)
            self.logs[name].flush()

    def follow(
        self, name: str, stream: IO[bytes], tail: deque[str] | None = None
    ) -> threading.Thread:
        """Show every line of `stream` until it closes (on a thread of its own)."""

        def pump() -> None:
            with stream:
                for raw in stream:
                    text = raw.decode(errors="replace").rstrip()
                    if tail is not None:
                        tail.append(text)
                    self.line(name, text)

        thread = threading.Thread(target=pump, name=f"follow-{name}", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        for log in self.logs.values():
            log.close()


@dataclass
class Child:
    """One supervised process of a service: its web app, relay or consumer."""

    name: str
    args: list[str]
    env: dict[str, str]
    health_url: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=25))
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None


@dataclass
class ServerWatch:
    """A server the stack restarts when it dies: PostgreSQL or the broker."""

    name: str
    restart: Callable[[], None]
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None


def backoff_after(crashes: list[float], now: float) -> tuple[list[float], float]:
    """The crashes of the last minute, now included, and how long to wait before the restart:
    1 s after one crash, doubling with each further crash, at most MAX_BACKOFF_SECONDS."""
    recent = [t for t in crashes if now - t < 60] + [now]
    return recent, min(2.0 ** (len(recent) - 1), MAX_BACKOFF_SECONDS)


class DevStack:
    def __init__(self, dev_dir: Path, console: Console) -> None:
        self.dev_dir = dev_dir
        self.console = console
        self.pg: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.children: list[Child] = []
        self.admin_key: str | None = None
        self.servers: list[ServerWatch] = []

    # -- start ------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop_stale_children()
        server_url = self._start_postgres()
        bootstrap = self._start_broker()
        secret = internal_secret(self.dev_dir)
        services = [s for s in SERVICES if (REPO / "services" / s / "__main__.py").exists()]
        seeds: list[tuple[str, dict[str, str]]] = []
        for service in services:
            database_url = create_database(server_url, f"styrkort_{service}")
            env = service_env(service, database_url, bootstrap, secret)
            commands = self._cli_commands(service, env)
            self._run_step(service, "migrate", env)
            if "seed" in commands:
                seeds.append((service, env))
            self._plan_children(service, env, commands)
            if service == "gateway" and "keys" in commands:
                self.admin_key = self._admin_key(env)
        for child in self.children:
            self._spawn(child)
        timeout = float(os.environ.get("DEV_START_TIMEOUT", "60"))
        deadline = time.monotonic() + timeout
        for child in self.children:
            self._wait_healthy(child, deadline, timeout)
        # Seeds run once every process is up, in SERVICES order: a service that learns of
        # another's data from its topic (reports' seed refers to goals' seeded indicators)
        # needs that service seeded, its relay and its own consumer running.
        for service, env in seeds:
            self._run_step(service, "seed", env)
        self._banner(services, bootstrap)

    def _start_postgres(self) -> str:
        """The URL of the PostgreSQL server: DATABASE_URL's, or the embedded one's."""
        if os.environ.get("DATABASE_URL"):
            return os.environ["DATABASE_URL"]
        port = int(os.environ.get("DEV_PG_PORT", "55432"))
        data_dir = self.dev_dir / "pgdata"
        if port_open(port) and not (data_dir / "postmaster.pid").exists():
            raise StackError(f"port {port} is in use: set DEV_PG_PORT, or DATABASE_URL to use it")
        self.pg = EmbeddedPostgres(data_dir, port, durable=True)
        self._run_postgres()
        self.servers.append(ServerWatch("postgres", self._run_postgres))
        return self.pg.url()

    def _run_postgres(self) -> None:
        """Start (or, after a crash, start again) the embedded PostgreSQL on its data dir."""
        assert self.pg is not None
        self.pg.log = log = self._pipe("postgres")
        try:
            self.pg.start()
        finally:
            log.close()  # the server holds its own copy
            self.pg.log = None

    def _start_broker(self) -> str:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        self.broker = EmbeddedBroker(int(os.environ.get("DEV_KAFKA_PORT", "19092")))
        self._run_broker()
        self.servers.append(ServerWatch("kafka", self._run_broker))
        return self.broker.bootstrap_servers

    def _run_broker(self) -> None:
        """Start (or, after a crash, start again, empty) the embedded broker on its port."""
        assert self.broker is not None
        self.broker.log = log = self._pipe("kafka")
        try:
            self.broker.start()
        finally:
            log.close()
            self.broker.log = None
        self._remember_pids()

    def _pipe(self, name: str) -> IO[bytes]:
        """The write end of a pipe whose lines the console shows as `name`."""
        read_fd, write_fd = os.pipe()
        self.console.follow(name, os.fdopen(read_fd, "rb"))
        return os.fdopen(write_fd, "wb")

    def _cli_commands(self, service: str, env: dict[str, str]) -> set[str]:
        cli = [sys.executable, "-m", f"services.{service}", "--help"]
        out = subprocess.run(cli, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise StackError(f"`{' '.join(cli[1:])}` failed:\n{out.stdout}{out.stderr}")
        return subcommands(out.stdout)

    def _run_step(self, service: str, command: str, env: dict[str, str]) -> None:
        """Run a one-off command of the service's CLI to completion; it must succeed."""
        proc = _popen([sys.executable, "-m", f"services.{service}", command], env)
        try:
            assert proc.stdout is not None
            self.console.follow(f"{service}-{command}", proc.stdout).join()
            code = proc.wait()
        finally:
            _signal_group(proc, signal.SIGKILL)
        if code != 0:
            log = self.console.log_dir / f"{service}-{command}.log"
            raise StackError(
                f"`python -m services.{service} {command}` exited with {code}; see {log}"
            )

    def _admin_key(self, env: dict[str, str]) -> str:
        """The dev stack's admin API key, made once with the gateway's CLI and kept in
        .dev/admin-key (mode 0600); made anew only if the gateway's database no longer knows
        it as active (e.g. after `make clean` removed the data but not the file)."""
        path = self.dev_dir / "admin-key"
        if path.exists():
            key = path.read_text().strip()
            key_id = key.split("_")[1] if key.count("_") >= 2 else ""
            lines = self._gateway_cli(env, "keys", "list").splitlines()
            listed = [json.loads(line) for line in lines]
            if any(k["key_id"] == key_id and k["status"] == "active" for k in listed):
                return key
        out = self._gateway_cli(
            env, "keys", "create", "--role", "admin", "--scope", "*", "--name", "dev stack admin"
        )
        key = out.strip().splitlines()[-1]
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(key + "\n")
        self.console.line("devstack", f"made an admin API key for the dev stack: {path}")
        return key

    def _gateway_cli(self, env: dict[str, str], *args: str) -> str:
        """The output of a gateway CLI command (not shown: it may hold a key)."""
        cli = [sys.executable, "-m", "services.gateway", *args]
        out = subprocess.run(cli, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise StackError(f"`{' '.join(cli[1:])}` failed:\n{out.stderr}")
        return out.stdout

    def _plan_children(self, service: str, env: dict[str, str], commands: set[str]) -> None:
        if (REPO / "services" / service / "wsgi.py").exists():
            port = service_port(service)
            if port_open(port):
                raise StackError(f"port {port} is in use: set {service.upper()}_PORT to a free one")
            gunicorn = str(Path(sys.executable).parent / "gunicorn")
            config = str(REPO / "infra" / "gunicorn_conf.py")
            app = f"services.{service}.wsgi:app"
            args = [gunicorn, "-c", config, app, "--bind", f"127.0.0.1:{port}"]
            health = f"http://127.0.0.1:{port}/healthz"
            self.children.append(Child(f"{service}-web", args, env, health_url=health))
        for worker in WORKERS[service]:
            if worker in commands:
                args = [sys.executable, "-m", f"services.{service}", worker]
                self.children.append(Child(f"{service}-{worker}", args, env))

    def _spawn(self, child: Child) -> None:
        child.proc = _popen(child.args, child.env)
        assert child.proc.stdout is not None
        child.reader = self.console.follow(child.name, child.proc.stdout, child.tail)
        child.restart_at = None
        self._remember_pids()

    def _wait_healthy(self, child: Child, deadline: float, timeout: float) -> None:
        if child.health_url is None or child.proc is None:
            return
        while not answers_ok(child.health_url):
            if child.proc.poll() is not None:
                raise StackError(
                    f"{child.name} exited with {child.proc.returncode}. {_tail(child)}"
                )
            if time.monotonic() > deadline:
                raise StackError(
                    f"{child.name} did not answer GET {child.health_url} with 200 "
                    f"within {timeout:.0f} s. {_tail(child)}"
                )
            time.sleep(0.25)

    def _banner(self, services: list[str], bootstrap: str) -> None:
        rows = ["", "styrkort dev stack is up", ""]
        for child in self.children:
            if child.health_url:
                service = child.name.removesuffix("-web")
                base = child.health_url.removesuffix("/healthz")
                rows.append(
                    f"  {service:<9} {base}/api/v1/{API_PATHS[service]:<14} {child.health_url}"
                )
        if not services:
            rows.append("  (no services yet: nothing has services/<name>/__main__.py)")
        where = (
            f"{self.pg.data_dir} (port {self.pg.port})" if self.pg else "the DATABASE_URL server"
        )
        rows += [
            "",
            f"  PostgreSQL {where}, databases styrkort_<service>",
            f"  Kafka      {bootstrap}"
            + (" (in memory: relays re-feed it)" if self.broker else ""),
            f"  Logs       {self.console.log_dir}",
            "",
        ]
        if self.admin_key:
            rows += [
                f"  Admin key  {self.admin_key}",
                f"             (in {self.dev_dir / 'admin-key'}; send it to the gateway as",
                "             Authorization: Bearer $(cat .dev/admin-key))",
                "",
            ]
        rows += [
            "  Ctrl-C to stop.",
            "",
        ]
        with self.console.lock:
            print("\n".join(rows), flush=True)

    # -- run --------------------------------------------------------------------------------
    def supervise(self) -> None:
        """Restart crashed servers and app processes with backoff; raise if a server keeps
        crashing (SERVER_MAX_CRASHES within a minute)."""
        while True:
            for watch in self.servers:
                self._watch_server(watch)
            now = time.monotonic()
            for child in self.children:
                assert child.proc is not None
                if child.restart_at is not None and now >= child.restart_at:
                    self.console.line("devstack", f"restarting {child.name}")
                    self._spawn(child)
                elif child.restart_at is None and child.proc.poll() is not None:
                    self._schedule_restart(child, now)
            time.sleep(0.5)

    def _watch_server(self, watch: ServerWatch) -> None:
        """Notice a dead server and restart it when its backoff is over. The apps ride it out
        on their own: pools reconnect, the relays re-feed an empty broker, consumers skip what
        they applied."""
        server = self.pg if watch.name == "postgres" else self.broker
        if server is None:
            return
        now = time.monotonic()
        if watch.restart_at is None:
            if server.proc is None or server.proc.poll() is None:
                return
            code = server.proc.returncode
            self._server_crashed(watch, f"EXITED unexpectedly with {code}", now)
            return
        if now < watch.restart_at:
            return
        self.console.line("devstack", f"restarting {watch.name}", loud=True)
        try:
            watch.restart()
        except (RuntimeError, TimeoutError, OSError) as exc:
            self._server_crashed(watch, f"did not start again ({exc})", time.monotonic())
            return
        watch.restart_at = None
        self.console.line("devstack", f"{watch.name} is back", loud=True)

    def _server_crashed(self, watch: ServerWatch, what: str, now: float) -> None:
        watch.crashes, delay = backoff_after(watch.crashes, now)
        if len(watch.crashes) >= int(os.environ.get("DEV_SERVER_MAX_CRASHES", SERVER_MAX_CRASHES)):
            raise StackError(
                f"{watch.name} {what}, {len(watch.crashes)}x within a minute: giving up, "
                "stopping everything"
            )
        watch.restart_at = now + delay
        self.console.line(
            "devstack",
            f"{watch.name} {what} ({len(watch.crashes)}x in the last minute); restarting it in"
            f" {delay:.0f} s",
            loud=True,
        )

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.proc is not None
        _signal_group(child.proc, signal.SIGKILL)  # e.g. gunicorn workers of a crashed master
        child.crashes, delay = backoff_after(child.crashes, now)
        child.restart_at = now + delay
        self.console.line(
            "devstack",
            f"{child.name} EXITED with {child.proc.returncode} ({len(child.crashes)}x in the last"
            f" minute); restarting in {delay:.0f} s",
            loud=True,
        )

    # -- stop -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Apps first (SIGTERM to each process group, SIGKILL after a grace), broker, PostgreSQL."""
        running = [c for c in reversed(self.children) if c.proc is not None]
        for child in running:
            assert child.proc is not None
            _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.console.line("devstack", f"{child.name} ignored SIGTERM: killing", loud=True)
            _signal_group(child.proc, signal.SIGKILL)  # whatever of its group is left
            child.proc.wait()
        if self.broker:
            self.broker.stop()
        if self.pg:
            self.pg.stop()
        (self.dev_dir / "pids.json").unlink(missing_ok=True)

    def _remember_pids(self) -> None:
        """Note our process groups, so that a run after a killed launcher can stop them."""
        procs = [c.proc for c in self.children if c.proc and c.proc.poll() is None]
        if self.broker and self.broker.proc:
            procs.append(self.broker.proc)
        started = {}
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                started[str(proc.pid)] = psutil.Process(proc.pid).create_time()
        (self.dev_dir / "pids.json").write_text(json.dumps(started))

    def _stop_stale_children(self) -> None:
        """A launcher killed with SIGKILL leaves its children holding their ports: kill them."""
        path = self.dev_dir / "pids.json"
        if not path.exists():
            return
        try:
            groups = json.loads(path.read_text())
        except ValueError:  # cut short by a kill
            groups = {}
        stale = []
        for pid, started in groups.items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(int(pid))
                if abs(proc.create_time() - started) < 0.01:  # not a reused pid
                    stale.append(proc)
        if stale:
            pids = ", ".join(str(proc.pid) for proc in stale)
            self.console.line("devstack", f"killing process groups left by an earlier run: {pids}")
        for proc in stale:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        psutil.wait_procs(stale, timeout=5)
        path.unlink()


def service_port(service: str) -> int:
    return int(os.environ.get(f"{service.upper()}_PORT", DEFAULT_PORTS[service]))


def service_env(service: str, database_url: str, bootstrap: str, secret: str) -> dict[str, str]:
    """A service process's environment: own database, broker, secret, the other services' URLs."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        STYRKORT_INTERNAL_SECRET=secret,
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
        PYTHONUNBUFFERED="1",  # lines reach the terminal as they are written
    )
    for other in SERVICES:  # where the gateway finds the services: GOALS_URL=http://...
        env[f"{other.upper()}_URL"] = f"http://127.0.0.1:{service_port(other)}"
    if service == "gateway":  # the reviewer pages' cookie over plain http://127.0.0.1
        env.setdefault("GATEWAY_COOKIE_SECURE", "0")
    return env


def internal_secret(dev_dir: Path) -> str:
    """STYRKORT_INTERNAL_SECRET, or one generated once into .dev/internal-secret (mode 0600)."""
    if os.environ.get("STYRKORT_INTERNAL_SECRET"):
        return os.environ["STYRKORT_INTERNAL_SECRET"]
    path = dev_dir / "internal-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def subcommands(help_text: str) -> set[str]:
    """The commands a CLI's --help lists: argparse's `{a,b}` or indented `name  description`."""
    braces = re.findall(r"\{([\w,-]+)\}", help_text)
    listed = re.findall(r"^[ \t]+([a-z][\w-]*)(?:[ \t]{2,}|$)", help_text, re.MULTILINE)
    return {name for group in braces for name in group.split(",")} | set(listed)


def answers_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _popen(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in its own process group (Ctrl-C reaches only us; we signal the whole group)."""
    return subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _tail(child: Child) -> str:
    if child.reader is not None and child.proc is not None and child.proc.poll() is not None:
        child.reader.join(timeout=2)  # let the last lines arrive
    lines = "\n".join(f"    {line}" for line in child.tail) or "    (no output)"
    return f"Last lines of its output:\n{lines}"


def main() -> int:
    dev_dir = Path(os.environ.get("STYRKORT_DEV_DIR") or REPO / ".dev").resolve()
    (dev_dir / "logs").mkdir(parents=True, exist_ok=True)
    lock = (dev_dir / "devstack.lock").open("w")  # released by the kernel however we end
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another dev stack is running on {dev_dir}: stop it first", file=sys.stderr)
        return 1
    console = Console(dev_dir / "logs")
    stack = DevStack(dev_dir, console)
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:  # a second Ctrl-C must not interrupt the clean-up
            stopping = True
            raise Shutdown(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 1
    try:
        stack.start()
        stack.supervise()
    except Shutdown as reason:
        console.line("devstack", f"{reason}: stopping")
        code = 0
    except (RuntimeError, TimeoutError, psycopg.OperationalError) as error:  # incl. StackError
        console.line("devstack", str(error), loud=True)
    except Exception:
        console.line("devstack", traceback.format_exc(), loud=True)
    finally:
        stopping = True
        stack.stop()
        console.line(
            "devstack", "stopped" if code == 0 else "stopped after an error", loud=code != 0
        )
        console.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
