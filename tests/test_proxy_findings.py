"""The proxy's own events are findings of proxy.* rules: printed with their ids by `proxy --headless`
(real curl, nghttpd, TLS clients and servers), and in the TUI over a live proxy, where the problems
view shows them as they happen and the status line counts them (Textual's Pilot, the relay in the
same event loop as `h2inspect proxy` runs them)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from conftest import screen_text
from hyperframe.frame import SettingsFrame
from proxykit import ThreadServer, free_port, nghttpd, proxy, require, run, stopped_cleanly

from inspector.findings.rules import RULES
from inspector.http2.frames import CLIENT_PREFACE as PREFACE
from inspector.model import Severity
from inspector.proxy import relay as relay_module
from inspector.proxy.live_source import DecodePacer, LiveSource
from inspector.proxy.recorder import PcapngRecorder
from inspector.proxy.relay import Endpoint, Relay, RelaySettings
from inspector.proxy.tls import LocalCA
from inspector.tui.app import App
from inspector.tui.widgets.problems import ProblemsScreen


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("served\n")
    return root


def _proxy_ca(tmp_path: Path) -> Path:
    return tmp_path / "h2home" / "ca" / "ca.pem"


def _lines(p, rule: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The proxy's stderr lines of one rule."""
    return [line for line in p.stderr().splitlines() if f" {rule}: " in line]


def test_every_proxy_rule_is_in_the_table_with_both_languages():
    proxy_rules = [r for r in RULES.values() if r.family == "proxy"]
    assert len(proxy_rules) >= 20
    for r in proxy_rules:
        assert r.title and r.en.endswith(".") and r.ja.endswith("。"), r.id
    got = run(["python3", "-m", "inspector", "check", "--list-rules"], cwd=Path(__file__).parent.parent)
    listed = [line.split()[0] for line in got.stdout.decode().splitlines() if line.startswith("proxy.")]
    assert listed == [r.id for r in proxy_rules]


# ---- proxy --headless: real peers --------------------------------------------------------------------

@pytest.mark.peers
@pytest.mark.usefixtures("peers")
def test_a_client_that_rejects_the_proxys_ca_is_an_error_with_the_hint_to_trust_ca_pem(tmp_path, docroot):
    """Reverse mode with --tls: curl without --cacert exits 60; a plain client on the TLS port fails its
    handshake; a port probe is nothing; a client that trusts ca.pem is served."""
    with nghttpd(docroot) as port, proxy(tmp_path, f"127.0.0.1:{port}", "--tls") as p:
        ca = _proxy_ca(tmp_path)
        rejected = run(["curl", "-sS", f"https://127.0.0.1:{p.port}/index.html"])
        assert rejected.returncode == 60, rejected.stderr
        p.wait_for(lambda r: _lines(r, "proxy.client-rejected-ca"))
        socket.create_connection(("127.0.0.1", p.port), 10).close()  # a probe: says nothing
        with socket.create_connection(("127.0.0.1", p.port), 10) as plain:
            plain.sendall(PREFACE + SettingsFrame(0).serialize())  # h2c where TLS is expected
            plain.settimeout(10)
            try:
                while plain.recv(4096):
                    pass
            except OSError:
                pass
        p.wait_for(lambda r: _lines(r, "proxy.client-tls-failed"))
        served = run(["curl", "-sS", "--cacert", str(ca), f"https://127.0.0.1:{p.port}/index.html"])
        assert served.returncode == 0 and served.stdout == b"served\n", served.stderr
    [line] = _lines(p, "proxy.client-rejected-ca")
    assert ": error proxy.client-rejected-ca: the client 127.0.0.1:" in line
    assert f"rejected the certificate the proxy made (TLSV1_ALERT_UNKNOWN_CA): make the client trust {ca} " \
           f"(curl --cacert {ca}) (RFC 8446 §6.2)" in line
    [failed] = _lines(p, "proxy.client-tls-failed")
    assert ": warning proxy.client-tls-failed: TLS handshake with the client 127.0.0.1:" in failed
    proxy_lines = [x for x in p.stderr().splitlines() if " proxy." in x]
    assert len(proxy_lines) == 2, p.stderr()  # the probe and the client that was served: nothing
    assert stopped_cleanly(p)


