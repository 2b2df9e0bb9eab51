"""Real peers for proxy tests: the proxy as a subprocess, nghttpd, free ports, small servers.

Every process started here is stopped by the context manager that started it,
and every wait has a timeout, so a failing test never hangs or leaks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from inspector.http2.frames import CLIENT_PREFACE

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nothing listens on right now (bind port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Wait until something accepts connections on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.03)
    raise TimeoutError(f"nothing listens on {host}:{port}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
    """Stop a process we started; kill it if it does not go."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class ProxyRun:
    """A running `h2inspect proxy --headless`: its port, and its output once stopped."""

    def __init__(self, proc: subprocess.Popen, port: int, out: Path, err: Path) -> None:
        self.proc = proc
        self.port = port
        self.out_path = out
        self.err_path = err
        self.returncode: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.err_path.read_text()

    def stdout(self) -> str:
        return self.out_path.read_text()

    def frames(self) -> list[dict]:
        """The JSONL frames printed so far."""
        return [json.loads(line) for line in self.stdout().splitlines() if line.strip()]

    def wait_for(self, predicate, timeout: float = 15.0):  # type: ignore[no-untyped-def]
        """Poll the output until `predicate(self)` is true (decoding runs behind the relay)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate(self):
                    return
            except json.JSONDecodeError:
                pass  # a line being written
            time.sleep(0.03)
        raise AssertionError(f"timed out waiting; stderr:\n{self.stderr()}")

    def stop(self) -> int:
        """Ctrl-C, as a user would."""
        self.returncode = stop(self.proc, signal.SIGINT)
        return self.returncode


@contextmanager
def proxy(tmp_path: Path, upstream: str, *args: str, fmt: str = "jsonl", env: dict | None = None,
          listen: str = "127.0.0.1:0") -> Iterator[ProxyRun]:
    """`python -m inspector proxy ... --headless` as a real subprocess (`upstream` "": `--forward`)."""
    n = len(list(tmp_path.glob("proxy-*.out")))
    out, err = tmp_path / f"proxy-{n}.out", tmp_path / f"proxy-{n}.err"
    full_env = dict(os.environ, H2INSPECT_HOME=str(tmp_path / "h2home"), PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    with out.open("w") as fo, err.open("w") as fe:
        target = ["--upstream", upstream] if upstream else ["--forward"]  # no upstream: forward mode
        proc = subprocess.Popen([sys.executable, "-m", "inspector", "proxy", "--listen", listen,
                                 *target, *args, "--headless", "--format", fmt],
                                stdout=fo, stderr=fe, env=full_env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        port = None
        while time.monotonic() < deadline:
            m = re.search(r"listening on (?:\[[^\]]*\]|[^ ,]+):(\d+)", err.read_text())
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                raise RuntimeError(f"proxy exited {proc.returncode}: {err.read_text()}")
            time.sleep(0.03)
        if port is None:
            raise TimeoutError(f"proxy did not start: {err.read_text()}")
        yield ProxyRun(proc, port, out, err)
    finally:
        stop(proc, signal.SIGINT)


def stopped_cleanly(p: ProxyRun) -> bool:
    """After the `with` block: the proxy exited 0 on Ctrl-C, without a traceback."""
    return p.proc.returncode == 0 and "Traceback" not in p.stderr() and "internal error" not in p.stderr()


@contextmanager
def nghttpd(docroot: Path, *extra: str, tls: tuple[Path, Path] | None = None,
            port: int | None = None) -> Iterator[int]:
    """nghttpd serving `docroot`: h2c, or TLS with (key, cert). Yields its port."""
    port = port or free_port()
    cmd = ["nghttpd", "-d", str(docroot), *extra]
    cmd += [str(port), str(tls[0]), str(tls[1])] if tls else ["--no-tls", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield port
    finally:
        stop(proc)


def run(cmd: list[str], timeout: float = 60.0, **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """Run a client to completion (bounded in time), capturing its output."""
    return subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)


class ThreadServer:
    """A tiny TCP server on a thread, for upstreams that misbehave on purpose.

    `handler(conn)` runs per connection on its own thread.
    """

    def __init__(self, handler, ssl_context=None) -> None:  # type: ignore[no-untyped-def]
        self.handler = handler
        self.ssl_context = ssl_context
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(10)
            if self.ssl_context is not None:
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except OSError:
                    conn.close()
                    continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


def md5(data: bytes) -> str:
    import hashlib
    return hashlib.md5(data).hexdigest()


def require(*tools: str) -> None:
    """Real peers are part of these tests: a missing one fails the test loudly
    (.ci/run installs them) instead of letting it pass by skipping."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"needs {', '.join(missing)} (installed by .ci/run)")


