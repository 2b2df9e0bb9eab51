"""Soak: the proxy's memory over a long run of requests that each carry a unique request id.

    python bench/bench_proxy_soak.py [--minutes 10] [--connections 4] [--streams 10]
                                     [--client ours|h2load] [--rate R] [--history FRAMES]

Runs nghttpd, `h2inspect proxy --headless --format jsonl` (decoding on, frames to
/dev/null) in front of it, and a load client through the proxy until the time is up,
sampling the proxy's resident memory (VmRSS) every second. The client is by default
this script's own small HTTP/2 client (h2), sending `x-request-id: <uuid>` unique per
request, as real clients do (h2load's -H cannot vary per request); `--client h2load`
uses h2load with a file of unique paths instead (`-i`), which is faster. Prints RSS at
the end of warm-up (the first tenth), in the middle and at the end, the largest, and
requests per second; the proxy's RSS should stay flat after warm-up. `--rate` paces our client
(so that decoding keeps up: otherwise the bounded backlog of undecoded bytes is what grows),
`--history` is passed to the proxy; its closing lines (what the history kept, bytes left
undecoded) are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_proxy import free_port, wait_port  # noqa: E402  (its neighbour: one copy of the port helpers)

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Pace:
    """Requests per second over all connections (0: as fast as they are answered)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.began = time.monotonic()
        self.issued = 0

    async def turn(self) -> None:
        self.issued += 1
        if self.rate:
            due = self.began + self.issued / self.rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)


async def _connection(port: int, streams: int, until: float, done: list[int], pace: Pace) -> None:
    """One HTTP/2 connection keeping `streams` GETs in flight, each with a fresh x-request-id."""
    import h2.config
    import h2.connection
    import h2.events

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    open_streams = 0

    def request() -> None:
        nonlocal open_streams
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(b":method", b"GET"), (b":path", b"/small.bin"), (b":scheme", b"http"),
                                (b":authority", b"soak"), (b"x-request-id", uuid.uuid4().hex.encode())],
                          end_stream=True)
        open_streams += 1

    for _ in range(streams):
        request()
    writer.write(conn.data_to_send())
    while open_streams:
        data = await reader.read(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                open_streams -= 1
                done[0] += 1
                # A stream id runs out after 2^30 requests: a new connection long before.
                if time.monotonic() < until and conn.highest_outbound_stream_id < (1 << 30):
                    await pace.turn()
                    request()
        writer.write(conn.data_to_send())
        await writer.drain()
    writer.close()


def run_our_client(port: int, connections: int, streams: int, seconds: float, done: list[int],
                   rate: float = 0) -> None:
    async def main() -> None:
        until = time.monotonic() + seconds
        pace = Pace(rate)
        while time.monotonic() < until:  # a connection that ended early is replaced
            await asyncio.gather(*(_connection(port, streams, until, done, pace) for _ in range(connections)))
    asyncio.run(main())


def run_h2load(port: int, connections: int, streams: int, seconds: float, done: list[int], tmp: Path) -> None:
    paths = tmp / "paths.txt"
    with paths.open("w") as f:
        for _ in range(200_000):
            f.write(f"http://127.0.0.1:{port}/small.bin?request-id={uuid.uuid4().hex}\n")
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        out = subprocess.run(["h2load", "-c", str(connections), "-m", str(streams), "-i", str(paths),
                              "-D", str(max(1, int(until - time.monotonic())))],
                             capture_output=True, text=True).stdout
        m = re.search(r"(\d+) succeeded", out)
        done[0] += int(m.group(1)) if m else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--streams", type=int, default=10, help="requests in flight per connection")
    parser.add_argument("--client", choices=["ours", "h2load"], default="ours")
    parser.add_argument("--rate", type=float, default=0, help="with our client: requests per second in all "
                        "(default: as fast as answered; on a shared 2-core machine the proxy's decoding then falls "
                        "behind and what grows is its bounded backlog of undecoded bytes, not the model)")
    parser.add_argument("--history", help="the proxy's --history (frames it keeps; 'all' for everything); "
                        "default: the proxy's own")
    args = parser.parse_args()
    for tool in ("nghttpd",) + (("h2load",) if args.client == "h2load" else ()):
        if shutil.which(tool) is None:
            raise SystemExit(f"needs {tool}")
    seconds = args.minutes * 60
    load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        www = tmp / "www"
        www.mkdir()
        (www / "small.bin").write_bytes(os.urandom(100))
        up = free_port()
        server = subprocess.Popen(["nghttpd", "--no-tls", "-d", str(www), str(up)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listen = free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), H2INSPECT_HOME=str(tmp / "home"))
        with open(os.devnull, "w") as sink, (tmp / "proxy.err").open("w") as err:
            proxy = subprocess.Popen([sys.executable, "-m", "inspector", "proxy", "--listen",
                                      f"127.0.0.1:{listen}", "--upstream", f"127.0.0.1:{up}",
                                      "--headless", "--format", "jsonl",
                                      *(("--history", args.history) if args.history else ())],
                                     stdout=sink, stderr=err, env=env)
        try:
            try:
                wait_port(up, 20.0)
                wait_port(listen, 20.0)
            except RuntimeError as exc:
                raise SystemExit(str(exc)) from None
            done = [0]
            target = run_our_client if args.client == "ours" else run_h2load
            extra = (args.rate,) if args.client == "ours" else (tmp,)
            client = threading.Thread(target=target, args=(listen, args.connections, args.streams, seconds,
                                                           done, *extra), daemon=True)
            began = time.monotonic()
            client.start()
            samples: list[tuple[float, int, int]] = []  # (seconds in, RSS, requests so far)
            while client.is_alive():
                samples.append((time.monotonic() - began, rss(proxy.pid), done[0]))
                client.join(1.0)
            samples.append((time.monotonic() - began, rss(proxy.pid), done[0]))
        finally:
            proxy.send_signal(signal.SIGINT)
            proxy.wait(30)
            server.terminate()
            server.wait(10)
        errors = (tmp / "proxy.err").read_text()

    def at(fraction: float) -> tuple[float, int, int]:
        return min(samples, key=lambda s: abs(s[0] - fraction * samples[-1][0]))

    took = samples[-1][0]
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}, at the start {load_at_start}")
    print(f"{os.cpu_count()} cores; client {args.client}, {args.connections} connections x "
          f"{args.streams} streams, {took:.0f} s, {done[0]} requests ({done[0] / took:.0f}/s), "
          "each with a unique " + ("x-request-id" if args.client == "ours" else ":path"))
    for label, fraction in (("start (end of warm-up)", 0.1), ("middle", 0.5), ("end", 1.0)):
        t, r, n = at(fraction)
        print(f"  {label:24} {t:6.0f} s  {n:9} requests  proxy RSS {r / MIB:6.1f} MiB")
    print(f"  largest RSS seen            {max(s[1] for s in samples) / MIB:6.1f} MiB")
    warm, end = at(0.1), at(1.0)
    if end[2] > warm[2]:
        print(f"  growth after warm-up: {(end[1] - warm[1]) / (end[2] - warm[2]):.1f} bytes per request")
    for line in errors.splitlines():
        if "history:" in line or "not decoded" in line or "paused" in line:
            print("  " + line)
    problems = [line for line in errors.splitlines() if "Traceback" in line or "internal error" in line]
    if problems:
        print("  proxy errors:", *problems[:5], sep="\n    ")
        if os.environ.get("H2INSPECT_DEBUG"):
            print(errors[-3000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
