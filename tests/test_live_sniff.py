"""Sniffing loopback with real peers: what `h2inspect dump -i lo` prints live equals tshark's
reading of a tcpdump capture taken at the same time; the same through a pipe; bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import pytest
from oracle import tshark_frames
from proxykit import ROOT, nghttpd, require, run, stop
from wirekit import start_capture, stop_capture

pytestmark = pytest.mark.peers

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


class LiveRun:
    """A running `h2inspect dump ... --format jsonl` whose output goes to files, read as it grows."""

    def __init__(self, proc: subprocess.Popen, out: Path, err: Path) -> None:
        self.proc, self.out, self.err = proc, out, err

    def frames(self) -> list[dict]:
        lines = self.out.read_text().split("\n")[:-1]  # the last piece may be a line being written
        return [json.loads(line) for line in lines]

    def stderr(self) -> str:
        return self.err.read_text()

    def wait_for(self, predicate, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            if self.proc.poll() is not None and not predicate(self):
                break
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; stderr:\n{self.stderr()}")


@contextmanager
def live_dump(tmp_path: Path, *args: str, stdin: int | None = None, command: str = "dump") -> Iterator[LiveRun]:
    """`h2inspect dump ... --format jsonl` (or `rpcs`, `command`) running, its output in files."""
    n = len(list(tmp_path.glob("live-*.out")))
    out, err = tmp_path / f"live-{n}.out", tmp_path / f"live-{n}.err"
    with out.open("w") as fo, err.open("w") as fe:
        proc = subprocess.Popen([sys.executable, "-m", "inspector", command, *args, "--format", "jsonl"],
                                stdout=fo, stderr=fe, stdin=stdin, env=ENV, cwd=ROOT)
    try:
        yield LiveRun(proc, out, err)
    finally:
        stop(proc, signal.SIGINT)


def _key(row: dict) -> tuple[int, int, int, int]:
    return (row["stream_id"], row["type_code"], row["flags"], row["length"])


Sender = tuple[str, str]  # (from "ip:port", to "ip:port"): one direction of one connection


def _tshark_by_sender(path: Path, port: int) -> dict[Sender, list[tuple[int, int, int, int]]]:
    """tshark's frames of a capture, in order within each direction of each connection."""
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-o", "tcp.reassemble_out_of_order:TRUE",
                          "-d", f"tcp.port=={port},http2", "-Y", "http2.type", "-T", "fields",
                          "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport",
                          "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.flags", "-e", "http2.length",
                          "-E", "occurrence=a", "-E", "separator=/t"],
                         capture_output=True, text=True, check=True).stdout
    frames: dict[Sender, list[tuple[int, int, int, int]]] = {}
    for line in out.splitlines():
        src, sport, dst, dport, sids, types, flags, lengths = line.split("\t")
        for key in zip(sids.split(","), types.split(","), flags.split(","), lengths.split(","), strict=True):
            frames.setdefault((f"{src}:{sport}", f"{dst}:{dport}"), []).append(
                (int(key[0]), int(key[1]), int(key[2], 16), int(key[3])))
    return frames


def _live_by_sender(rows: list[dict]) -> dict[Sender, list[tuple[int, int, int, int]]]:
    frames: dict[Sender, list[tuple[int, int, int, int]]] = {}
    for r in rows:
        ends = (r["client"], r["server"]) if r["from"] == "client" else (r["server"], r["client"])
        frames.setdefault(ends, []).append(_key(r))
    return frames


def _same_as_the_reference(rows: list[dict], reference: Path, port: int) -> None:
    """Two captures of one interface agree on each direction's packets, in order, but not always
    on how two senders' packets interleave: the kernel hands a packet to each capture socket in
    turn, and a server's SETTINGS sent as the client's preface is sent (two CPUs) can reach the
    two sockets in opposite orders. So the reference is compared direction by direction; the
    live output's order as a whole is checked against tshark's reading of its own --record."""
    assert _live_by_sender(rows) == _tshark_by_sender(reference, port)


