"""Live sources without real peers: a capture piped on standard input, a capture file
still being written (`--follow`), and input that is not a capture."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clikit import h2inspect_here
from conftest import CAPTURES, ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CMD = [sys.executable, "-m", "inspector"]


def _h2inspect(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], input=stdin, capture_output=True, env=ENV, timeout=60)


def _from_file(*args: str) -> bytes:
    """What a command prints for a capture file: the reference a live source's output is held to
    (the CLI's main in this process; the live source itself goes through the real command)."""
    done = h2inspect_here(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout.encode()


@pytest.mark.parametrize("name", ["curl-ipv6.pcapng", "grpc-unary.pcap", "h2load-three-connections.pcap"])
def test_a_capture_piped_on_stdin_dumps_as_the_file_does(name):
    data = (CAPTURES / name).read_bytes()
    piped = _h2inspect("dump", "-", "--format", "jsonl", stdin=data)
    from_file = _from_file("dump", str(CAPTURES / name), "--format", "jsonl")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout and piped.stdout == from_file


def test_payloads_of_a_pipe_are_read_back_from_the_spool():
    # rpcs -v reads every message's bytes back: from a pipe they can only come from the spool.
    path = CAPTURES / "grpc-large-messages.pcap"
    piped = _h2inspect("rpcs", "-", "-v", stdin=path.read_bytes())
    from_file = _from_file("rpcs", str(path), "-v")
    assert piped.returncode == 0, piped.stderr
    assert b"message" in piped.stdout
    assert piped.stdout == from_file


def test_the_text_dump_of_a_pipe_is_the_text_dump_of_the_file():
    path = CAPTURES / "grpc-bidi-streaming.pcap"
    piped = _h2inspect("dump", "-", stdin=path.read_bytes())
    assert piped.returncode == 0
    assert piped.stdout == _from_file("dump", str(path))


@pytest.mark.parametrize(("data", "problem"), [
    (b"hello, this is not a capture\n", "stdin: not a pcap or pcapng capture"),
    (b"", "stdin: empty input, not a capture"),
])
def test_stdin_that_is_not_a_capture_is_one_line_and_exit_2(data, problem):
    result = _h2inspect("dump", "-", stdin=data)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert lines == [f"h2inspect: {problem}"]


def _read_until(proc: subprocess.Popen, want: int, timeout: float = 30.0) -> tuple[list[dict], str]:
    """JSON lines from a running dump until `want` frames have come (or the timeout), and its stderr so far."""
    rows: list[dict] = []
    err = b""
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    os.set_blocking(proc.stdout.fileno(), False)
    os.set_blocking(proc.stderr.fileno(), False)
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    out = b""
    deadline = time.monotonic() + timeout
    while len(rows) < want and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            chunk = os.read(key.fd, 65536)
            if key.fileobj is proc.stdout:
                out += chunk
                *lines, out = out.split(b"\n")
                rows += [json.loads(line) for line in lines]
            else:
                err += chunk
    sel.close()
    return rows, err.decode()


def _pieces(data: bytes, parts: int) -> list[bytes]:
    size = -(-len(data) // parts)
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_a_followed_file_is_read_as_it_is_written(tmp_path):
    source = CAPTURES / "grpc-server-streaming.pcap"
    expected = [json.loads(line) for line in _from_file("dump", str(source), "--format", "jsonl").splitlines()]
    pieces = _pieces(source.read_bytes(), 4)  # cuts fall inside records: the reader must wait for the rest
    growing = tmp_path / "growing.pcap"
    growing.write_bytes(pieces[0])
    proc = subprocess.Popen([*CMD, "dump", "--follow", str(growing), "--format", "jsonl"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rows, err = [], ""
        for piece in pieces[1:]:
            # Each piece written only once the reader has said it waits: it reads what is there, then waits.
            deadline = time.monotonic() + 30
            while "waiting for more" not in err and time.monotonic() < deadline:
                more, said = _read_until(proc, len(rows) + 1, timeout=0.3)
                rows += more
                err += said
            assert "waiting for more" in err
            err = err.replace("waiting for more", "waited", 1)
            with growing.open("ab") as f:
                f.write(piece)
        more, said = _read_until(proc, len(expected) - len(rows))
        rows += more
        assert rows == expected
        assert proc.poll() is None  # still following
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_followed_file_stopped_by_ctrl_c_has_printed_every_frame_so_far(tmp_path):
    source = CAPTURES / "curl-h2c-prior-knowledge.pcap"
    expected = [json.loads(line) for line in _from_file("dump", str(source), "--format", "jsonl").splitlines()]
    growing = tmp_path / "whole.pcap"
    growing.write_bytes(source.read_bytes())
    proc = subprocess.Popen([*CMD, "dump", str(growing), "--follow", "--format", "jsonl"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rows, err = _read_until(proc, len(expected))
        assert rows == expected  # printed before the end: a followed file has none
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert rest == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_following_a_file_that_does_not_exist_is_one_line_and_exit_2(tmp_path):
    result = _h2inspect("dump", "--follow", str(tmp_path / "nothing.pcap"))
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [f"h2inspect: {tmp_path / 'nothing.pcap'}: no such file"]


def test_a_live_input_reads_a_pipe_as_it_comes():
    from inspector.capture.live import LiveInput

    read_end, write_end = os.pipe()
    try:
        live = LiveInput(read_end)
        os.write(write_end, b"abcdef")
        assert live.read(4) == b"abcd"
        assert not live.idle()
        assert live.read(2) == b"ef"
        assert live.idle() and live.tell() == 6
        os.close(write_end)
        write_end = -1
        assert live.read(4) == b""
        assert live.ended
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def _pattern(size: int) -> bytes:
    """Bytes that show a lost, doubled or reordered piece: each 8-byte word is its own offset."""
    return b"".join(i.to_bytes(8, "big") for i in range(0, size, 8))


def test_a_drained_pipe_takes_everything_its_writer_writes_while_nothing_reads_it():
    """tcpdump must never wait on the decoder: a drained pipe's writer finishes writing 16 MiB
    (16 times the biggest pipe) before a byte is read, and every byte then arrives in order,
    Ctrl-C sent to the buffer on the way (the terminal sends it to the whole group)."""
    import threading

    from inspector.capture.live import LiveInput

    data = _pattern(16 << 20)
    read_end, write_end = os.pipe()
    live = LiveInput(read_end, drain=True)
    os.close(read_end)  # the buffer holds its own end
    assert live.buffer is not None
    written = threading.Event()

    def write() -> None:
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        written.set()

    threading.Thread(target=write, daemon=True).start()
    try:
        assert written.wait(120), "the writer was kept waiting by a reader that did not read"
        os.kill(live.buffer.pid, signal.SIGINT)
        got = bytearray()
        while piece := live.read(1 << 20):
            got += piece
        assert len(got) == len(data) and got == data
        assert live.ended
    finally:
        live.close()
    assert live.buffer.proc.returncode == 0


def test_a_pipe_buffer_ends_when_its_reader_goes_away():
    """Stopped early (the user quit), the buffer does not linger behind a writer that is quiet."""
    from inspector.capture.live import LiveInput

    read_end, write_end = os.pipe()
    live = LiveInput(read_end, drain=True)
    os.close(read_end)
    try:
        os.write(write_end, b"held and never read")
        assert live.read(4) == b"held"
        live.close()
        assert live.buffer is not None and live.buffer.proc.returncode == 0  # ended by itself, not killed
    finally:
        os.close(write_end)


def test_stopping_a_followed_input_ends_its_read(tmp_path):
    import threading

    from inspector.capture.live import LiveInput

    path = Path(tmp_path / "f")
    path.write_bytes(b"xy")
    fd = os.open(path, os.O_RDONLY)
    try:
        waits: list[int] = []
        live = LiveInput(fd, follow=True, on_wait=lambda: waits.append(1))
        threading.Timer(0.5, live.stop).start()
        assert live.read(10) == b"xy"  # returns once stopped, with what there was
        assert waits == [1]
    finally:
        os.close(fd)


@pytest.mark.parametrize("name", ["grpc-unary.pcap", "curl-ipv6.pcapng"])
def test_record_writes_the_packets_of_a_pipe_as_pcapng(tmp_path, name):
    recording = tmp_path / "seen.pcapng"
    piped = _h2inspect("dump", "-", "--format", "jsonl", "--record", str(recording),
                       stdin=(CAPTURES / name).read_bytes())
    assert piped.returncode == 0, piped.stderr
    assert recording.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert _from_file("dump", str(recording), "--format", "jsonl") == piped.stdout


def test_record_of_a_file_that_is_not_live_is_refused():
    result = _h2inspect("dump", str(CAPTURES / "grpc-unary.pcap"), "--record", "/tmp/never.pcapng")
    assert result.returncode == 2
    assert b"--record is for a live source" in result.stderr


def test_a_followed_key_log_reads_secrets_written_after_it_was_opened(tmp_path):
    from inspector.tls.keylog import FollowedKeyLog

    path = tmp_path / "keys.log"
    keylog = FollowedKeyLog(str(path), patience=3600)  # the file does not exist yet
    random, secret = bytes(range(32)), bytes(48)
    assert keylog.get(random) == {} and not keylog.settled(random)  # worth looking again
    line = f"CLIENT_RANDOM {random.hex()} {secret.hex()}\n"
    path.write_text(line[:20])  # a line being written is not read yet
    assert keylog.get(random) == {} and not keylog.settled(random)
    with path.open("a") as f:
        f.write(line[20:])
    assert keylog.get(random) == {"CLIENT_RANDOM": secret} and keylog.settled(random)
    impatient = FollowedKeyLog(str(path), patience=0)
    assert impatient.get(b"\x01" * 32) == {} and impatient.settled(b"\x01" * 32)  # never logged: no wait


TLS_CAPTURE = CAPTURES / "curl-tls-keylog.pcap"
TLS_KEYS = CAPTURES / "curl-tls.keys"


def key_log_by_connection() -> list[str]:
    """The shipped key log's lines, grouped by client random in the order they were written."""
    groups: dict[str, list[str]] = {}
    for line in TLS_KEYS.read_text().splitlines(keepends=True):
        if len(line.split()) == 3:
            groups.setdefault(line.split()[1], []).append(line)
    return ["".join(lines) for lines in groups.values()]


def _tls_pipe_loader(keys: Path, patience: float):  # type: ignore[no-untyped-def]
    """A loader of the TLS capture arriving on a pipe, with a key log that is still being written."""
    from inspector.capture.live import LiveInput
    from inspector.capture.load import CaptureLoader
    from inspector.capture.reader import CaptureReader
    from inspector.tls.keylog import FollowedKeyLog

    read_end, write_end = os.pipe()
    data = TLS_CAPTURE.read_bytes()
    writer = threading.Thread(target=lambda: (os.write(write_end, data), os.close(write_end)))
    writer.start()
    loader = CaptureLoader("stdin", reader=CaptureReader.streaming(LiveInput(read_end), "stdin"))
    loader.builder.keylog = FollowedKeyLog(str(keys), patience=patience)
    return loader, read_end, writer


def _frame_keys(session) -> list[tuple[int, int, int, int, int, int]]:  # type: ignore[no-untyped-def]
    return [(f.conn_index, f.packet, f.stream_id, f.type_code, f.flags, f.length) for f in session.frames]


def test_a_connection_waits_for_its_secrets_without_reading_on_and_goes_on_when_they_come(tmp_path):
    """Live TLS with a key log the client has not written yet: each connection waits at its first
    protected record, no further packet is read meanwhile, nothing sleeps when the driver says so
    (pause None: the TUI waits on its own loop), and once the secrets are written the frames are
    those of the finished capture read with the whole key log, in the same order."""
    from inspector.capture.load import CaptureLoader
    from inspector.tls.keylog import KeyLog

    expected = CaptureLoader(str(TLS_CAPTURE), keylog=KeyLog.load(str(TLS_KEYS))).load()
    keys = tmp_path / "keys.log"
    keys.write_text("")
    loader, read_end, writer = _tls_pipe_loader(keys, patience=30)  # never used up: the keys come at once
    loader.pause = None
    groups = key_log_by_connection()
    waited_at: list[int] = []
    try:
        for session in loader.batches():
            if not loader.waiting_for_secrets:
                continue
            if waited_at and waited_at[-1] == session.packets:
                continue  # the same wait, looked at again: the loader read no packet meanwhile
            waited_at.append(session.packets)
            with keys.open("a") as f:
                f.write(groups[len(waited_at) - 1])  # the client writes this connection's secrets now
    finally:
        writer.join()
        os.close(read_end)
    assert len(waited_at) == len(groups) == 5  # each connection waited once, for its own secrets
    assert waited_at == sorted(waited_at)
    assert _frame_keys(loader.session) == _frame_keys(expected)
    assert [c.protocol for c in loader.session.connections] == [c.protocol for c in expected.connections]


def test_a_connection_whose_secrets_never_come_is_left_undecrypted_after_its_patience(tmp_path):
    keys = tmp_path / "keys.log"
    keys.write_text(key_log_by_connection()[0])  # only the first connection was logged
    loader, read_end, writer = _tls_pipe_loader(keys, patience=0.05)
    try:
        session = loader.load()
    finally:
        writer.join()
        os.close(read_end)
    decrypted = [c for c in session.connections if c.protocol.startswith("h2 (")]
    assert [c.index for c in decrypted] == [0]
    assert {f.conn_index for f in session.frames} == {0}
    assert sum("no secrets for this connection in the key log" in f.message for f in session.findings) == 4


@pytest.mark.parametrize(("args", "problem"), [
    ((), "h2inspect: name a CAPTURE (a file, or - for standard input) or an interface with -i IFACE"),
    (("x.pcap", "-i", "lo"), "h2inspect: either a CAPTURE (x.pcap) or -i lo, not both"),
    (("x.pcap", "--count", "3"), "h2inspect: --count is for sniffing an interface (-i IFACE)"),
    (("-i", "lo", "--follow"), "h2inspect: --follow is for a capture file; -i already reads as packets arrive"),
])
def test_a_live_command_line_that_cannot_work_is_one_line_and_exit_2(args, problem):
    result = _h2inspect("dump", *args)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [problem]


def test_rpcs_of_a_pipe_prints_each_call_once_it_has_ended_before_the_pipe_ends():
    from inspector.capture.reader import CaptureReader

    path = CAPTURES / "grpc-server-streaming.pcap"
    data = path.read_bytes()
    from_file = _from_file("rpcs", str(path), "--format", "jsonl").decode().splitlines()
    frames = [json.loads(line) for line in _from_file("dump", str(path), "--format", "jsonl").splitlines()]
    first_end = next(f["packet"] for f in frames if f["from"] == "server" and f["type"] == "HEADERS"
                     and f["flags"] & 1)  # the trailers: END_STREAM
    reader = CaptureReader(str(path))
    for _ in reader:
        pass
    cut = reader.packet_ends[first_end - 1]  # the pipe gets up to the packet that ends the first call
    assert cut < len(data)
    proc = subprocess.Popen([*CMD, "rpcs", "-", "--format", "jsonl"], env=ENV, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(data[:cut])
        proc.stdin.flush()
        ready = selectors.DefaultSelector()
        ready.register(proc.stdout, selectors.EVENT_READ)
        assert ready.select(30), "no call printed while the pipe is open"
        first = proc.stdout.readline()  # a call that has ended, printed with the pipe still open
        assert json.loads(first)["ended_by"] in ("trailers", "trailers-only")
        rest, _ = proc.communicate(data[cut:], timeout=60)  # the rest, then the end of the pipe
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [first.decode().rstrip("\n")] + rest.decode().splitlines()
    assert sorted(lines) == sorted(from_file) and len(lines) == len(from_file)


def test_a_pipe_buffer_that_holds_its_limit_makes_the_writer_wait_and_loses_nothing():
    """A decoder behind for good must not grow memory without end: past its limit the buffer
    stops reading, so the writer is held back (backpressure), and once the reader reads again
    every byte arrives in order. Without the limit the writer would get all of the data in: twice
    the most a limited buffer and its pipes can take (16 MiB with 1 MiB pipes)."""
    import select

    from inspector.capture.live import LiveInput

    hold = 2 << 20
    # the buffer's limit, a read of its own, and the two pipes (each at most pipe-max-size)
    pipes = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    bound = hold + (1 << 20) + 2 * pipes + (1 << 20)
    # (at most 64 MiB: a `hold` made huge here must not make the test ask for gigabytes)
    data = _pattern(min(max(16 << 20, 2 * bound), 64 << 20))
    assert len(data) > bound  # more than a limited buffer takes: without its limit, this fails
    read_end, write_end = os.pipe()
    live = LiveInput(read_end, drain=True, hold=hold)
    os.close(read_end)
    os.set_blocking(write_end, False)
    accepted = 0
    try:
        while accepted < len(data):
            try:
                accepted += os.write(write_end, data[accepted:accepted + (1 << 20)])
            except BlockingIOError:
                # Full: wait for the buffer to take more. It stops taking at its limit, so the
                # wait ends unanswered; the limit, not this wait, bounds what was accepted (a
                # buffer with no limit goes on taking: a second without a byte taken ends it).
                if not select.select([], [write_end], [], 1)[1]:
                    break
        assert accepted <= bound, accepted
        got = bytearray()
        os.set_blocking(write_end, True)
        writer = threading.Thread(target=lambda: os.write(write_end, data[accepted:]) and os.close(write_end))
        writer.start()
        while piece := live.read(1 << 20):
            got += piece
        writer.join()
        assert len(got) == len(data) and got == data
    finally:
        live.close()