@pytest.mark.peers
@pytest.mark.usefixtures("peers")
def test_an_upstream_name_that_does_not_resolve_is_unreachable(tmp_path):
    with proxy(tmp_path, "no-such-host.invalid:80") as p:
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/"])
        assert got.returncode != 0
        p.wait_for(lambda r: _lines(r, "proxy.upstream-unreachable"))
    [line] = _lines(p, "proxy.upstream-unreachable")
    assert line.startswith("h2inspect: proxy: conn 0: error proxy.upstream-unreachable: upstream "
                           "no-such-host.invalid:80 ") and line.endswith("; the client's connection is reset")
    assert stopped_cleanly(p)


def _http1_server(conn: socket.socket) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            return
        request += chunk
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n")


@pytest.mark.peers
@pytest.mark.usefixtures("peers")
def test_http1_through_the_proxy_is_an_info_finding(tmp_path):
    with ThreadServer(_http1_server) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}") as p:
        got = run(["curl", "-sS", "--http1.1", f"{p.url}/"])
        assert got.returncode == 0 and got.stdout == b"ok\n", got.stderr
        p.wait_for(lambda r: _lines(r, "proxy.http1"))
    assert _lines(p, "proxy.http1") == ["h2inspect: proxy: conn 0: info proxy.http1: HTTP/1.1: relayed, shown as "
                                        "such, not decoded as HTTP/2 (RFC 9112)"]
    assert stopped_cleanly(p)


def _alpn_server(conn: ssl.SSLSocket) -> None:
    conn.sendall(f"alpn={conn.selected_alpn_protocol()}".encode())
    conn.recv(10)


@pytest.mark.peers
@pytest.mark.usefixtures("peers")
def test_an_upstream_that_speaks_no_protocol_the_client_chose_is_a_warning(tmp_path):
    upstream_ca = LocalCA(tmp_path / "upstream-ca").ensure()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf = upstream_ca.leaf(["127.0.0.1"])
    server_ctx.load_cert_chain(str(leaf.cert), str(leaf.key))
    server_ctx.set_alpn_protocols(["http/1.1"])  # the client will have chosen h2 with the proxy
    with ThreadServer(_alpn_server, server_ctx) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls", "--upstream-tls", "--upstream-ca",
                  str(upstream_ca.cert_path)) as p:
        client_ctx = ssl.create_default_context(cafile=str(_proxy_ca(tmp_path)))
        client_ctx.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", p.port), 10) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() == "h2"
            assert tls.recv(100) == b"alpn=None"  # the upstream agreed to nothing
        p.wait_for(lambda r: _lines(r, "proxy.alpn-mismatch"))
    assert _lines(p, "proxy.alpn-mismatch") == ["h2inspect: proxy: conn 0: warning proxy.alpn-mismatch: upstream "
                                                "negotiated ALPN None, the client 'h2' (RFC 7301 §3.2)"]
    assert stopped_cleanly(p)


# ---- in-process: the relay on this event loop ---------------------------------------------------------

def test_an_upstream_that_never_accepts_is_a_timeout(monkeypatch):
    """An upstream whose accept queue is full drops the SYN: the connection times out."""
    monkeypatch.setattr(relay_module, "CONNECT_TIMEOUT", 0.3)
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    port = full.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), 5)  # the one connection the queue holds

    async def scenario() -> LiveSource:
        source = LiveSource(PcapngRecorder(None))
        relay = Relay(RelaySettings(Endpoint("127.0.0.1", 0), Endpoint("127.0.0.1", port)), source)
        [bound] = await relay.start()
        reader, writer = await asyncio.open_connection(bound.host, bound.port)
        writer.write(PREFACE)
        try:
            assert await asyncio.wait_for(reader.read(), 10) == b""
        except ConnectionResetError:
            pass  # reset, as the client of an upstream that failed is
        writer.close()
        await relay.stop()
        return source

    try:
        source = asyncio.run(scenario())
    finally:
        filler.close()
        full.close()
    [finding] = [f for f in source.session.findings if f.rule.startswith("proxy.")]
    assert (finding.rule, finding.severity, finding.conn_index) == ("proxy.upstream-timeout", Severity.ERROR, 0)
    assert finding.message == f"upstream 127.0.0.1:{port} did not answer within 0.3 s; the client's connection is reset"