def _traffic(port: int) -> None:
    url = f"http://127.0.0.1:{port}/"
    for path in ("", "big.bin"):  # one connection each (curl 7.88 with two URLs on one fails)
        assert run(["curl", "-sS", "--http2-prior-knowledge", url + path, "-o", "/dev/null"]).returncode == 0
    assert run(["nghttp", "-n", url, url + "big.bin"]).returncode == 0


_STARTED: list[subprocess.Popen] = []


def _reference(path: Path, port: int) -> subprocess.Popen:
    """tcpdump writing the reference capture, stopped after the test however it ends."""
    proc = start_capture(str(path), port)
    _STARTED.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _stop_reference_captures() -> Iterator[None]:
    yield
    while _STARTED:
        stop(_STARTED.pop(), signal.SIGINT)


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    require("nghttpd", "nghttp", "curl", "tcpdump", "tshark")
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("hello\n")
    (root / "big.bin").write_bytes(os.urandom(200_000))
    return root


def test_frames_sniffed_on_loopback_equal_tsharks_reading_of_a_capture_taken_at_once(tmp_path, docroot):
    with nghttpd(docroot) as port:
        reference = tmp_path / "reference.pcap"
        ref = _reference(reference, port)
        recording = tmp_path / "seen.pcapng"
        with live_dump(tmp_path, "-i", "lo", "-f", f"tcp port {port}", "--record", str(recording)) as live:
            live.wait_for(lambda r: "capturing (tcp port" in r.stderr(), "the capture to start")
            _traffic(port)
            stop_capture(ref)
            expected = [(sid, t, fl, ln) for _, sid, t, fl, ln in tshark_frames(str(reference), [port])]
            assert len(expected) > 20
            # Printed live: every frame is out before the capture is stopped.
            live.wait_for(lambda r: len(r.frames()) >= len(expected), f"{len(expected)} frames")
            assert live.proc.poll() is None
            _same_as_the_reference(live.frames(), reference, port)
            live.proc.send_signal(signal.SIGINT)
            assert live.proc.wait(timeout=30) == 0
        # --record wrote what was seen: tshark reads the same frames from it, packet numbers too
        assert tshark_frames(str(recording), [port]) == [
            (r["packet"], r["stream_id"], r["type_code"], r["flags"], r["length"]) for r in live.frames()]
        assert re.search(r"h2inspect: lo: \d+ packets captured, \d+ received by the filter, 0 dropped by the kernel",
                         live.stderr()), live.stderr()


def test_count_stops_the_sniff_and_the_frames_are_those_of_its_packets(tmp_path, docroot):
    with nghttpd(docroot) as port, live_dump(tmp_path, "-i", "lo", "-f", f"tcp port {port}", "--count", "12") as live:
        live.wait_for(lambda r: "capturing" in r.stderr(), "the capture to start")
        _traffic(port)
        assert live.proc.wait(timeout=30) == 0  # ended by itself after 12 packets
        assert "12 packets captured" in live.stderr()
        frames = live.frames()
        assert frames and max(r["packet"] for r in frames) <= 12


def test_duration_stops_the_sniff(tmp_path, docroot):
    with live_dump(tmp_path, "-i", "lo", "-f", "tcp port 1", "--duration", "0.5") as live:
        assert live.proc.wait(timeout=30) == 0
        assert "0 packets captured" in live.stderr() or "packets captured" in live.stderr()


