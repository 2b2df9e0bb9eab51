"""Benchmark: h2load against nghttpd directly and through `h2inspect proxy`, h2c and TLS.

    python bench/bench_proxy.py [--rounds 7] [--requests 20000] [--size 4096] [--modes ...]

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

Mode `forward` is forward mode (CONNECT, TLS intercepted: TLS on both legs).
h2load cannot CONNECT, so `bench/connect_load.py`, the project's own HTTP/2
load client, runs the same work (-c 4 -m 10) direct, through reverse mode
(`--tls --upstream-tls`) and through `--forward`, the three in every order in
turn, then through mitmproxy's regular mode (installed from PyPI into
bench/.venv-mitmproxy on first use), round after round; then curl downloads one
large body (64 MiB) each of those four ways. It prints each round's figures and
says whether forward mode kept at least as much of direct as reverse mode did
(from the rounds' paired ratios: met, equal within noise, or not met), and ran
at least 20x mitmproxy's requests per second.

`--others nghttpx,haproxy` adds those proxies (one worker each, no decoding) to
modes h2c, tls and tls-edge, on the same h2load work, taking turns with ours.
"""

from __future__ import annotations

import argparse
import itertools
import json
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

MITM_VENV = ROOT / "bench" / ".venv-mitmproxy"
LOAD_CLIENT = ROOT / "bench" / "connect_load.py"


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


OTHERS = ("nghttpx", "haproxy")


