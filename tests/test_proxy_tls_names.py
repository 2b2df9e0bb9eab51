"""`--tls` and the names clients send (SNI): long names, names that are not host names,
non-ASCII bytes, a new name per connection; and the key log and recording kept private."""

from __future__ import annotations

import os
import socket
import ssl
import stat
from pathlib import Path

import pytest
from proxykit import ThreadServer, proxy, rss, run, stopped_cleanly

from inspector.proxy.tls import CONTEXTS_IN_MEMORY, LEAVES_ON_DISK

pytestmark = [pytest.mark.timeout(240), pytest.mark.usefixtures("peers")]

MIB = 1 << 20


def _echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def _ca(tmp_path: Path) -> str:
    return str(tmp_path / "h2home" / "ca" / "ca.pem")


def _handshake(port: int, name: str, cafile: str) -> str | None:
    """A TLS handshake through the proxy naming `name`, the certificate checked against it
    (and one echoed byte): None when it worked, else the error."""
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection(("127.0.0.1", port), 10) as raw, \
                ctx.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(b"x")
            assert tls.recv(1) == b"x"
        return None
    except (ssl.SSLError, ssl.CertificateError, ConnectionError) as exc:
        return str(exc)


def _name(length: int) -> str:
    """A valid host name of exactly `length` characters (labels of at most 63)."""
    labels, left = [], length
    while left > 0:
        take = min(63, left)
        if left - take == 1:  # never leave a lone dot to place
            take -= 2
        labels.append("a" * take)
        left -= take + 1
    name = ".".join(labels)
    assert len(name) == length, (length, len(name))
    return name


def _raw_hello_with_name(name_bytes: bytes) -> bytes:
    """A real ClientHello whose server name is replaced, byte for byte, by `name_bytes`
    (Python's ssl only sends ASCII names; a hostile client sends anything)."""
    placeholder = "q" * len(name_bytes)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=placeholder)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert hello.count(placeholder.encode()) == 1
    return hello.replace(placeholder.encode(), name_bytes)


def _refused_raw(port: int, hello: bytes) -> bytes:
    """Send a ClientHello; what comes back before the proxy closes (an alert, if anything)."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.settimeout(10)
        sock.sendall(hello)
        try:
            while chunk := sock.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass
    return got


def test_long_odd_and_non_ascii_server_names_are_one_line_each_and_others_still_work(tmp_path):
    with ThreadServer(_echo) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls") as p:
        ca = _ca(tmp_path)
        for length in (64, 65, 100, 200, 253):  # over the 64 a common name may hold: SAN only
            assert _handshake(p.port, _name(length), ca) is None, length
        assert _handshake(p.port, "Mixed.Case.Example", ca) is None
        for length in (254, 255):  # longer than a host name can be
            assert _handshake(p.port, _name(length), ca) is not None
        not_ascii = _refused_raw(p.port, _raw_hello_with_name("bücher.example".encode()))
        assert not_ascii[:1] in (b"", b"\x15")  # nothing, or a TLS alert record
        bad_label = _refused_raw(p.port, _raw_hello_with_name(b"under-.example"))
        assert bad_label[:1] in (b"", b"\x15")
        assert _handshake(p.port, "localhost", ca) is None  # and everyone else is served as before
        p.wait_for(lambda r: r.stderr().count("TLS handshake refused") >= 4)
        err = p.stderr()
    refusals = [line for line in err.splitlines() if "TLS handshake refused" in line]
    assert len(refusals) == 4, err
    assert all(": warning proxy.bad-sni: " in line for line in refusals)  # and nothing else about them
    assert "proxy.client-tls-failed" not in err
    assert sum("longer than a host name" in line for line in refusals) == 2
    assert sum("is not ASCII" in line and "b'b\\xc3\\xbccher.example'" in line for line in refusals) == 1
    assert sum("is not a host name" in line for line in refusals) == 1
    assert "Traceback" not in err and "Exception ignored" not in err and "UnicodeDecodeError" not in err
    assert stopped_cleanly(p)


def test_a_thousand_server_names_keep_leaf_files_and_memory_bounded(tmp_path):
    leaves = tmp_path / "h2home" / "ca" / "leaves"
    with ThreadServer(_echo) as upstream, proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls") as p:
        ca = _ca(tmp_path)
        warm = 300
        assert warm > CONTEXTS_IN_MEMORY  # past what the cache holds
        for i in range(warm):
            assert _handshake(p.port, f"host-{i}.example.test", ca) is None
        after_warm_up = rss(p.proc.pid)
        for i in range(warm, 1000):
            assert _handshake(p.port, f"host-{i}.example.test", ca) is None
        after_all = rss(p.proc.pid)
        # The newest names are still served from the cache, an evicted one is made again.
        assert _handshake(p.port, "host-999.example.test", ca) is None
        assert _handshake(p.port, "host-0.example.test", ca) is None
    certs = [f for f in leaves.iterdir() if not f.name.endswith("-key.pem")]
    keys = [f for f in leaves.iterdir() if f.name.endswith("-key.pem")]
    print(f"1000 names: {len(certs)} certificates on disk, RSS {after_warm_up / MIB:.1f} MiB after "
          f"{warm} names, {after_all / MIB:.1f} MiB after 1000")
    assert len(certs) <= LEAVES_ON_DISK + 1 and len(keys) == len(certs)
    assert after_all - after_warm_up < 8 * MIB
    assert stopped_cleanly(p)


def test_key_log_and_recording_are_created_private_even_under_umask_000(tmp_path):
    keylog, record = tmp_path / "keys.log", tmp_path / "traffic.pcapng"
    folder_mode = stat.S_IMODE(tmp_path.stat().st_mode)
    old = os.umask(0)
    try:
        with ThreadServer(_echo) as upstream, \
                proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls", "--keylog", str(keylog),
                      "--record", str(record)) as p:
            assert _handshake(p.port, "localhost", _ca(tmp_path)) is None
            p.wait_for(lambda r: keylog.stat().st_size > 0)
    finally:
        os.umask(old)
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == folder_mode  # the folder is left as it was
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text()
    assert run(["tshark", "-n", "-r", str(record)]).returncode == 0


def test_an_existing_key_log_readable_by_others_is_narrowed_and_appended_to(tmp_path):
    keylog = tmp_path / "keys.log"
    keylog.write_text("# kept\n")
    keylog.chmod(0o644)
    with ThreadServer(_echo) as upstream, \
            proxy(tmp_path, f"127.0.0.1:{upstream.port}", "--tls", "--keylog", str(keylog)) as p:
        assert _handshake(p.port, "localhost", _ca(tmp_path)) is None
        p.wait_for(lambda r: "SECRET" in keylog.read_text())
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600
    assert keylog.read_text().startswith("# kept\n")
