"""A real nats-server per test module and real dist/qw processes, as the TypeScript suite uses."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[3]
QW = Path(os.environ.get("QW_BIN", ROOT / "dist" / "qw"))
TASKS = ROOT / "clients" / "testdata" / "tasks.ts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    def __init__(self) -> None:
        # NATS_SERVER_BIN picks the server, as in the TypeScript suite (make test sets it to 2.15.3); else PATH's.
        binary = os.environ.get("NATS_SERVER_BIN") or shutil.which("nats-server")
        if binary is None:
            pytest.fail("nats-server is not on PATH: install it (make install runs scripts/ensure_nats_server.sh)")
        self.dir = tempfile.mkdtemp(prefix="qwjobs-nats-")
        self.port = _free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "-js", "-sd", os.path.join(self.dir, "store"), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"nats-server exited with {self.proc.returncode}: see {self.dir}/server.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nats-server did not listen within 10 s")
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Qw:
    """One dist/qw worker process on a stream."""

    def __init__(self, server: NatsServer, stream: str, *extra: str) -> None:
        if not QW.exists():
            pytest.fail(f"{QW} is missing: run `make build` first")
        self.log = tempfile.NamedTemporaryFile(prefix="qwjobs-qw-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [str(QW), "--stream", stream, "--tasks", str(TASKS), "--server", server.url, "--concurrency", "2", *extra],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.log.name)


def qw_init(server: NatsServer, stream: str) -> None:
    """Create the stream and buckets as a worker would, so producers can publish before it starts."""
    r = subprocess.run([str(QW), "init", "--stream", stream, "--server", server.url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    s = NatsServer()
    yield s
    s.stop()


@pytest.fixture
def stream() -> str:
    return "py_" + uuid.uuid4().hex[:10]


@pytest.fixture
def qw(nats_server: NatsServer, stream: str) -> Iterator[Qw]:
    qw_init(nats_server, stream)
    w = Qw(nats_server, stream)
    yield w
    w.stop()