def start_other(kind: str, mode: str, work: Path, h2c_port: int, tls_port: int, leaf_key: Path, leaf_cert: Path,
                ca_file: Path) -> tuple[subprocess.Popen, int]:
    """nghttpx or haproxy as a reverse proxy in front of nghttpd, one worker thread (the proxy has one
    event loop), TLS on the legs `mode` says; returns it and its port. Neither decodes or records:
    they show what a C proxy keeps on the same work."""
    port = free_port()
    tls_in, tls_up = mode in ("tls", "tls-edge"), mode == "tls"
    upstream = tls_port if tls_up else h2c_port
    if kind == "nghttpx":
        front = f"127.0.0.1,{port}" + ("" if tls_in else ";no-tls")
        back = f"127.0.0.1,{upstream};;proto=h2" + (";tls" if tls_up else "")
        cmd = ["nghttpx", "--conf=/dev/null", "--workers=1", f"-f{front}", f"-b{back}", "--no-ocsp",
               f"--errorlog-file={work / 'nghttpx.err'}", f"--cacert={ca_file}", "--backend-tls-sni-field=localhost"]
        if tls_in:
            cmd += [str(leaf_key), str(leaf_cert)]
    else:
        pem = work / "haproxy.pem"
        pem.write_bytes(leaf_cert.read_bytes() + leaf_key.read_bytes())
        bind = f"127.0.0.1:{port} " + (f"ssl crt {pem} alpn h2" if tls_in else "proto h2")
        server = f"127.0.0.1:{upstream} " + (f"ssl verify required ca-file {ca_file} alpn h2" if tls_up else "proto h2")
        cfg = work / f"haproxy-{mode}.cfg"
        cfg.write_text("global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 10s\n"
                       "  timeout client 60s\n  timeout server 60s\n"
                       f"frontend in\n  bind {bind}\n  default_backend up\nbackend up\n  server s {server}\n")
        cmd = ["haproxy", "-db", "-f", str(cfg)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(work / f"{kind}.stderr").open("w"))
    wait_port(port)
    return proc, port


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (nghttpx's worker is a child of its master)."""
    total = cpu_seconds(pid)
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return total
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(tree_cpu_seconds(int(child)) for child in children)
    return total


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


# ---- forward mode: the project's own CONNECT load client, curl, mitmproxy ----------------

def mitmdump() -> Path:
    """mitmproxy's mitmdump, in a virtual environment of its own (made here on first use)."""
    exe = MITM_VENV / "bin" / "mitmdump"
    if not exe.exists():
        print(f"installing mitmproxy into {MITM_VENV.relative_to(ROOT)} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MITM_VENV)], check=True)
        subprocess.run([str(MITM_VENV / "bin" / "pip"), "install", "-q", "mitmproxy"], check=True)
    return exe


def mitmproxy_version(exe: Path) -> str:
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout
    m = re.search(r"Mitmproxy: (\S+)", out)
    return m.group(1) if m else "?"


def start_mitmproxy(exe: Path, work: Path, upstream_ca: Path) -> tuple[subprocess.Popen, int, Path]:
    """mitmdump in regular (forward) mode, quiet, verifying the upstream with `upstream_ca`;
    returns it, its port and the CA file its clients must trust."""
    port, confdir = free_port(), work / "mitm"
    proc = subprocess.Popen([str(exe), "--listen-host", "127.0.0.1", "--listen-port", str(port), "-q",
                             "--set", f"confdir={confdir}", "--set", f"ssl_verify_upstream_trusted_ca={upstream_ca}"],
                            stdout=subprocess.DEVNULL, stderr=(work / "mitm.err").open("w"))
    wait_port(port, 60)
    return proc, port, confdir / "mitmproxy-ca-cert.pem"


def connect_load(url: str, requests: int, size: int, cacert: Path, proxy: str | None = None) -> float:
    """Requests per second of one bench/connect_load.py run (-c 4 -m 10)."""
    cmd = [sys.executable, str(LOAD_CLIENT), url, "-n", str(requests), "-c", "4", "-m", "10", "--size", str(size),
           "--cacert", str(cacert)] + (["--proxy", proxy] if proxy else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"connect_load failed: {out.stderr.strip()}")
    return float(json.loads(out.stdout)["rps"])


def curl_download(url: str, size: int, cacert: Path, proxy: str | None = None) -> float:
    """Bytes per second of one curl download of `size` bytes."""
    cmd = ["curl", "-sS", "--http2", "--cacert", str(cacert), "-o", os.devnull,
           "-w", "%{speed_download} %{size_download}", url] + (["-x", f"http://{proxy}"] if proxy else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    speed, _, got = out.stdout.partition(" ")
    if out.returncode != 0 or int(got or 0) != size:
        raise RuntimeError(f"curl {url} failed ({out.returncode}, {got} bytes): {out.stderr.strip()}")
    return float(speed)


def wait_idle(pid: int, quiet: float = 0.005, every: float = 0.05, timeout: float = 60.0) -> None:
    """Until process `pid` used less than `quiet` s of CPU in `every` s (its backlog is decoded)."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(every)
        now = cpu_seconds(pid)
        if now - last < quiet:
            return
        last = now


ORDERS = list(itertools.permutations(("direct", "reverse", "forward")))


def at_least(ratios: list[float]) -> str:
    """Whether forward kept at least what reverse kept, from the rounds' forward / reverse ratios:
    "met" when their median is 1 or more; "equal within noise" when it is under 1 by less than
    the rounds spread (a quarter of them or more at 1 or above); "NOT met" otherwise. Both modes
    relay through the same code at the same CPU per request, so on a shared host a plain
    comparison of medians comes out either way about half the time."""
    ahead = sum(1 for r in ratios if r >= 1)
    if statistics.median(ratios) >= 1:
        return f"met (forward ahead in {ahead} of {len(ratios)} rounds)"
    if 4 * ahead >= len(ratios):
        return f"equal within noise (forward ahead in {ahead} of {len(ratios)} rounds)"
    return f"NOT met (forward ahead in {ahead} of {len(ratios)} rounds)"


def forward_mode(opts: argparse.Namespace, work: Path, env: dict, ca_file: Path, tls_port: int,
                 www: Path, procs: list[subprocess.Popen]) -> None:
    """Direct, reverse mode, forward mode and mitmproxy on the same work, in turns."""
    big = www / "big"
    big.write_bytes(os.urandom(opts.download))
    direct = f"https://127.0.0.1:{tls_port}/body"
    outs = {name: work / f"{name}.jsonl" for name in ("reverse", "forward")}
    reverse, r_port = start_proxy(["--upstream", f"127.0.0.1:{tls_port}", "--tls", "--upstream-tls",
                                   "--upstream-ca", str(ca_file)], outs["reverse"], work / "reverse.err", env)
    procs.append(reverse)
    forward, f_port = start_proxy(["--forward", "--upstream-ca", str(ca_file)], outs["forward"],
                                  work / "forward.err", env)
    procs.append(forward)
    exe = mitmdump() if not opts.no_mitmproxy else None
    mitm_ca = None
    if exe is not None:
        mitm, m_port, mitm_ca = start_mitmproxy(exe, work, ca_file)
        procs.append(mitm)
    via_reverse = f"https://127.0.0.1:{r_port}/body"
    fw, mp = f"127.0.0.1:{f_port}", (f"127.0.0.1:{m_port}" if exe is not None else None)
    counters = {"reverse": ResponseCounter(outs["reverse"]), "forward": ResponseCounter(outs["forward"])}
    pids = {"reverse": reverse.pid, "forward": forward.pid}
    n, size, mn = opts.requests, opts.size, opts.mitm_requests
    print(f"forward  (TLS on both legs) bench/connect_load.py -n {n} -c 4 -m 10 (mitmproxy "
          f"{mitmproxy_version(exe) if exe else 'skipped'}: -n {mn}), body {size} bytes; then curl, "
          f"{opts.download >> 20} MiB body", flush=True)
    # Warm up every path (certificates made, code loaded) and check each works.
    connect_load(direct, 500, size, ca_file)
    connect_load(via_reverse, 500, size, ca_file)
    connect_load(direct, 500, size, ca_file, fw)
    if mp is not None:
        assert mitm_ca is not None
        connect_load(direct, 200, size, mitm_ca, mp)
    for counter in counters.values():
        counter.wait_for(500)
    rps: dict[str, list[float]] = {"direct": [], "reverse": [], "forward": [], "mitmproxy": []}
    cpu: dict[str, list[float]] = {"reverse": [], "forward": []}
    lags: dict[str, list[float]] = {"reverse": [], "forward": []}

    def through(name: str) -> None:
        url, proxy = (via_reverse, None) if name == "reverse" else (direct, fw)
        before, cpu_before = counters[name].update(), cpu_seconds(pids[name])
        rps[name].append(connect_load(url, n, size, ca_file, proxy))
        cpu[name].append(cpu_seconds(pids[name]) - cpu_before)
        lags[name].append(counters[name].wait_for(before + n))
        wait_idle(pids[name])  # its decoding done: the next run has the machine to itself

    def one(name: str) -> None:
        if name == "direct":
            rps["direct"].append(connect_load(direct, n, size, ca_file))
        else:
            through(name)

    # The three take every order in turn (all six over six rounds): none always runs first,
    # last, or just after another (after mitmproxy's slow run, or while the host's load climbs).
    for i in range(opts.rounds):
        for name in ORDERS[i % len(ORDERS)]:
            one(name)
        if mp is not None:
            assert mitm_ca is not None
            rps["mitmproxy"].append(connect_load(direct, mn, size, mitm_ca, mp))
    med = {name: statistics.median(values) for name, values in rps.items() if values}
    for name in ("direct", "reverse", "forward", "mitmproxy"):
        if name not in med:
            continue
        line = f"      {name:9} {med[name]:9.0f} req/s"
        if name != "direct":
            line += f" | kept {100 * med[name] / med['direct']:5.1f}%"
        if name in cpu:
            line += (f" | its CPU {statistics.median(cpu[name]) * 1000:4.0f} ms per {n} requests | decoder caught "
                     f"up {statistics.median(lags[name]) * 1000:.0f} ms after")
        print(line + f" | rounds: {', '.join(f'{x:.0f}' for x in rps[name])}")
    kept = {name: [p / d for d, p in zip(rps["direct"], rps[name], strict=True)] for name in ("reverse", "forward")}
    print(f"      kept, round by round (each over the direct run of its round): reverse "
          f"{', '.join(f'{100 * k:.0f}%' for k in kept['reverse'])}; forward "
          f"{', '.join(f'{100 * k:.0f}%' for k in kept['forward'])}")
    paired = [f / r for f, r in zip(rps["forward"], rps["reverse"], strict=True)]
    print(f"      forward / reverse, round by round (the two runs of a round, one apart at most): median "
          f"{statistics.median(paired):.2f} ({', '.join(f'{x:.2f}' for x in paired)})")
    per_request = {name: statistics.median(cpu[name]) / n * 1e6 for name in cpu}
    print(f"      proxy CPU per request (median): reverse {per_request['reverse']:.1f} us, forward "
          f"{per_request['forward']:.1f} us (forward / reverse {per_request['forward'] / per_request['reverse']:.2f})")
    paused = "decoding of this connection paused"
    for name in ("reverse", "forward"):
        if paused in (work / f"{name}.err").read_text():
            print(f"      decoding paused in {name} mode (backlog bound reached): its req/s do not count")
    # Downloads: one large body, each way, in turns.
    got: dict[str, list[float]] = {"direct": [], "reverse": [], "forward": [], "mitmproxy": []}
    download_cpu: dict[str, list[float]] = {"reverse": [], "forward": []}
    ways = {"reverse": (f"https://127.0.0.1:{r_port}/big", None), "forward": (f"https://127.0.0.1:{tls_port}/big", fw)}
    for i in range(opts.rounds):
        for name in ORDERS[i % len(ORDERS)]:
            if name == "direct":
                got["direct"].append(curl_download(f"https://127.0.0.1:{tls_port}/big", opts.download, ca_file))
                continue
            url, proxy = ways[name]
            before, cpu_before = counters[name].update(), cpu_seconds(pids[name])
            got[name].append(curl_download(url, opts.download, ca_file, proxy))
            counters[name].wait_for(before + 1)
            wait_idle(pids[name])  # the body decoded (or its decoding given up): the CPU it took is all counted
            download_cpu[name].append(cpu_seconds(pids[name]) - cpu_before)
        if mp is not None:
            assert mitm_ca is not None
            got["mitmproxy"].append(curl_download(f"https://127.0.0.1:{tls_port}/big", opts.download, mitm_ca, mp))
    mb = {name: statistics.median(v) / 1e6 for name, v in got.items() if v}
    print("      download (curl), MB/s: " + "; ".join(
        f"{name} {mb[name]:.0f} ({', '.join(f'{x / 1e6:.0f}' for x in got[name])})" for name in mb))
    download_paired = [f / r for f, r in zip(got["forward"], got["reverse"], strict=True)]
    print(f"      download forward / reverse, round by round: median {statistics.median(download_paired):.2f} "
          f"({', '.join(f'{x:.2f}' for x in download_paired)})")
    print("      proxy CPU per download, relaying and decoding (median): " + "; ".join(
        f"{name} {statistics.median(v) * 1000:.0f} ms" for name, v in download_cpu.items()))
    for name in ("reverse", "forward"):
        if (work / f"{name}.err").read_text().count(paused) > 0:
            print(f"      decoding paused in {name} mode by the end of the downloads (the relay went on; each "
                  "pause is said on the proxy's stderr)")
    fw_kept, rv_kept = med["forward"] / med["direct"], med["reverse"] / med["direct"]
    verdict = [f"forward kept {100 * fw_kept:.1f}% of direct, reverse {100 * rv_kept:.1f}% "
               f"(forward / reverse by round {statistics.median(paired):.2f}): {at_least(paired)}",
               f"download forward {mb['forward']:.0f} MB/s, reverse {mb['reverse']:.0f} "
               f"({statistics.median(download_paired):.2f}): {at_least(download_paired)}"]
    if "mitmproxy" in med:
        times = med["forward"] / med["mitmproxy"]
        verdict.append(f"forward {times:.1f}x mitmproxy's req/s: {'met' if times >= 20 else 'NOT met'} (target 20x)")
    print("      target: " + "; ".join(verdict))
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--size", type=int, default=4096, help="response body size in bytes")
    parser.add_argument("--modes", default="h2c,tls,tls-edge,forward",
                        help="h2c; tls (TLS on both legs); tls-edge (TLS from the client, h2c upstream); "
                             "forward (CONNECT, TLS intercepted, beside reverse mode and mitmproxy)")
    parser.add_argument("--mitm-requests", type=int, default=2000,
                        help="requests per mitmproxy round in mode forward (it is about 100x slower)")
    parser.add_argument("--download", type=int, default=64 << 20, help="bytes of the body curl downloads (forward)")
    parser.add_argument("--no-mitmproxy", action="store_true", help="forward mode without mitmproxy")
    parser.add_argument("--reference", action="store_true",
                        help="also measure a plain byte relay on the same event loop (no recording, no decoding)")
    parser.add_argument("--others", type=lambda text: [k for k in text.split(",") if k], default=[],
                        metavar="nghttpx,haproxy",
                        help="also measure these C proxies (one worker each, no decoding) on the same work, in modes "
                             "h2c, tls and tls-edge; issue 20's target is at least nghttpx's share of direct")
    parser.add_argument("--serve-plain-relay", nargs=4, metavar=("LISTEN", "UPSTREAM", "TLS", "CA"),
                        help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_plain_relay:
        listen, upstream, mode, ca_file = opts.serve_plain_relay
        plain_relay(int(listen), int(upstream), mode, ca_file)
        return 0
    unknown = [k for k in opts.others if k not in OTHERS]
    if unknown:
        print(f"--others: {', '.join(unknown)}: expected some of {', '.join(OTHERS)}", file=sys.stderr)
        return 2
    for tool in ("h2load", "nghttpd", "curl", *opts.others):
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
            if mode == "forward":
                forward_mode(opts, work, env, ca.cert_path, tls_port, www, procs)
                for p in procs[2:]:
                    if p.poll() is None:
                        p.send_signal(signal.SIGINT)
                        p.wait(30)
                continue
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
            others: dict[str, tuple[subprocess.Popen, str]] = {}
            for kind in opts.others:
                other, other_port = start_other(kind, mode, work, h2c_port, tls_port, leaf.key, leaf.cert,
                                                ca.cert_path)
                procs.append(other)
                others[kind] = (other, f"{scheme}://127.0.0.1:{other_port}/body")
                h2load(others[kind][1], 2000, work / "warm.log")
            h2load(direct, 2000, work / "warm.log")
            h2load(via, 2000, work / "warm.log")
            counter = ResponseCounter(out)
            counter.wait_for(2000)
            rows: dict[str, list[tuple[float, float]]] = {"direct": [], "proxy": [], "plain": []}
            rows.update({kind: [] for kind in others})
            other_cpus: dict[str, list[float]] = {kind: [] for kind in others}
            lags, cpus, plain_cpus = [], [], []
            for i in range(opts.rounds):
                rows["direct"].append(h2load(direct, opts.requests, work / "d.log"))
                # After the direct run, the proxy and the reference proxies take turns at going first.
                turn = ["proxy", *others]
                for kind in turn[i % len(turn):] + turn[:i % len(turn)]:
                    if kind == "proxy":
                        before = counter.update()
                        cpu_before = cpu_seconds(proxy.pid)
                        rows["proxy"].append(h2load(via, opts.requests, work / "p.log"))
                        cpus.append(cpu_seconds(proxy.pid) - cpu_before)
                        lags.append(counter.wait_for(before + opts.requests))
                        continue
                    other, url = others[kind]
                    other_before = tree_cpu_seconds(other.pid)
                    rows[kind].append(h2load(url, opts.requests, work / "o.log"))
                    other_cpus[kind].append(tree_cpu_seconds(other.pid) - other_before)
                if plain_url:
                    try:
                        plain_before = cpu_seconds(plain.pid)
                        rows["plain"].append(h2load(plain_url, opts.requests, work / "r.log"))
                        plain_cpus.append(cpu_seconds(plain.pid) - plain_before)
                    except RuntimeError:
                        print("      (a plain-relay round failed; its stderr:)",
                              (work / "plain.err").read_text()[-1500:])
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
            for kind in others:
                o_rps = statistics.median(x[0] for x in rows[kind])
                o_p50 = statistics.median(x[1] for x in rows[kind])
                o_ratios = [o[0] / d[0] for d, o in zip(rows["direct"], rows[kind], strict=True)]
                print(f"      {kind:8} (reference, 1 worker, no decoding) {o_rps:9.0f} req/s  p50 {o_p50:6.2f} ms | "
                      f"kept {100 * o_rps / d_rps:5.1f}% (round by round {100 * statistics.median(o_ratios):.1f}%) | "
                      f"its CPU {statistics.median(other_cpus[kind]) * 1000:.0f} ms per {opts.requests} requests")
            if "nghttpx" in others:
                ours = statistics.median(ratios)
                theirs = statistics.median(p[0] / d[0] for d, p in zip(rows["direct"], rows["nghttpx"], strict=True))
                print(f"      target (issue 20): at least nghttpx's share of direct: ours {100 * ours:.1f}%, nghttpx "
                      f"{100 * theirs:.1f}% (round by round): {'met' if ours >= theirs else 'NOT met'}")
            print(f"      rounds direct: {', '.join(f'{x[0]:.0f}' for x in rows['direct'])}")
            print(f"      rounds proxy:  {', '.join(f'{x[0]:.0f}' for x in rows['proxy'])}")
            for kind in others:
                print(f"      rounds {kind}: {', '.join(f'{x[0]:.0f}' for x in rows[kind])}")
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
