"""Benchmark: h2load against nghttpd directly and through `h2inspect proxy`, h2c and TLS.

    python bench/bench_proxy.py [--rounds 7] [--requests 20000] [--size 4096]

For each mode (h2c; TLS on both legs) it runs `h2load -n N -c 4 -m 10`
alternately against nghttpd and through the proxy (headless, JSONL to a
file: decoding on), several rounds, and prints the median requests per
second, the share the proxy keeps, and the median p50 request latency of
each (from h2load's per-request log). It also checks the proxy decoded
every response (one HEADERS frame from the server per request), says how
long after h2load finished the decoder had caught up and whether decoding
paused (then the figures do not count), and prints the proxy's CPU time per
run: with h2load, nghttpd and the proxy sharing the cores, that is what
throughput follows, and it is steadier than requests per second.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.proxy.tls import LocalCA  # noqa: E402


def plain_relay(listen: int, upstream: int, mode: str, ca_file: str) -> None:
    """The reference: a plain asyncio byte relay (Protocols, TLS terminated the same way, no
    recording, no decoding, on the proxy's event loop: uvloop unless H2INSPECT_LOOP=asyncio),
    to show what any Python relay costs on this machine."""
    import asyncio

    from inspector.proxy.tls import ClientFacingTls, UpstreamTls

    class Leg(asyncio.Protocol):
        def __init__(self) -> None:
            self.peer: Leg | None = None
            self.transport: asyncio.Transport | None = None
            self.pending: list[bytes] = []

        def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
            self.transport = transport
            if self.peer is None:  # the client leg (after its TLS handshake): connect upstream now
                task = asyncio.get_running_loop().create_task(connect(self))
                tasks.add(task)  # a task nobody holds may be collected before it runs
                task.add_done_callback(tasks.discard)

        def data_received(self, data: bytes) -> None:
            if self.peer is not None and self.peer.transport is not None:
                if not self.peer.transport.is_closing():
                    self.peer.transport.write(data)
            else:
                self.pending.append(data)

        def connection_lost(self, exc) -> None:  # type: ignore[no-untyped-def]
            if self.peer is not None and self.peer.transport is not None:
                self.peer.transport.close()

    tasks: set[asyncio.Task] = set()
    client_ctx = UpstreamTls(ca_file, False, None).context_for(("h2",)) if mode == "tls" else None

    async def connect(down: Leg) -> None:
        up = Leg()
        up.peer = down
        await asyncio.get_running_loop().create_connection(
            lambda: up, "127.0.0.1", upstream, ssl=client_ctx,
            server_hostname="127.0.0.1" if client_ctx else None)
        down.peer = up
        for data in down.pending:
            up.transport.write(data)  # type: ignore[union-attr]
        down.pending.clear()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server_ctx = ClientFacingTls(LocalCA().ensure(), ["127.0.0.1", "localhost"], None).context \
            if mode != "h2c" else None

        server = await loop.create_server(Leg, "127.0.0.1", listen, ssl=server_ctx)
        print(f"listening on 127.0.0.1:{listen}", file=sys.stderr, flush=True)
        await server.serve_forever()

    if reference_loop() == "uvloop":  # the same event loop the proxy runs on
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main())


def reference_loop() -> str:
    """The event loop the reference relay (and the proxy) run on."""
    if os.environ.get("H2INSPECT_LOOP", "").lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_proxy(args: list[str], out: Path, err: Path, env: dict) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "proxy", "--listen", "127.0.0.1:0",
                             *args, "--headless", "--format", "jsonl"],
                            stdout=out.open("w"), stderr=err.open("w"), env=env, cwd=ROOT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", err.read_text())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"proxy exited: {err.read_text()}")
        time.sleep(0.05)
    raise RuntimeError("proxy did not start")


def h2load(url: str, requests: int, log: Path) -> tuple[float, float]:
    """(requests per second, p50 latency in ms) of one h2load run."""
    log.unlink(missing_ok=True)  # h2load appends to its log: the p50 must be this run's alone
    out = subprocess.run(["h2load", "-n", str(requests), "-c", "4", "-m", "10", f"--log-file={log}", url],
                         capture_output=True, text=True, timeout=300).stdout
    m = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    if not m or not done or int(done.group(2)) != requests:
        raise RuntimeError(f"h2load failed:\n{out}")
    durations = [int(line.split("\t")[2]) for line in log.read_text().splitlines() if line.strip()]
    return float(m.group(1)), statistics.median(durations) / 1000


def cpu_seconds(pid: int) -> float:
    """CPU time (user plus system) of another process so far: its CPU-time clock where Linux
    has one (nanoseconds), else /proc's ticks, else 0.0."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)  # Linux: CPUCLOCK_SCHED of process `pid`
    except (OSError, OverflowError, AttributeError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ResponseCounter:
    """Counts response header blocks in the proxy's JSONL output as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0
        self.rest = b""
        self.count = 0

    def update(self) -> int:
        with self.path.open("rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.count += data[:cut].count(b'"role":"response"')
        self.rest = data[cut:]
        return self.count

    def wait_for(self, expected: int, timeout: float = 120.0) -> float:
        """Seconds until `expected` responses were decoded."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.update() >= expected:
                return time.monotonic() - start
            time.sleep(0.005)
        raise RuntimeError(f"decoder did not catch up: {self.count} of {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--size", type=int, default=4096, help="response body size in bytes")
    parser.add_argument("--modes", default="h2c,tls,tls-edge",
                        help="h2c; tls (TLS on both legs); tls-edge (TLS from the client, h2c upstream)")
    parser.add_argument("--reference", action="store_true",
                        help="also measure a plain byte relay on the same event loop (no recording, no decoding)")
    parser.add_argument("--serve-plain-relay", nargs=4, metavar=("LISTEN", "UPSTREAM", "TLS", "CA"),
                        help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_plain_relay:
        listen, upstream, mode, ca_file = opts.serve_plain_relay
        plain_relay(int(listen), int(upstream), mode, ca_file)
        return 0
    for tool in ("h2load", "nghttpd"):
        if not shutil.which(tool):
            print(f"{tool} is not installed", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    env = dict(os.environ, H2INSPECT_HOME=str(work / "home"))
    os.environ["H2INSPECT_HOME"] = env["H2INSPECT_HOME"]
    www = work / "www"
    www.mkdir()
    (www / "body").write_bytes(os.urandom(opts.size))
    ca = LocalCA().ensure()
    leaf = ca.leaf(["localhost", "127.0.0.1"])
    procs: list[subprocess.Popen] = []
    try:
        h2c_port, tls_port = free_port(), free_port()
        procs.append(subprocess.Popen(["nghttpd", "--no-tls", "-d", str(www), str(h2c_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(["nghttpd", "-d", str(www), str(tls_port), str(leaf.key),
                                       str(leaf.cert)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(h2c_port)
        wait_port(tls_port)
        print(f"h2load -n {opts.requests} -c 4 -m 10, body {opts.size} bytes, {opts.rounds} rounds, "
              f"{os.cpu_count()} cores; median of rounds")
        for mode in opts.modes.split(","):
            if mode == "h2c":
                direct = f"http://127.0.0.1:{h2c_port}/body"
                proxy_args = ["--upstream", f"127.0.0.1:{h2c_port}"]
                scheme = "http"
            elif mode == "tls":  # TLS on both legs: the proxy decrypts and encrypts twice
                direct = f"https://127.0.0.1:{tls_port}/body"
                proxy_args = ["--upstream", f"127.0.0.1:{tls_port}", "--tls", "--upstream-tls",
                              "--upstream-ca", str(ca.cert_path)]
                scheme = "https"
            else:  # "tls-edge": TLS from the client, h2c to the server (a TLS-terminating proxy)
                direct = f"https://127.0.0.1:{tls_port}/body"
                proxy_args = ["--upstream", f"127.0.0.1:{h2c_port}", "--tls"]
                scheme = "https"
            out, err = work / f"{mode}.jsonl", work / f"{mode}.err"
            proxy, port = start_proxy(proxy_args, out, err, env)
            procs.append(proxy)
            via = f"{scheme}://127.0.0.1:{port}/body"
            plain_url = None
            if opts.reference:
                plain_port = free_port()
                plain = subprocess.Popen([sys.executable, __file__, "--serve-plain-relay", str(plain_port),
                                          str(tls_port if mode == "tls" else h2c_port), mode,
                                          str(ca.cert_path)], env=env, stderr=(work / "plain.err").open("w"))
                procs.append(plain)
                wait_port(plain_port)
                plain_url = f"{scheme}://127.0.0.1:{plain_port}/body"
                h2load(plain_url, 2000, work / "warm.log")
            h2load(direct, 2000, work / "warm.log")
            h2load(via, 2000, work / "warm.log")
            counter = ResponseCounter(out)
            counter.wait_for(2000)
            rows: dict[str, list[tuple[float, float]]] = {"direct": [], "proxy": [], "plain": []}
            lags, cpus, plain_cpus = [], [], []
            for _ in range(opts.rounds):
                rows["direct"].append(h2load(direct, opts.requests, work / "d.log"))
                if plain_url:
                    try:
                        plain_before = cpu_seconds(plain.pid)
                        rows["plain"].append(h2load(plain_url, opts.requests, work / "r.log"))
                        plain_cpus.append(cpu_seconds(plain.pid) - plain_before)
                    except RuntimeError:
                        print("      (a plain-relay round failed; its stderr:)",
                              (work / "plain.err").read_text()[-1500:])
                before = counter.update()
                cpu_before = cpu_seconds(proxy.pid)
                rows["proxy"].append(h2load(via, opts.requests, work / "p.log"))
                cpus.append(cpu_seconds(proxy.pid) - cpu_before)
                lags.append(counter.wait_for(before + opts.requests))
            d_rps = statistics.median(x[0] for x in rows["direct"])
            p_rps = statistics.median(x[0] for x in rows["proxy"])
            d_p50 = statistics.median(x[1] for x in rows["direct"])
            p_p50 = statistics.median(x[1] for x in rows["proxy"])
            print(f"{mode:8} direct {d_rps:9.0f} req/s  p50 {d_p50:6.2f} ms | proxy (decoding) "
                  f"{p_rps:9.0f} req/s  p50 {p_p50:6.2f} ms | kept {100 * p_rps / d_rps:5.1f}% | "
                  f"decoder caught up {statistics.median(lags) * 1000:.0f} ms after h2load ended")
            ratios = [p[0] / d[0] for d, p in zip(rows["direct"], rows["proxy"], strict=True)]
            print(f"      kept, round by round (proxy / the direct run just before it): median "
                  f"{100 * statistics.median(ratios):.1f}%  ({', '.join(f'{100 * r:.0f}%' for r in ratios)})")
            print(f"      proxy CPU while h2load ran: {statistics.median(cpus) * 1000:.0f} ms per "
                  f"{opts.requests} requests (user + system, median)")
            if "decoding of this connection paused" in err.read_text():
                print("      decoding paused during this mode (backlog bound reached): its figures do not count")
            if (work / "plain.err").exists() and "Error" in (work / "plain.err").read_text():
                print((work / "plain.err").read_text()[-3000:])
            if rows["plain"]:
                r_rps = statistics.median(x[0] for x in rows["plain"])
                r_p50 = statistics.median(x[1] for x in rows["plain"])
                print(f"      plain relay (reference, {reference_loop()}, no decoding) {r_rps:9.0f} req/s  p50 "
                      f"{r_p50:6.2f} ms | kept {100 * r_rps / d_rps:5.1f}% | its CPU "
                      f"{statistics.median(plain_cpus) * 1000:.0f} ms per {opts.requests} requests")
            print(f"      rounds direct: {', '.join(f'{x[0]:.0f}' for x in rows['direct'])}")
            print(f"      rounds proxy:  {', '.join(f'{x[0]:.0f}' for x in rows['proxy'])}")
            sys.stdout.flush()
            proxy.send_signal(signal.SIGINT)
            proxy.wait(30)
            for p in procs[2:]:
                if p.poll() is None:
                    p.terminate()
                    p.wait(10)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
