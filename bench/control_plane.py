"""Control-plane load benchmark: the real ``parley serve`` process driven by signed HTTP requests.

Usage (from the repository root)::

    .venv/bin/python bench/control_plane.py --seconds 10 --concurrency 32
    .venv/bin/python bench/control_plane.py --postgres --ops GetMeeting,CreateAttendee

Why it is built this way: the server and the load generator share the machine's (2) cores, so a
heavyweight client would measure itself. The client therefore runs in separate worker processes
(no GIL sharing with the harness), speaks HTTP/1.1 keep-alive over raw asyncio streams on uvloop,
and signs every request with SigV4 using a per-day cached signing key (two SHA-256 + two HMACs per
request). Signing is real: the signer is cross-checked against botocore's ``SigV4Auth`` at start,
and the server verifies every request (any non-2xx is counted and reported). The client's own CPU
per request is measured and printed next to the server's, so the figures can be judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
SERVICE = "chime"
KEY_ID = "AKIABENCH00000000001"
SECRET = "bench-secret-key-000000000000000000000001"
ACCOUNT = "123456789012"
OPS = ("GetMeeting", "CreateMeeting", "CreateAttendee", "StopMeetingTranscription")
MAX_ATTENDEES = 250  # the service's per-meeting cap; CreateAttendee rotates meetings below it
TRANSCRIBE = json.dumps(
    {"TranscriptionConfiguration": {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}}
)


# -- SigV4 ------------------------------------------------------------------------------------


class Signer:
    """SigV4 for ``chime`` with the derived key cached per date: the only per-request work left
    is hashing the canonical request and one HMAC, which keeps the client off the server's cores."""

    def __init__(self, key_id: str, secret: str, host: str) -> None:
        self.key_id = key_id
        self.secret = secret
        self.host = host
        self._day = ""
        self._key = b""

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            k = hmac.new(("AWS4" + self.secret).encode(), day.encode(), hashlib.sha256).digest()
            for part in (REGION, SERVICE, "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self._day, self._key = day, k
        return self._key

    def headers(
        self, method: str, path: str, query: str, body: bytes, amz_date: str
    ) -> list[tuple[str, str]]:
        day = amz_date[:8]
        signed = [("host", self.host), ("x-amz-date", amz_date)]
        if body:
            signed.insert(0, ("content-type", "application/json"))
        names = ";".join(n for n, _ in signed)
        canonical = "\n".join(
            [
                method, path, query,
                "".join(f"{n}:{v}\n" for n, v in signed),
                names,
                hashlib.sha256(body).hexdigest(),
            ]
        )  # fmt: skip
        scope = f"{day}/{REGION}/{SERVICE}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        sig = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        auth = f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, SignedHeaders={names}, Signature={sig}"
        return [*signed, ("authorization", auth)]


def check_signer_against_botocore() -> None:
    """Refuse to run with a signer that disagrees with botocore: the figures would be meaningless."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host, amz_date = "127.0.0.1:8000", "20261124T101010Z"
    body = b'{"ExternalUserId":"u"}'
    ours = dict(Signer(KEY_ID, SECRET, host).headers("POST", "/meetings/m/attendees", "", body, amz_date))
    req = AWSRequest(
        method="POST",
        url=f"http://{host}/meetings/m/attendees",
        data=body,
        headers={"Content-Type": "application/json", "X-Amz-Date": amz_date},
    )
    req.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(KEY_ID, SECRET), SERVICE, REGION)
    canonical = auth.canonical_request(req)
    theirs = auth.signature(auth.string_to_sign(req, canonical), req)
    if not ours["authorization"].endswith(f"Signature={theirs}"):
        raise SystemExit(f"SigV4 signer disagrees with botocore:\n{ours['authorization']}\n{theirs}")


# -- HTTP/1.1 keep-alive client ----------------------------------------------------------------


class Conn:
    """One keep-alive connection; the bench never pipelines, so a request is write-then-read."""

    def __init__(self, host: str, port: int, signer: Signer) -> None:
        self.host, self.port, self.signer = host, port, signer
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._date_at = 0
        self._amz_date = ""

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _now(self) -> str:
        now = int(time.time())
        if now != self._date_at:
            self._date_at = now
            self._amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        return self._amz_date

    async def call(self, method: str, path: str, query: str = "", body: bytes = b"") -> tuple[int, bytes]:
        assert self.reader is not None
        assert self.writer is not None
        target = f"{path}?{query}" if query else path
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{n}: {v}" for n, v in self.signer.headers(method, path, query, body, self._now())]
        lines.append(f"content-length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected from the control plane")
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload


# -- workloads ---------------------------------------------------------------------------------


async def create_meeting(conn: Conn) -> tuple[int, bytes]:
    body = json.dumps(
        {"ClientRequestToken": uuid.uuid4().hex, "MediaRegion": REGION, "ExternalMeetingId": "bench"}
    ).encode()
    return await conn.call("POST", "/meetings", body=body)


async def new_meeting_id(conn: Conn) -> str:
    status, payload = await create_meeting(conn)
    if status != 200:
        raise RuntimeError(f"setup CreateMeeting failed: {status} {payload[:300]!r}")
    return str(json.loads(payload)["Meeting"]["MeetingId"])


@dataclass
class Tally:
    """Per-operation results of one worker; latencies in nanoseconds."""

    latencies: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_error: str = ""

    def record(self, op: str, started: int, status: int, payload: bytes, timed: bool) -> None:
        if not timed:
            return
        if 200 <= status < 300:
            self.latencies.setdefault(op, []).append(time.perf_counter_ns() - started)
        else:
            self.errors[op] = self.errors.get(op, 0) + 1
            self.first_error = self.first_error or f"{op}: {status} {payload[:300]!r}"


Timed = Callable[[], bool]


async def drive(op: str, conn: Conn, tally: Tally, running: Callable[[], bool], timed: Timed) -> None:
    """Loop one connection on ``op`` until the run ends; only requests inside the timed window count."""
    perf = time.perf_counter_ns
    if op == "GetMeeting":
        path = f"/meetings/{await new_meeting_id(conn)}"
        while running():
            t0, counted = perf(), timed()
            status, payload = await conn.call("GET", path)
            tally.record(op, t0, status, payload, counted)
    elif op == "CreateMeeting":
        while running():
            t0, counted = perf(), timed()
            status, payload = await create_meeting(conn)
            tally.record(op, t0, status, payload, counted)
    elif op == "CreateAttendee":
        n, path = 0, ""
        while running():
            if n % MAX_ATTENDEES == 0:  # a fresh meeting before the cap; not part of the figures
                path = f"/meetings/{await new_meeting_id(conn)}/attendees"
            n += 1
            body = json.dumps({"ExternalUserId": f"user-{n}"}).encode()
            t0, counted = perf(), timed()
            status, payload = await conn.call("POST", path, body=body)
            tally.record(op, t0, status, payload, counted)
    elif op == "StopMeetingTranscription":
        path = f"/meetings/{await new_meeting_id(conn)}/transcription"
        start_body = TRANSCRIBE.encode()
        while running():
            t0, counted = perf(), timed()
            status, payload = await conn.call("POST", path, "operation=start", start_body)
            tally.record("StartMeetingTranscription", t0, status, payload, counted)
            t0, counted = perf(), timed()
            status, payload = await conn.call("POST", path, "operation=stop")
            tally.record(op, t0, status, payload, counted)
    else:
        raise ValueError(op)


def worker(
    op: str, port: int, connections: int, warmup: float, seconds: float, barrier: Any, out: Any
) -> None:
    """One load-generator process: its own event loop and signer, reporting raw latencies."""
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()

    async def main() -> dict[str, Any]:
        signer = Signer(KEY_ID, SECRET, f"127.0.0.1:{port}")
        conns = [Conn("127.0.0.1", port, signer) for _ in range(connections)]
        await asyncio.gather(*(c.open() for c in conns))
        tally = Tally()
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
        t_start = time.monotonic()
        t_timed, t_end = t_start + warmup, t_start + warmup + seconds
        cpu: dict[str, float] = {}

        def running() -> bool:
            return time.monotonic() < t_end

        def timed() -> bool:
            now = time.monotonic()
            if now >= t_timed and "start" not in cpu:
                cpu["start"] = time.process_time()
            return t_timed <= now < t_end

        await asyncio.gather(*(drive(op, c, tally, running, timed) for c in conns))
        cpu_used = time.process_time() - cpu.get("start", time.process_time())
        for c in conns:
            assert c.writer is not None
            c.writer.close()
        return {"latencies": tally.latencies, "errors": tally.errors, "first_error": tally.first_error,
                "cpu": cpu_used}  # fmt: skip

    try:
        out.put(asyncio.run(main()))
    except BaseException as exc:
        out.put({"crash": f"{type(exc).__name__}: {exc}"})
        raise


# -- server ------------------------------------------------------------------------------------


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown cpu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    """A fresh database per run, so earlier runs' rows never change the figures."""
    import asyncpg

    name = f"parley_bench_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def running_server(
    data_dir: Path, database_url: str | None, log: tuple[str, str] = ("warning", "text")
) -> Iterator[tuple[int, int]]:
    """``parley serve`` exactly as users run it, with the per-account caps and API throttling lifted so the
    benchmark's thousands of meetings measure speed rather than hit quotas."""
    creds = data_dir / "credentials"
    creds.write_text(f"[bench]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
                     f"account_id = {ACCOUNT}\n")  # fmt: skip
    creds.chmod(0o600)
    port = free_port()
    cmd = [
        sys.executable, "-m", "parley", "serve", "--port", str(port), "--data-dir", str(data_dir / "data"),
        "--credentials", str(creds), "--log-level", log[0], "--log-format", log[1],
        "--max-active-meetings", "100000000", "--max-transcriptions", "100000000", "--api-rate", "0",
    ]  # fmt: skip
    if database_url:
        cmd += ["--database-url", database_url]
    log = (data_dir / "server.log").open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server failed to start:\n{(data_dir / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """utime+stime of the server process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- run ---------------------------------------------------------------------------------------


def percentile(sorted_ns: list[int], p: float) -> float:
    if not sorted_ns:
        return float("nan")
    return sorted_ns[min(len(sorted_ns) - 1, int(p * len(sorted_ns)))] / 1e6


def run_op(op: str, port: int, pid: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    ctx = mp.get_context("fork")
    workers = max(1, min(args.workers, args.concurrency))
    barrier = ctx.Barrier(workers + 1)
    out = ctx.Queue()
    shares = [
        args.concurrency // workers + (1 if i < args.concurrency % workers else 0) for i in range(workers)
    ]
    procs = [
        ctx.Process(target=worker, args=(op, port, n, args.warmup, args.seconds, barrier, out), daemon=True)
        for n in shares
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    time.sleep(args.warmup)
    server_cpu0 = cpu_seconds(pid)
    time.sleep(args.seconds)
    server_cpu = cpu_seconds(pid) - server_cpu0
    results = [out.get(timeout=args.seconds + args.warmup + 120) for _ in procs]
    for p in procs:
        p.join()
    crashed = [r["crash"] for r in results if "crash" in r]
    if crashed:
        raise SystemExit(f"{op}: load generator crashed: {crashed[0]}")
    rows = []
    names = [op] if op != "StopMeetingTranscription" else ["StartMeetingTranscription", op]
    total_requests = sum(len(v) + 0 for r in results for v in r["latencies"].values())
    total_requests += sum(n for r in results for n in r["errors"].values())
    client_cpu = sum(r["cpu"] for r in results)
    for name in names:
        lat = sorted(x for r in results for x in r["latencies"].get(name, []))
        errors = sum(r["errors"].get(name, 0) for r in results)
        first = next((r["first_error"] for r in results if r["first_error"]), "")
        rows.append({
            "op": name,
            "ok": len(lat),
            "errors": errors,
            "first_error": first,
            "rps": len(lat) / args.seconds,
            "p50": percentile(lat, 0.50),
            "p99": percentile(lat, 0.99),
            "server_cpu_us": 1e6 * server_cpu / max(1, total_requests),
            "client_cpu_us": 1e6 * client_cpu / max(1, total_requests),
            "server_cores": server_cpu / args.seconds,
            "client_cores": client_cpu / args.seconds,
        })  # fmt: skip
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| operation | req/s | p50 ms | p99 ms | errors | server CPU µs/req | client CPU µs/req "
            "| server cores | client cores |")  # fmt: skip
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['op']} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} "
            f"| {r['server_cpu_us']:,.0f} | {r['client_cpu_us']:,.0f} "
            f"| {r['server_cores']:.2f} | {r['client_cores']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="timed window per operation")
    p.add_argument("--warmup", type=float, default=1.0, help="untimed seconds before each window")
    p.add_argument("--concurrency", type=int, default=32, help="keep-alive connections in total")
    p.add_argument("--workers", type=int, default=1, help="load-generator processes sharing the connections")
    p.add_argument("--ops", default=",".join(OPS), help=f"comma-separated subset of {', '.join(OPS)}")
    p.add_argument(
        "--postgres", action="store_true", help="use a scratch PostgreSQL database instead of SQLite"
    )
    p.add_argument("--postgres-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--json", type=Path, help="also write the rows as JSON here")
    p.add_argument(
        "--server-log",
        default="warning,text",
        metavar="LEVEL,FORMAT",
        help="the server's --log-level and --log-format: debug,json logs one JSON line per request "
        "(the cost of observability; /metrics is always on)",
    )
    args = p.parse_args(argv)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    unknown = set(ops) - set(OPS)
    if unknown:
        p.error(f"unknown ops: {', '.join(sorted(unknown))}")
    check_signer_against_botocore()

    backend = "postgresql" if args.postgres else "sqlite"
    print(f"parley control-plane bench: {backend}, {os.cpu_count()} cpus ({cpu_model()}), "
          f"concurrency {args.concurrency}, workers {args.workers}, {args.seconds:g}s per op", flush=True)  # fmt: skip
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="parley-bench-")))
        url = stack.enter_context(scratch_postgres(args.postgres_admin_url)) if args.postgres else None
        level, fmt = args.server_log.split(",", 1)
        port, pid = stack.enter_context(running_server(tmp, url, (level, fmt)))
        print(f"server pid {pid} on 127.0.0.1:{port}", flush=True)
        for op in ops:
            op_rows = run_op(op, port, pid, args)
            for r in op_rows:
                if r["errors"]:
                    print(f"  {r['op']}: {r['errors']} errors, first: {r['first_error']}", flush=True)
            rows += op_rows
            print(table(op_rows).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
