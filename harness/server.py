"""Run the real parley server as a separate process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCOUNT_A = "111122223333"
ACCOUNT_B = "444455556666"
IDENTITIES = {
    "alice": ("AKIAALICE00000000001", "alice-secret-key-0000000000000000000000001", ACCOUNT_A),
    "alex": ("AKIAALEX000000000002", "alex-secret-key-00000000000000000000000002", ACCOUNT_A),
    "bob": ("AKIABOB0000000000003", "bob-secret-key-000000000000000000000000003", ACCOUNT_B),
}


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (all its threads), from /proc: what the benches charge a server."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_HANDED_OUT: set[int] = set()  # ports this process already gave to a server


def free_port() -> int:
    """A port nothing listens on now, never the same one twice in this process: the kernel can hand out the port
    it just released again, and two nodes of one test then got the same port (the second failed to bind while its
    readiness probe was answered by the first)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def write_credentials(path: Path) -> Path:
    lines = []
    for name, (key, secret, account) in IDENTITIES.items():
        lines += [
            f"[{name}]",
            f"aws_access_key_id = {key}",
            f"aws_secret_access_key = {secret}",
            f"account_id = {account}",
            "",
        ]
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path


@dataclass
class ServerProcess:
    data_dir: Path
    credentials: Path
    extra_args: Sequence[str] = ()
    lazy_model: bool = True  # API-only tests never need the speech model
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # PARLEY_* and other variables for this process

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.log_path = self.data_dir / f"server-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [
            sys.executable, "-m", "parley", "serve",
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
            "--credentials", str(self.credentials),
            *(["--lazy-model"] if self.lazy_model else []),
            *self.extra_args,
        ]  # fmt: skip
        # AWS's API rate (10/s per operation) would throttle the suite's bursts; throttling has its own tests,
        # which turn it on with --api-rate (a flag beats the environment).
        env = {"PARLEY_API_RATE": "0", **os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        logged = len(self.log())  # a restarted server appends to the same log
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        # With the model loading at start-up, wait until it has: a test's or bench's first meeting would
        # otherwise wait for it (and a latency measured from a fresh server would include the load).
        probe = "/ping" if self.lazy_model else "/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}{probe}", timeout=1) as r:
                    # Answered, and by this process: it says "listening" only once it bound the port and serves
                    # (any other process on the port would answer the probe too).
                    if r.status == 200 and "parley: listening on" in self.log()[logged:]:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def client(
        self,
        identity: str = "alice",
        service: str = "chime-sdk-meetings",
        region: str = "us-east-1",
        **kw: Any,
    ) -> Any:
        """A boto3 client; no retries unless ``retries=`` says otherwise (a test sees every answer)."""
        key, secret, _account = IDENTITIES[identity]
        retries = kw.pop("retries", {"total_max_attempts": 1})
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries=retries, **kw),
        )


def start_model_server(root: Path, model: Path, *extra_args: str) -> ServerProcess:
    """A server under ``root`` with the speech model loaded before it reports ready (a first meeting would
    otherwise wait for the load); ``extra_args`` add its backends (``--redis-url``, ``--database-url``)."""
    root.mkdir(parents=True, exist_ok=True)
    return ServerProcess(
        data_dir=root / "data",
        credentials=write_credentials(root / "credentials"),
        extra_args=["--model", str(model), *extra_args],
        lazy_model=False,
    ).start(timeout=120)