def test_bytes_that_reach_a_side_already_closing_are_dropped_and_said():
    """The race no peer can be made to win on demand: upstream bytes read in the same turn of the loop
    in which the client's side is closing. The relay is real (sockets, legs); the bytes are handed to the
    upstream leg as asyncio would, right after the client leg's close."""

    async def scenario() -> LiveSource:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set_result(writer)

        server = await asyncio.start_server(upstream, "127.0.0.1", 0)
        source = LiveSource(PcapngRecorder(None))
        relay = Relay(RelaySettings(Endpoint("127.0.0.1", 0),
                                    Endpoint("127.0.0.1", server.sockets[0].getsockname()[1])), source)
        [bound] = await relay.start()
        _, client = await asyncio.open_connection(bound.host, bound.port)
        client.write(PREFACE)
        up = await asyncio.wait_for(accepted, 10)
        [link] = relay.links
        while link.upstream is None:
            await asyncio.sleep(0.01)
        link.client.close()
        link.upstream.data_received(b"late bytes")
        link.upstream.data_received(b"and more")  # said once
        client.close()
        up.close()
        await relay.stop()
        server.close()
        return source

    source = asyncio.run(scenario())
    found = [f for f in source.session.findings if f.rule == "proxy.side-closed"]
    assert [(f.conn_index, f.severity) for f in found] == [(0, Severity.WARNING)]
    assert found[0].message.startswith("the client's side is already closed: bytes still arriving")


def _receive_queue(port: int, which: str) -> int:
    """The most bytes waiting, unread, in a socket of an established connection to or from `port` (ss)."""
    out = run(["ss", "-tnH", "state", "established", f"( {which} = :{port} )"]).stdout.decode()
    return max([int(line.split()[0]) for line in out.splitlines()] or [0])


def _bytes_received(port: int) -> int:
    """What the socket connected to `port` has received so far (ss -i: bytes_received)."""
    out = run(["ss", "-tinH", "state", "established", f"( dport = :{port} )"]).stdout.decode()
    return max([int(m) for m in re.findall(r"bytes_received:(\d+)", out)] or [0])


