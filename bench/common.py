"""Shared plumbing for the benchmarks: machine facts, processes, databases, an SMTP sink.

Benchmarks are run by hand (`python bench/<name>.py`), never by pytest; each
prints the machine it ran on and a baseline measured in the same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("WEBINARS_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    """One line saying where the figures come from."""
    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"load average {load[0]:.2f} at start")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


@contextlib.contextmanager
def running(args: list[str], env: dict | None = None, port: int | None = None):
    """Run a process for the duration of the block; wait for its port first."""
    process = subprocess.Popen(args, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if port:
            wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def smtp_sink(niceness: int = 0):
    """A local SMTP server (aiosmtpd) that accepts and discards; yields its URL.

    ``niceness`` lowers its CPU priority: where it stands in for a mail
    server on another machine, it should only take what the measured
    processes leave.
    """
    port = free_port()
    args = ["nice", "-n", str(niceness), sys.executable, "-m", "aiosmtpd", "-n",
            "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    with running(args, port=port):
        yield f"smtp://127.0.0.1:{port}"


@contextlib.contextmanager
def postgres_schema():
    """A fresh schema on the benchmark PostgreSQL; yields (url with search_path, schema)."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(sqlalchemy_url(POSTGRES_URL))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}", schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


WRK_SCRIPT = ROOT / "bench" / "wrk.lua"


def wrk(url: str, *, clients: int, seconds: int, register: bool = False,
        threads: int = 2, spread: bool = False) -> dict:
    """Drive ``url`` with wrk (GETs, or registration POSTs); returns what bench/wrk.lua prints.

    ``spread``: each registration from a client address of its own, through
    X-Forwarded-For (the app must trust one proxy).
    """
    script_args = ["register", uuid.uuid4().hex[:8]] if register else []
    if register and spread:
        script_args.append("spread")
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s",
         "-s", str(WRK_SCRIPT), url, "--", *script_args],
        capture_output=True, text=True, check=True)
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("wrk printed no summary:\n" + result.stdout + result.stderr)


HEARTBEAT_TIMEOUT = 60  # seconds a scheduler may take to start and beat


def warm_up(base_url: str, paths: tuple[str, ...] = ("/healthz",), *,
            scheduler: subprocess.Popen | None = None, seconds: int = 2) -> None:
    """Bring a freshly started server to its steady state before it is measured.

    gunicorn's port opens before its workers have imported the app (about a
    second of CPU each for webinars, a tenth of that for the bare endpoint),
    and a scheduler process started beside it is still importing too: a
    measurement that began at once charged the app's boot, not its requests,
    to its first second (about 180 registrations in it against 550 in each
    later one). With ``scheduler`` (its process), wait until /healthz reports
    its heartbeat, which it writes when its first sweep begins; then send
    ``seconds`` of GETs to each of ``paths``, which every worker answers
    from its own database connection. Raises if any of them failed.
    """
    if scheduler is not None:
        _wait_for_heartbeat(base_url, scheduler)
    for path in paths:
        result = wrk(base_url + path, clients=8, seconds=seconds)
        if result["http_errors"] or result["socket_errors"]:
            raise RuntimeError(f"warming up {base_url + path} failed: {result}")


def _wait_for_heartbeat(base_url: str, scheduler: subprocess.Popen) -> None:
    # No proxy: urllib would send even 127.0.0.1 through one named in the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + HEARTBEAT_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"the scheduler exited with {scheduler.returncode}")
        try:
            with opener.open(f"{base_url}/healthz", timeout=5) as answer:
                if json.load(answer).get("scheduler", {}).get("state") == "ok":
                    return
        except OSError:
            pass  # the workers are still starting
        time.sleep(0.2)
    raise TimeoutError(f"the scheduler reported no heartbeat within {HEARTBEAT_TIMEOUT} s")


def fmt_ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.1f} ms"
