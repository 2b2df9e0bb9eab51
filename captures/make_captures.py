#!/usr/bin/env python3
"""Make the sample captures in captures/ from real peers on loopback.

Rerun with `python captures/make_captures.py` (as root: it captures on lo with
tcpdump). Each capture gets its tshark reading beside it
(NAME.tshark.tsv) and an entry in manifest.json saying what it shows, how
tshark must be told to read it, and (for gRPC) what the client saw.

Needs: tcpdump, tshark and editcap, nghttpd, nghttp, h2load, curl, and this
package installed (the gRPC captures use its demo service).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TSHARK_FIELDS = ["-e", "frame.number", "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.flags",
                 "-e", "http2.length", "-E", "occurrence=a", "-E", "separator=/t"]


def keylog_args(entry: dict) -> list[str]:
    """tshark's option for the key log an entry names (kept beside the capture)."""
    return ["-o", f"tls.keylog_file:{HERE / entry['keylog']}"] if entry.get("keylog") else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def capture(path: Path, port: int, *, interface: str = "lo", linktype: str | None = None,
            pcapng: bool = False, bulk: bool = False):
    """Capture `tcp port PORT` on an interface while the body runs; fail if the kernel dropped any.

    `bulk`: for heavy traffic, a large buffer instead of immediate mode (which
    wakes tcpdump for every packet and loses some at h2load's rates).
    """
    path.unlink(missing_ok=True)
    raw = path.with_suffix(".tmp.pcap") if pcapng else path
    # --immediate-mode: without it libpcap holds packets in its ring until a
    # block times out, and a capture stopped soon after the traffic is empty.
    mode = ["-B", "262144"] if bulk else ["--immediate-mode"]
    cmd = ["tcpdump", "-i", interface, *mode, "-U", "-n", "-s", "0", "-w", str(raw), f"tcp port {port}"]
    if linktype:
        cmd[1:1] = ["-y", linktype]
    ready = "listening on"
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []

    def watch() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            seen.append(line)

    threading.Thread(target=watch, daemon=True).start()
    deadline = time.time() + 10
    while not any(ready in line for line in seen):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"{cmd[0]} did not start: {''.join(seen)}")
        time.sleep(0.05)
    time.sleep(0.2)
    try:
        yield
    finally:
        time.sleep(2.5 if bulk else 0.5)  # in bulk mode libpcap hands packets over once a second
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    time.sleep(0.1)
    dropped = [line for line in seen if "dropped by kernel" in line]
    if not dropped or not dropped[0].startswith("0 "):
        raise RuntimeError(f"tcpdump lost packets: {''.join(seen)}")
    if pcapng:  # tcpdump writes pcap only; editcap (from Wireshark) rewrites it as pcapng
        subprocess.run(["editcap", "-F", "pcapng", str(raw), str(path)], check=True)
        raw.unlink()
    os.chmod(path, 0o644)


@contextlib.contextmanager
def nghttpd(docroot: Path, port: int, *extra: str, address: str = "127.0.0.1", tls: tuple[Path, Path] | None = None):
    mode = [str(tls[1]), str(tls[0])] if tls else []  # nghttpd takes KEY CERT after the port
    proc = subprocess.Popen(["nghttpd", *([] if tls else ["--no-tls"]), "-a", address, "-d", str(docroot), *extra,
                             str(port), *mode],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(address, port)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_port(host: str, port: int) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout


def tshark_reading(path: Path, args: list[str]) -> list[str]:
    out = subprocess.run(["tshark", "-n", "-r", str(path), *args, "-T", "fields", *TSHARK_FIELDS],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split("\t")[2:3] != [""]]


# ---- an h2c Upgrade server: nghttpd does not do the HTTP/1.1 Upgrade --------------

def upgrade_server(port: int, stop: threading.Event) -> None:
    """Answer one `Upgrade: h2c` request per connection with h2 (the library), as RFC 7540 §3.2 says."""
    import h2.config
    import h2.connection
    import h2.events

    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        with sock:
            head = b""
            while b"\r\n\r\n" not in head:
                more = sock.recv(65536)
                if not more:  # a readiness probe: connected and left
                    break
                head += more
            if b"\r\n\r\n" not in head:
                continue
            settings = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                        if line.lower().startswith(b"http2-settings:")][0]
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
            conn.initiate_upgrade_connection(settings)
            body = b"upgraded to h2c\n"
            conn.send_headers(1, [(":status", "200"), ("content-type", "text/plain"),
                                  ("content-length", str(len(body)))])
            conn.send_data(1, body, end_stream=True)
            sock.sendall(conn.data_to_send())
            done = False
            while not done:
                try:
                    data = sock.recv(65536)
                    if not data:
                        break
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.ConnectionTerminated):
                            done = True
                    sock.sendall(conn.data_to_send())
                except (ConnectionResetError, BrokenPipeError):  # curl resets once it has its answer
                    break
    listener.close()