def test_a_tcpdump_pipe_dumps_as_tshark_reads_the_same_packets(tmp_path, docroot):
    with nghttpd(docroot) as port:
        reference = tmp_path / "reference.pcap"
        ref = _reference(reference, port)
        tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-B", "65536", "-n", "-w", "-",
                                    f"tcp port {port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert tcpdump.stdout is not None and tcpdump.stderr is not None
            os.set_blocking(tcpdump.stderr.fileno(), False)
            recording = tmp_path / "seen.pcapng"
            with live_dump(tmp_path, "-", "--record", str(recording), stdin=tcpdump.stdout.fileno()) as live:
                tcpdump.stdout.close()
                said, deadline = b"", time.monotonic() + 20
                while b"listening on" not in said and time.monotonic() < deadline:
                    said += tcpdump.stderr.read() or b""
                    time.sleep(0.05)
                assert b"listening on" in said
                _traffic(port)
                stop_capture(ref)
                expected = [(sid, t, fl, ln) for _, sid, t, fl, ln in tshark_frames(str(reference), [port])]
                assert len(expected) > 20
                # printed as they came through the pipe, before tcpdump is stopped
                live.wait_for(lambda r: len(r.frames()) >= len(expected), f"{len(expected)} frames from the pipe")
                assert live.proc.poll() is None
                _same_as_the_reference(live.frames(), reference, port)
                stop(tcpdump, signal.SIGINT)
                assert live.proc.wait(timeout=30) == 0
        finally:
            stop(tcpdump, signal.SIGINT)
        assert tshark_frames(str(recording), [port]) == [
            (r["packet"], r["stream_id"], r["type_code"], r["flags"], r["length"]) for r in live.frames()]
        assert len({r["conn"] for r in live.frames()}) == 3  # two curl connections and nghttp's


def test_no_such_interface_is_one_line_and_exit_2():
    require("tcpdump")
    result = run([sys.executable, "-m", "inspector", "dump", "-i", "no-such-if0"], env=ENV, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == ["h2inspect: no-such-if0: no such interface (`ip link` lists them)"]


def test_a_bpf_filter_that_does_not_compile_is_one_line_and_exit_2():
    require("tcpdump")
    result = run([sys.executable, "-m", "inspector", "rpcs", "-i", "lo", "-f", "tcp port and"], env=ENV, cwd=ROOT)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("h2inspect: lo: the BPF filter does not compile: ")
    assert "syntax error" in lines[0]


def test_without_the_right_to_capture_it_says_how_to_get_it():
    require("tcpdump", "setpriv")
    # root without CAP_NET_RAW and CAP_NET_ADMIN (and so tcpdump, its child, without them)
    result = run(["setpriv", "--bounding-set=-net_raw,-net_admin", "--inh-caps=-net_raw,-net_admin",
                  sys.executable, "-m", "inspector", "dump", "-i", "lo"], env=ENV, cwd=ROOT)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("h2inspect: lo: you may not capture on lo: run as root")
    assert "setcap cap_net_raw,cap_net_admin+eip" in lines[0]


def test_tls_started_after_the_sniff_is_decrypted_live_with_the_key_log_being_written(tmp_path, docroot):
    require("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    assert run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost", "-days", "1"]).returncode == 0
    keys = tmp_path / "keys.log"  # does not exist yet: curl writes it once it runs
    with nghttpd(docroot, tls=(key, cert)) as port:
        reference = tmp_path / "reference.pcap"
        ref = _reference(reference, port)
        with live_dump(tmp_path, "-i", "lo", "-f", f"tcp port {port}", "--keylog", str(keys)) as live:
            live.wait_for(lambda r: "capturing" in r.stderr(), "the capture to start")
            for path in ("", "big.bin"):
                got = run(["curl", "-sS", "-k", "--http2", f"https://127.0.0.1:{port}/{path}", "-o", "/dev/null"],
                          env={**os.environ, "SSLKEYLOGFILE": str(keys)})
                assert got.returncode == 0, got.stderr
            stop_capture(ref)
            expected = [(sid, t, fl, ln) for _, sid, t, fl, ln in
                        tshark_frames(str(reference), extra=["-o", f"tls.keylog_file:{keys}"])]
            assert len(expected) > 10
            live.wait_for(lambda r: len(r.frames()) >= len(expected), f"{len(expected)} decrypted frames")
            assert live.proc.poll() is None
            assert [_key(r) for r in live.frames()] == expected
            assert {r["type"] for r in live.frames()} >= {"HEADERS", "DATA", "SETTINGS"}


def test_a_running_sniff_gives_its_drop_counts_when_asked():
    require("tcpdump")
    from inspector.capture.sniff import InterfaceSniffer

    listening: list[bool] = []
    sniffer = InterfaceSniffer("lo", "tcp port 1", on_listening=lambda: listening.append(True))
    try:
        deadline = time.monotonic() + 20
        while not listening and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listening
        sniffer.ask_counts()  # what the TUI's status line does while the capture runs
        while sniffer.counts() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        counts = sniffer.counts()
        assert counts is not None and counts.dropped == 0
        assert sniffer.proc.poll() is None  # asked, not stopped
    finally:
        sniffer.close()
    assert sniffer.proc.returncode is not None