def _until(predicate, what: str, timeout: float = 20.0, *, give_up: bool = False) -> bool:  # type: ignore[no-untyped-def]
    """Poll until `predicate()`; past `timeout`, fail (or, with give_up, say False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            if give_up:
                return False
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
    return True


SIDE_CLOSED_ATTEMPTS = 6  # connections tried, each a new one; one is enough


@pytest.mark.peers
@pytest.mark.usefixtures("peers")
def test_bytes_from_nghttpd_for_an_nghttp_already_gone_are_dropped_and_said(tmp_path):
    """Real peers: nghttp downloads a large file from nghttpd through `h2inspect proxy --headless`. The
    proxy is frozen (SIGSTOP) with bytes unread in nghttp's socket, nghttp is killed (its kernel answers
    with a reset), nghttpd fills the proxy's upstream socket, and the proxy goes on (SIGCONT): the reset
    and the upstream's bytes are read in one turn of its loop, and what is read for the client's side
    after it closed is dropped and said, once, as proxy.side-closed on that connection. A connection
    whose proxy had stopped reading the upstream at the freeze (its client's buffer full: backpressure)
    has no such bytes, only the reset; the next connection is tried."""
    require("nghttp", "ss")
    root = tmp_path / "www"
    root.mkdir()
    with (root / "big").open("wb") as big:
        big.truncate(1 << 30)  # sparse: a download that outlasts the test
    with nghttpd(root) as port, proxy(tmp_path, f"127.0.0.1:{port}", fmt="text") as p:
        for conn in range(SIDE_CLOSED_ATTEMPTS):
            # -w/-W 30: windows of 2^30-1, so nghttpd never waits for a WINDOW_UPDATE the frozen proxy holds
            client = subprocess.Popen(["nghttp", "-n", "-w", "30", "-W", "30", f"{p.url}/big"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                # Past nghttpd's first 64 KiB: nghttp's connection WINDOW_UPDATE has reached it (the decoded
                # output may lag far behind the relay, so the socket's counts say it).
                _until(lambda: _bytes_received(p.port) > 1 << 20, "the download to be under way")
                while True:  # frozen together with bytes nghttp has not read yet: its close is then a reset
                    os.kill(p.proc.pid, signal.SIGSTOP)
                    os.kill(client.pid, signal.SIGSTOP)
                    if _receive_queue(p.port, "dport"):
                        break
                    os.kill(client.pid, signal.SIGCONT)
                    os.kill(p.proc.pid, signal.SIGCONT)
            finally:
                client.kill()
                client.wait(10)
            # A few reads' worth waiting for the proxy; a proxy that had stopped reading the upstream may
            # never get that much in its socket (and has nothing to drop): then the next connection.
            _until(lambda: _receive_queue(port, "dport") >= 512 << 10, "nghttpd's bytes", 10, give_up=True)
            os.kill(p.proc.pid, signal.SIGCONT)
            p.wait_for(lambda r, c=conn: f"conn {c}: warning proxy.client-reset" in r.stderr())
            if _lines(p, "proxy.side-closed"):
                break
    [line] = _lines(p, "proxy.side-closed")
    assert f"proxy: conn {conn}: warning proxy.side-closed: the client's side is already closed: bytes still " \
           "arriving from the other side are dropped, and that side closed too (RFC 9293 §3.6)" in line
    assert stopped_cleanly(p)


def test_the_tui_over_a_live_proxy_shows_an_upstream_that_refuses_as_it_happens():
    """`h2inspect proxy` without --headless: the problems view is open when a client comes; the
    refusal joins it live, grouped under its rule, and the status line counts it."""
    dead = free_port()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        source = LiveSource(PcapngRecorder(None), name=f"proxy → 127.0.0.1:{dead}")
        relay = Relay(RelaySettings(Endpoint("127.0.0.1", 0), Endpoint("127.0.0.1", dead)), source)
        pacer = DecodePacer(loop, source)
        app = App(source.session)
        async with app.run_test(size=(120, 40)) as pilot:
            [bound] = await relay.start()
            await pilot.press("p")
            while not isinstance(app.screen, ProblemsScreen):
                await pilot.pause(0.05)
            assert not any("upstream refused" in line for line in screen_text(app))
            for _ in range(2):  # two clients: two findings in one group
                reader, writer = await asyncio.open_connection(bound.host, bound.port)
                writer.write(PREFACE)
                try:
                    await asyncio.wait_for(reader.read(), 10)
                except ConnectionResetError:
                    pass
                writer.close()
            screen: list[str] = []
            for _ in range(100):
                screen = screen_text(app)
                # Both findings' rows (the box below the list explains the one under the cursor too).
                if sum(line.startswith("    ✖") and f"upstream 127.0.0.1:{dead} refused the connection" in line
                       for line in screen) == 2:
                    break
                await pilot.pause(0.05)
            [group] = [line for line in screen if "proxy.upstream-refused" in line and "×" in line]
            assert "ERROR" in group and "×2" in group and "upstream refused the connection" in group
            rows = [line.strip() for line in screen if line.startswith("    ✖")]
            assert [row.split(":")[0] for row in rows] == ["✖ conn 0", "✖ conn 1"]
            assert all(f"upstream 127.0.0.1:{dead} refused the connection" in row for row in rows)
            assert any("RFC 9293 §3.5.2" in line for line in screen)  # the rule's reference, on the row and below
            await pilot.press("escape")
            while isinstance(app.screen, ProblemsScreen):
                await pilot.pause(0.05)
            status = ""
            for _ in range(40):
                status = str(app.query_one("#status").render())
                if "2 errors" in status:
                    break
                await pilot.pause(0.05)
            assert "2 errors (p)" in status, status
        await relay.stop()
        pacer.cancel()

    asyncio.run(scenario())


@pytest.mark.peers
@pytest.mark.usefixtures("peers")
def test_the_real_proxy_command_in_a_terminal_shows_the_refusal_live(tmp_path):
    """`h2inspect proxy` without --headless, in tmux: the problems view is open when curl comes; the
    refusal appears in it, and after Esc the status line counts it."""
    import shlex
    import sys

    from conftest import ROOT
    from tmuxkit import exit_status, keys, terminal, wait_for

    dead, listen = free_port(), free_port()
    command = (f"H2INSPECT_HOME={shlex.quote(str(tmp_path / 'h2home'))} PYTHONPATH={shlex.quote(str(ROOT))} "
               f"{shlex.quote(sys.executable)} -m inspector proxy --listen 127.0.0.1:{listen} "
               f"--upstream 127.0.0.1:{dead}")
    done = tmp_path / "exit-status"
    with terminal(command, done, cwd=ROOT, size=(120, 40)) as name:
        wait_for(name, "no findings")
        keys(name, "p")
        wait_for(name, "problems: the session's findings")
        got = run(["curl", "-sS", "--http2-prior-knowledge", f"http://127.0.0.1:{listen}/"])
        assert got.returncode != 0
        shown = wait_for(name, "upstream refused the connection")
        assert "proxy.upstream-refused" in shown and "×1" in shown
        assert f"conn 0: upstream 127.0.0.1:{dead} refused the connection" in shown
        keys(name, "Escape")
        shown = wait_for(name, "1 error (p)")
        keys(name, "q")
        assert exit_status(done) == "0"
