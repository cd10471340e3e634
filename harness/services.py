"""Private Redis and PostgreSQL instances a test may stop and start (never the machine's shared ones)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.server import ServerProcess, free_port, write_credentials


@dataclass
class PrivateRedis:
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.root.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = subprocess.Popen(
            [*argv, "--dir", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"private redis-server on {self.port} did not start")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for d in versions:
        if (d / name).exists():
            return str(d / name)
    raise RuntimeError(f"{name} not found (install PostgreSQL's server package)")


#: The machine's PostgreSQL (started by .ci/run), as its superuser.
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin(sql: str, admin_dsn: str = PG_ADMIN_DSN) -> None:
    """One statement as the superuser (psql keeps this synchronous, usable from sync and async code alike)."""
    subprocess.run(["psql", admin_dsn, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)


@contextlib.contextmanager
def scratch_database(prefix: str = "parley_test", admin_dsn: str = PG_ADMIN_DSN) -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL for one test or run, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    pg_admin(f'CREATE DATABASE "{name}"', admin_dsn)
    try:
        yield admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_dsn)


SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def node_args(database_url: str, model: Path, redis_url: str = SHARED_REDIS_URL) -> list[str]:
    """``parley serve`` options for one node of a cluster: shared database and bus, the bundled model."""
    return ["--database-url", database_url, "--redis-url", redis_url, "--model", str(model)]


@contextlib.contextmanager
def two_nodes(
    root: Path, model: Path | None, prefix: str, extra: list[str] | None = None
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two ``parley serve`` processes on a scratch PostgreSQL database and the machine's Redis, with ``model``
    loaded (None: no transcription wanted, the model loads only if used)."""
    with scratch_database(prefix) as url:
        creds = write_credentials(root / "credentials")
        shared = (
            node_args(url, model)
            if model is not None
            else ["--database-url", url, "--redis-url", SHARED_REDIS_URL]
        )
        args = [*shared, *(extra or [])]
        lazy = model is None
        a = ServerProcess(data_dir=root / "a", credentials=creds, extra_args=args, lazy_model=lazy)
        b = ServerProcess(data_dir=root / "b", credentials=creds, extra_args=args, lazy_model=lazy)
        try:
            a.start(timeout=120)
            b.start(timeout=120)
            yield a, b
        finally:
            a.stop()
            b.stop()


def balanced_args(balancer_port: int) -> list[str]:
    """Options that put every node's MediaPlacement on a balancer in front of them, media on loopback."""
    return ["--media-url", f"http://127.0.0.1:{balancer_port}", "--media-address", "127.0.0.1"]


@dataclass
class PrivatePostgres:
    """A throwaway cluster (initdb) on its own port, run as the ``postgres`` user when we are root.

    Its directory is a fresh one under the system temp dir: pytest's own temp tree is private to root, and
    PostgreSQL refuses to run as root.
    """

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="parley-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)

    def init(self) -> PrivatePostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._run(_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> PrivatePostgres:
        data = self.root / "data"
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        """Stop it if running, and delete its files."""
        subprocess.run(
            (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
            + [_pg_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)