# ---- the captures -----------------------------------------------------------------

def make_http_captures(docroot: Path, entries: list[dict]) -> None:
    (docroot / "index.html").write_text("<html><link rel=stylesheet href=/style.css>hello h2</html>\n")
    (docroot / "style.css").write_text("body { font-family: sans-serif }\n")
    (docroot / "app.js").write_text("console.log('pushed');\n")
    (docroot / "data.bin").write_bytes(bytes(range(256)) * 160)  # 40 KiB: several DATA frames

    port = free_port()
    path = HERE / "curl-h2c-prior-knowledge.pcap"
    with nghttpd(docroot, port), capture(path, port):
        run("curl", "-s", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/index.html", "-o", "/dev/null")
        run("curl", "-s", "--http2-prior-knowledge", "--data-binary", "name=h2inspect&lang=python",
            f"http://127.0.0.1:{port}/index.html", "-o", "/dev/null")
        run("curl", "-s", "--http2-prior-knowledge", f"http://127.0.0.1:{port}/data.bin", "-o", "/dev/null")
    entries.append(dict(file=path.name, description="curl with prior knowledge against nghttpd: a GET, a POST "
                        "with a body, and a 40 KiB download (several DATA frames), one connection each",
                        link="Ethernet (lo)", port=port, tshark_args=["-d", f"tcp.port=={port},http2"]))

    port = free_port()
    path = HERE / "nghttp-server-push.pcap"
    with nghttpd(docroot, port, "-p", "/index.html=/style.css,/app.js"), capture(path, port):
        run("nghttp", "-n", f"http://127.0.0.1:{port}/index.html")
    entries.append(dict(file=path.name, description="nghttp against nghttpd with server push: PUSH_PROMISE for "
                        "/style.css and /app.js on stream 1, pushed responses on streams 2 and 4",
                        link="Ethernet (lo)", port=port, tshark_args=["-d", f"tcp.port=={port},http2"]))

    # 8080 is one of tshark's HTTP ports, so tshark follows the Upgrade by itself.
    port = 8080 if _port_free(8080) else free_port()
    path = HERE / "curl-h2c-upgrade.pcap"
    stop = threading.Event()
    server = threading.Thread(target=upgrade_server, args=(port, stop), daemon=True)
    server.start()
    _wait_port("127.0.0.1", port)
    with capture(path, port):
        run("curl", "-s", "--http2", f"http://127.0.0.1:{port}/upgrade", "-o", "/dev/null")
    stop.set()
    server.join(timeout=5)
    entries.append(dict(file=path.name, description="curl --http2 (HTTP/1.1 Upgrade: h2c) against an h2 "
                        "server: the upgraded request becomes stream 1", link="Ethernet (lo)", port=port,
                        tshark_args=[] if port == 8080 else ["-d", f"tcp.port=={port},http"]))

    port = free_port()
    path = HERE / "h2load-three-connections.pcap"
    with nghttpd(docroot, port), capture(path, port):
        run("h2load", "-n", "30", "-c", "3", "-m", "2", f"http://127.0.0.1:{port}/style.css")
    entries.append(dict(file=path.name, description="h2load: 30 requests over 3 concurrent connections, "
                        "2 streams at a time on each", link="Ethernet (lo)", port=port,
                        tshark_args=["-d", f"tcp.port=={port},http2"]))

    port = free_port()
    path = HERE / "curl-ipv6.pcapng"
    with nghttpd(docroot, port, address="::1"), capture(path, port, pcapng=True):
        run("curl", "-s", "-g", "--http2-prior-knowledge", f"http://[::1]:{port}/index.html", "-o", "/dev/null")
    entries.append(dict(file=path.name, description="curl over IPv6 loopback, written as pcapng",
                        link="Ethernet (lo), pcapng", port=port, tshark_args=["-d", f"tcp.port=={port},http2"]))

    port = free_port()
    path = HERE / "nghttp-any-sll2.pcap"
    with nghttpd(docroot, port), capture(path, port, interface="any", linktype="LINUX_SLL2"):
        run("nghttp", "-n", f"http://127.0.0.1:{port}/index.html", f"http://127.0.0.1:{port}/style.css",
            f"http://127.0.0.1:{port}/data.bin")
    entries.append(dict(file=path.name, description="nghttp fetching three resources on one connection, "
                        "captured on 'any' (Linux cooked v2)", link="Linux cooked v2", port=port,
                        tshark_args=["-d", f"tcp.port=={port},http2"]))


def make_tls_captures(docroot: Path, entries: list[dict]) -> None:
    """curl against nghttpd over TLS, with the secrets curl logged (SSLKEYLOGFILE) kept beside."""
    from inspector.proxy.tls import LocalCA

    (docroot / "index.html").write_text("<html>hello over TLS</html>\n")
    (docroot / "data.bin").write_bytes(bytes(range(256)) * 160)
    leaf = LocalCA(docroot / "ca").ensure().leaf(["localhost", "127.0.0.1"])
    ca = docroot / "ca" / "ca.pem"
    keys = HERE / "curl-tls.keys"
    keys.unlink(missing_ok=True)
    env = dict(os.environ, SSLKEYLOGFILE=str(keys))
    port = free_port()
    path = HERE / "curl-tls-keylog.pcap"
    url = f"https://127.0.0.1:{port}"
    with nghttpd(docroot, port, tls=(leaf.cert, leaf.key)), capture(path, port):
        for options in ([], ["--tls-max", "1.2"], ["--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305"],
                        ["--tls13-ciphers", "TLS_AES_128_GCM_SHA256"],
                        ["--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"]):
            subprocess.run(["curl", "-s", "--http2", "--cacert", str(ca), *options, f"{url}/index.html",
                            f"{url}/data.bin", "-o", "/dev/null", "-o", "/dev/null"],
                           check=True, env=env, timeout=60)
    entries.append(dict(file=path.name, description="curl over TLS against nghttpd, five connections: TLS 1.3 "
                        "(AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305) and TLS 1.2 (AES-128-GCM, ChaCha20), each a "
                        "GET and a 40 KiB download; curl's secrets are in curl-tls.keys (SSLKEYLOGFILE)",
                        link="Ethernet (lo)", port=port, keylog=keys.name, tshark_args=[]))


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def make_grpc_captures(entries: list[dict]) -> None:
    """The demo service's calls, grpcio on both ends (see inspector/demo)."""
    from inspector.demo import scenarios

    for scenario in scenarios.SCENARIOS:
        port = free_port()
        path = HERE / f"{scenario.name}.pcap"
        server, bound = scenarios.start_server(port)
        try:
            with capture(path, bound):
                calls = scenario.run(f"127.0.0.1:{bound}")
        finally:
            server.stop(None)
        entries.append(dict(file=path.name, description=scenario.description, link="Ethernet (lo)",
                            port=bound, tshark_args=["-d", f"tcp.port=={bound},http2"],
                            grpc_calls=[c.as_dict() for c in calls]))


def make_reflection_captures(entries: list[dict]) -> None:
    """A client that learns the demo service by server reflection, as grpcurl does, then calls it
    on the same connection (inspector/demo/reflection_client.py; needs grpcio-reflection)."""
    from inspector.demo import server as demo
    from inspector.demo.reflection_client import calls_by_reflection

    port = free_port()
    path = HERE / "grpc-reflection.pcap"
    server, bound = demo.serve("127.0.0.1", port, reflection=("v1alpha",))
    try:
        with capture(path, bound):
            calls = calls_by_reflection(f"127.0.0.1:{bound}")
    finally:
        server.stop(None)
    # Not grpc_calls: the reflection calls are not in demo.proto, which the tests of those give.
    entries.append(dict(file=path.name, description="a client that knows only the service's name asks by server "
                        "reflection (grpc.reflection.v1alpha, grpcio-reflection's ProtoReflectionDescriptorDatabase, "
                        "as grpcurl does), then makes a unary and a server-streaming call on the same connection "
                        "with message classes built from the files it was sent", link="Ethernet (lo)",
                        port=bound, tshark_args=["-d", f"tcp.port=={bound},http2"],
                        reflection_calls=[c.as_dict() for c in calls]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=("http", "grpc", "tls", "reflection"), help="make one group only")
    args = parser.parse_args()
    for tool in ("tcpdump", "editcap", "tshark", "nghttpd", "nghttp", "h2load", "curl"):
        if shutil.which(tool) is None:
            print(f"make_captures: {tool} is not installed", file=sys.stderr)
            return 2
    manifest_path = HERE / "manifest.json"
    old = json.loads(manifest_path.read_text())["captures"] if manifest_path.exists() else []
    entries: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "http"):
            make_http_captures(Path(tmp), entries)
        if args.only in (None, "grpc"):
            make_grpc_captures(entries)
        if args.only in (None, "tls"):
            make_tls_captures(Path(tmp), entries)
        if args.only in (None, "reflection"):
            make_reflection_captures(entries)
    made = {e["file"] for e in entries}
    entries = [e for e in old if e["file"] not in made] + entries
    for entry in entries:
        path = HERE / entry["file"]
        reading = tshark_reading(path, entry["tshark_args"] + keylog_args(entry))
        if not reading:
            raise RuntimeError(f"tshark finds no HTTP/2 in {path.name}")
        (HERE / (path.stem + ".tshark.tsv")).write_text("\n".join(reading) + "\n")
        entry["frames"] = sum(len(line.split("\t")[2].split(",")) for line in reading)
        print(f"{path.name}: {path.stat().st_size} bytes, {entry['frames']} HTTP/2 frames")
    entries.sort(key=lambda e: e["file"])
    manifest_path.write_text(json.dumps({"captures": entries}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