# ---- for fault tests: memory of a process, paced peers, long verifiable streams ----------

def rss(pid: int, peak: bool = False) -> int:
    """Resident memory of a process in bytes (`peak`: the most it ever had, VmHWM)."""
    key = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} for process {pid}")


class Pace:
    """Holds a peer to `rate` bytes per second: `after(done)` sleeps until `done` bytes are due.

    This is a throttle (a slow peer on purpose), not a wait for an event."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.monotonic()

    def after(self, done: int) -> None:
        ahead = self.start + done / self.rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


class PatternStream:
    """`size` bytes of a random block repeated, its length odd so that no read lines up
    with it: what a sender sends and a receiver checks, by sha256, without holding it all."""

    BLOCK = os.urandom((1 << 20) + 7)

    def __init__(self, size: int) -> None:
        self.size = size

    def chunks(self, piece: int = 1 << 16) -> Iterator[memoryview]:
        """The stream, `piece` bytes at a time."""
        block = memoryview(self.BLOCK * 2)
        n = len(self.BLOCK)
        sent = 0
        while sent < self.size:
            at = sent % n
            take = min(piece, self.size - sent)
            yield block[at:at + take]
            sent += take

    def sha256(self) -> str:
        import hashlib
        h = hashlib.sha256()
        for chunk in self.chunks(1 << 20):
            h.update(chunk)
        return h.hexdigest()


# ---- a client that feeds the decoder hostile bytes (test_proxy_isolation, bench_proxy_isolation) ----

MIB = 1 << 20


def timed_download(p: ProxyRun, docroot: Path, name: str = "big.bin") -> float:
    """curl fetches `name` through the proxy, h2c; seconds it took. The body must be the file's."""
    began = time.monotonic()
    got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/{name}"], timeout=120)
    took = time.monotonic() - began
    assert got.returncode == 0, got.stderr
    assert md5(got.stdout) == md5((docroot / name).read_bytes())
    return took


class GarbageClient:
    """Sends the preface, a frame header of length 2^24-1, then 16 MiB of `fill`, as fast as
    the proxy takes it (the upstream closes on it; the client stops when its writes fail)."""

    def __init__(self, port: int, fill: int) -> None:
        self.port = port
        self.fill = fill
        self.sent = 0
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        header = struct.pack(">I", (1 << 24) - 1)[1:] + b"\x00\x00\x00\x00\x00\x01"
        block = bytes([self.fill]) * (1 << 16)
        try:
            with socket.create_connection(("127.0.0.1", self.port), 10) as sock:
                sock.sendall(CLIENT_PREFACE + header)
                for _ in range(256):  # 16 MiB
                    sock.sendall(block)
                    self.sent += len(block)
                    if self.sent >= 1 * MIB:
                        self.started.set()
        except OSError:
            pass
        self.started.set()

    def __enter__(self) -> GarbageClient:
        self.thread.start()
        assert self.started.wait(30)
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.thread.join(30)


def sink(conn: socket.socket) -> None:
    """A ThreadServer handler that reads everything and answers nothing."""
    while conn.recv(1 << 20):
        pass


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(1 << 18):
            dst.sendall(chunk)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def garbage_sink_else(port: int):  # type: ignore[no-untyped-def]
    """A ThreadServer handler: an upstream that takes in everything the garbage client sends
    (nghttpd would close on its first frame header, and the proxy with it, sparing the decoder
    most of it) and hands every other connection to the server on `port`."""
    def handler(conn: socket.socket) -> None:
        first = b""
        while len(first) < len(CLIENT_PREFACE) + 9:
            chunk = conn.recv(65536)
            if not chunk:
                return
            first += chunk
        if first[len(CLIENT_PREFACE):len(CLIENT_PREFACE) + 3] == b"\xff\xff\xff":
            sink(conn)
            return
        with socket.create_connection(("127.0.0.1", port), 10) as server:
            server.sendall(first)
            back = threading.Thread(target=_pipe, args=(server, conn), daemon=True)
            back.start()
            _pipe(conn, server)
            back.join(60)
    return handler