def test_dump_follow_reads_a_file_tcpdump_is_writing_with_the_frames_of_reading_it_after(tmp_path, docroot):
    with nghttpd(docroot) as port:
        growing = tmp_path / "growing.pcap"
        writer = start_capture(str(growing), port)  # tcpdump -U -w growing.pcap, listening
        try:
            with live_dump(tmp_path, "--follow", str(growing)) as live:
                live.wait_for(lambda r: "waiting for more" in r.stderr(), "the end of the file so far")
                _traffic(port)
                stop_capture(writer)
                after = [(sid, t, fl, ln) for _, sid, t, fl, ln in tshark_frames(str(growing), [port])]
                assert len(after) > 20
                live.wait_for(lambda r: len(r.frames()) >= len(after), f"{len(after)} frames followed")
                assert live.proc.poll() is None  # still following
                assert [_key(r) for r in live.frames()] == after
                live.proc.send_signal(signal.SIGINT)
                assert live.proc.wait(timeout=30) == 0
        finally:
            stop(writer, signal.SIGINT)
        read_after = run([sys.executable, "-m", "inspector", "dump", str(growing), "--format", "jsonl"], env=ENV,
                         cwd=ROOT)
        assert read_after.stdout.decode().splitlines() == live.out.read_text().splitlines()


