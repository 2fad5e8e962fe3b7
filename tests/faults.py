"""Parts of the fault suite (tests/test_faults.py): a mail relay, a database link and
the production processes, each under the test's control.

* :class:`Relay`: an aiosmtpd server on a port that stays the same across
  :meth:`Relay.down` and :meth:`Relay.up`; it can be slow, refuse one
  address, or refuse everything for a while, and it records every message
  it accepted (Message-ID, recipient, kind, arrival time).
* :class:`DbProxy`: a TCP link to PostgreSQL that the test can cut (every
  connection closed, new ones refused) and restore.
* :class:`Processes`: gunicorn -w 2, ``flask scheduler`` processes and
  one-off ``flask`` commands, as README's production section runs them,
  with their output in files; every process group is killed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from aiosmtpd.controller import Controller
from conftest import free_port, wait_until


@dataclass
class Received:
    """One message the relay answered 250 for."""

    message_id: str
    recipient: str
    kind: str  # the X-Webinars-Kind header: confirmation, reminder, ...
    subject: str
    at: float  # time.monotonic() of the 250
    wall: datetime  # the same moment on the wall clock (UTC), to compare with due times

_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


class Relay:
    """An SMTP server on a fixed loopback port that the test controls."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.accepted: list[Received] = []
        self.refusals: list[tuple[str, str, float]] = []  # (recipient, reply, monotonic)
        self.delay = 0.0  # seconds before each answer to DATA (other connections go on)
        self.refused_addresses: dict[str, str] = {}  # address -> reply to its RCPT
        self._refuse_all: str | None = None
        self._refuse_until = 0.0
        self.controller: Controller | None = None

    # --- listening ---------------------------------------------------------

    def up(self) -> Relay:
        """Listen (again) on the same port."""
        assert self.controller is None, "the relay is up already"
        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.start()
        self.controller = controller
        return self

    def down(self) -> None:
        """Stop listening: connections are refused until :meth:`up`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # --- refusing ----------------------------------------------------------

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        """Answer ``reply`` to every RCPT TO of ``address``."""
        self.refused_addresses[address.lower()] = reply

    def refuse_all(self, reply: str, seconds: float) -> float:
        """Answer ``reply`` to every DATA for ``seconds``; returns the monotonic end."""
        self._refuse_all = reply
        self._refuse_until = time.monotonic() + seconds
        return self._refuse_until

    def refusing(self) -> str | None:
        if self._refuse_all and time.monotonic() < self._refuse_until:
            return self._refuse_all
        return None

    # --- aiosmtpd's handler ------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refused_addresses.get(address.lower())
        if reply:
            with self.lock:
                self.refusals.append((address, reply, time.monotonic()))
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = self.refusing()
        if reply:
            with self.lock:
                self.refusals.append((",".join(envelope.rcpt_tos), reply, time.monotonic()))
            return reply
        # The headers only: a full MIME parse per message made this relay,
        # in the test's own process, the slowest part of a fan-out.
        message = _HEADERS.parsebytes(envelope.content)
        record = Received(message_id=str(message["Message-ID"]),
                          recipient=envelope.rcpt_tos[0].lower(),
                          kind=str(message["X-Webinars-Kind"]), subject=str(message["Subject"]),
                          at=time.monotonic(), wall=datetime.now(UTC))
        with self.lock:
            self.accepted.append(record)
        return "250 OK"

    # --- what arrived ------------------------------------------------------

    def of(self, kind: str | None = None, recipient: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.accepted if (kind is None or r.kind == kind)
                    and (recipient is None or r.recipient == recipient.lower())]

    def duplicates(self, kind: str | None = None) -> dict[str, int]:
        """Message-IDs accepted more than once, with their counts."""
        counts = Counter(r.message_id for r in self.of(kind))
        return {mid: n for mid, n in counts.items() if n > 1}


class DbProxy:
    """A TCP link from a loopback port to PostgreSQL that can be cut and restored."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)):
        self.target = target
        self.port = free_port()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def url(self, database_url: str) -> str:
        """``database_url`` (pointing at the target) through this proxy."""
        host = f"{self.target[0]}:{self.target[1]}"
        assert host in database_url, database_url
        return database_url.replace(host, f"127.0.0.1:{self.port}", 1)

    def start(self) -> DbProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="db-proxy").start()
        return self

    restore = start

    def cut(self) -> None:
        """Close every relayed connection and stop listening, as a crashed server would."""
        with self.lock:
            doomed = [s for s in [self.listener, *self.sockets] if s is not None]
            self.sockets.clear()
            self.listener = None
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    stop = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Processes:
    """The app's processes for one test, each in a process group of its own."""

    def __init__(self, folder: Path, database_url: str, smtp_url: str, **env: str):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.bin = Path(sys.executable).parent
        self.env = dict(
            os.environ,
            WEBINARS_DATABASE_URL=database_url,
            WEBINARS_SMTP_URL=smtp_url,
            WEBINARS_SECRET_KEY="fault-suite",
            WEBINARS_BASE_URL="http://webinars.test",
            WEBINARS_MAIL_FROM="Mekong Programmes <programmes@webinars.test>",
            WEBINARS_SCHEDULER="off",
            WEBINARS_MAIL_DELIVERY="manual",
            # Hundreds of registrations from this one client: the faults
            # are the subject here, not the limits (tests/test_limits.py).
            WEBINARS_RATELIMIT_ENABLED="false",
            # Seats decided at once, as the in-process tests have them.
            WEBINARS_VERIFY_EMAIL="never",
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env)
        self.started: list[tuple[str, subprocess.Popen]] = []
        self.base_url: str | None = None

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.log_path(name), "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(argv, env=self.env, cwd=self.folder, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()  # the child has its own copy
        self.started.append((name, process))
        return process

    def log_path(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def gunicorn(self, workers: int = 2) -> subprocess.Popen:
        """gunicorn -w ``workers`` on a free loopback port (``base_url``)."""
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        return self._start("gunicorn", [
            str(self.bin / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--graceful-timeout", "5", "webinars:create_app()"])

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen:
        """``flask --app webinars scheduler``, logging to ``<name>.log``."""
        return self._start(name, [str(self.bin / "flask"), "--app", "webinars", "scheduler"])

    def flask(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """A one-off ``flask --app webinars <args>``, to its end."""
        return subprocess.run([str(self.bin / "flask"), "--app", "webinars", *args],
                              env=self.env, cwd=self.folder, capture_output=True, text=True,
                              timeout=timeout, start_new_session=True)

    def wait_ready(self, timeout: float = 30) -> None:
        """Until gunicorn answers /healthz with 200."""
        def ready():
            try:
                return requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, timeout=timeout, interval=0.2)

    @staticmethod
    def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process's whole group and wait for the process to end."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=20)

    def stop_all(self) -> None:
        """TERM every group, then KILL what is left: nothing outlives the test."""
        for _, process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, process in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group too
            process.wait(timeout=10)