def test_check_sniffs_an_interface_too(tmp_path, docroot):
    """`check -i`: the findings of what passed, once the sniff stops (here after --count packets)."""
    with nghttpd(docroot) as port:
        proc = subprocess.Popen([sys.executable, "-m", "inspector", "check", "-i", "lo", "-f", f"tcp port {port}",
                                 "--count", "30", "--format", "jsonl"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
        try:
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                _traffic(port)  # until 30 packets have passed; each round is real traffic
                if proc.poll() is not None:
                    break
            out, err = proc.communicate(timeout=30)
        finally:
            stop(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    assert "30 packets captured" in err
    assert all(json.loads(line)["severity"] != "error" for line in out.splitlines())


def test_a_sniff_gives_the_decoding_thread_its_priority_back_when_it_ends():
    """Decoding runs niced behind the capture (tcpdump and its pipe buffer raised, as root) while
    it lasts; after, the process is as it was (a process that sniffs many times, a test run,
    must not be left lowered, nor lowered again)."""
    from inspector.capture.sniff import CAPTURE_NICENESS, DECODER_NICENESS, InterfaceSniffer

    before = os.getpriority(os.PRIO_PROCESS, 0)
    sniffer = InterfaceSniffer("lo", "tcp port 1", count=1)
    try:
        assert os.getpriority(os.PRIO_PROCESS, 0) == before + DECODER_NICENESS
        # tcpdump and the buffer that empties its pipe capture ahead of the load, where allowed
        capture = CAPTURE_NICENESS if os.geteuid() == 0 else before
        assert sniffer.input.buffer is not None
        assert os.getpriority(os.PRIO_PROCESS, sniffer.proc.pid) == capture
        assert os.getpriority(os.PRIO_PROCESS, sniffer.input.buffer.pid) == capture
    finally:
        sniffer.close()
    assert os.getpriority(os.PRIO_PROCESS, 0) == before


def _grpc_server():  # type: ignore[no-untyped-def]
    """A grpcio server with a method of each style and one that fails; raw bytes as messages."""
    import grpc

    ident = lambda x: x  # noqa: E731

    def server_streaming(request, context):  # type: ignore[no-untyped-def]
        for i in range(3):
            yield request + bytes([i])

    def client_streaming(requests, context):  # type: ignore[no-untyped-def]
        return b"".join(requests)

    def bidi(requests, context):  # type: ignore[no-untyped-def]
        yield from requests

    def fail(request, context):  # type: ignore[no-untyped-def]
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    handlers = {"Unary": grpc.unary_unary_rpc_method_handler(lambda r, c: r, ident, ident),
                "ServerStream": grpc.unary_stream_rpc_method_handler(server_streaming, ident, ident),
                "ClientStream": grpc.stream_unary_rpc_method_handler(client_streaming, ident, ident),
                "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
                "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident)}
    server = grpc.server(futures.ThreadPoolExecutor(4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("live.Calls", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def _grpc_calls(port: int) -> list[tuple[str, str, int, int, int]]:
    """A call of each style and a failing one, one after the other on one channel; what the
    client saw of each: (method, style, requests sent, responses received, status code)."""
    import grpc

    ident = lambda x: x  # noqa: E731
    seen = []
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)]) as channel:
        assert channel.unary_unary("/live.Calls/Unary", ident, ident)(b"one") == b"one"
        seen.append(("/live.Calls/Unary", "unary", 1, 1, grpc.StatusCode.OK.value[0]))
        replies = list(channel.unary_stream("/live.Calls/ServerStream", ident, ident)(b"r"))
        seen.append(("/live.Calls/ServerStream", "server-streaming", 1, len(replies), grpc.StatusCode.OK.value[0]))
        joined = channel.stream_unary("/live.Calls/ClientStream", ident, ident)(iter([b"a", b"b", b"c"]))
        assert joined == b"abc"
        seen.append(("/live.Calls/ClientStream", "client-streaming", 3, 1, grpc.StatusCode.OK.value[0]))
        echoed = list(channel.stream_stream("/live.Calls/Bidi", ident, ident)(iter([b"x", b"y", b"z"])))
        seen.append(("/live.Calls/Bidi", "bidi-streaming", 3, len(echoed), grpc.StatusCode.OK.value[0]))
        with pytest.raises(grpc.RpcError) as failed:
            channel.unary_unary("/live.Calls/Fail", ident, ident)(b"?")
        seen.append(("/live.Calls/Fail", "unary", 1, 0, failed.value.code().value[0]))
    return seen


def test_grpc_calls_sniffed_live_equal_tshark_and_what_the_client_saw(tmp_path):
    """grpcio client and server on loopback, a call of each of the four styles and a failing one:
    `dump -i lo` prints the frames tshark reads from a tcpdump capture taken at the same time, and
    `rpcs -i lo` the calls, styles and statuses the client saw, each as soon as it has ended."""
    require("tcpdump", "tshark")
    server, port = _grpc_server()
    try:
        reference = tmp_path / "reference.pcap"
        ref = _reference(reference, port)
        bpf = f"tcp port {port}"
        with live_dump(tmp_path, "-i", "lo", "-f", bpf) as frames, \
                live_dump(tmp_path, "-i", "lo", "-f", bpf, command="rpcs") as calls:
            for run in (frames, calls):
                run.wait_for(lambda r: "capturing (tcp port" in r.stderr(), "the capture to start")
            seen = _grpc_calls(port)
            server.stop(None).wait()  # the connection is closed: nothing more on the wire
            stop_capture(ref)
            expected = [(sid, t, fl, ln) for _, sid, t, fl, ln in tshark_frames(str(reference), [port])]
            assert len(expected) > 20
            frames.wait_for(lambda r: len(r.frames()) >= len(expected), f"{len(expected)} frames")
            calls.wait_for(lambda r: len(r.frames()) >= len(seen), f"{len(seen)} calls")
            assert frames.proc.poll() is None and calls.proc.poll() is None  # printed live
            assert [_key(r) for r in frames.frames()] == expected
            printed = [(c["method"], c["style"], c["request_messages"], c["response_messages"], c["grpc_status"])
                       for c in calls.frames()]
            assert printed == seen
            assert [c["ended_by"] for c in calls.frames()] == ["trailers"] * 4 + ["trailers-only"]
            assert calls.frames()[-1]["grpc_message"] == "no such thing"
            for run in (frames, calls):
                run.proc.send_signal(signal.SIGINT)
                assert run.proc.wait(timeout=30) == 0
                assert " 0 dropped by the kernel" in run.stderr()
    finally:
        server.stop(None)
