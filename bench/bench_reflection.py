#!/usr/bin/env python3
"""Schemas from gRPC server reflection: what reading one costs, and that asking never holds the relay up.

Offline (as root: tcpdump on loopback): a capture of a client that asks by reflection (v1alpha,
grpcio-reflection, as grpcurl does) and then makes --calls unary calls on the same connection.
`rpcs --format jsonl` and `rpcs -v` are timed with the schema the capture's own reflection
exchange gives, with `--proto demo.proto` instead, and (with --against DIR, another checkout such
as /work/main) that checkout's code with `--proto` on the same file: CPU seconds and peak RSS,
medians of --rounds alternating rounds. Targets: the schema from the capture costs no more than
--proto (within 10%); this checkout within 10% of the other on the same work.

Live: a forward proxy (`proxy --forward --headless`, decoding on) with and without --reflect,
a grpcio client making --live-calls unary calls through CONNECT (h2c in the tunnel) to a host
whose reflection service holds its answer until the run is over: with --reflect the host is
being asked the whole time. Calls per second each way, in alternating rounds. Target: with the
answer pending, at least 90% of the calls per second without --reflect.

    python bench/bench_reflection.py [--calls 20000] [--live-calls 2000] [--rounds 3] [--against DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from bench_memory import run  # noqa: E402
from reflectionkit import grpc_server, held_until, plain_channel, unary  # noqa: E402
from wirekit import captured  # noqa: E402

PROTO = ROOT / "inspector" / "demo" / "demo.proto"


def make_capture(path: Path, calls: int) -> None:
    """Reflection, then `calls` unary calls, one connection, captured on lo."""
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with grpc_server(("v1alpha",)) as port, captured(str(path), port):
        with plain_channel(port) as channel:
            pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
            method = pool.FindServiceByName("h2inspect.demo.Demo").methods_by_name["Unary"]
            request = message_factory.GetMessageClass(method.input_type)
            reply = message_factory.GetMessageClass(method.output_type)
            call = channel.unary_unary("/h2inspect.demo.Demo/Unary", request.SerializeToString, reply.FromString)
            for i in range(calls):
                call(request(name=f"call {i}", numbers=[i]), timeout=10)


def offline(capture: Path, rounds: int, against: Path | None) -> None:
    cases = [("this, schema from the capture", ROOT, ()), ("this, --proto", ROOT, ("--proto", str(PROTO)))]
    if against is not None:
        cases.append((f"{against}, --proto", against, ("--proto", str(PROTO))))
    for listing in (("--format", "jsonl"), ("-v",)):
        results: dict[str, list[tuple[float, int]]] = {name: [] for name, _, _ in cases}
        for _ in range(rounds):
            for name, checkout, extra in cases:
                env_cmd = ["env", f"PYTHONPATH={checkout}", sys.executable, "-m", "inspector", "rpcs", str(capture),
                           *listing, *extra]
                _, cpu, rss, status, last = run(env_cmd, 600)
                if status != 0:
                    print(f"  {name}: exit {status}: {last}")
                    return
                results[name].append((cpu, rss))
        print(f"rpcs {' '.join(listing)}:")
        base = statistics.median(c for c, _ in results[cases[0][0]])
        for name, _, _ in cases:
            cpu = statistics.median(c for c, _ in results[name])
            rss = max(r for _, r in results[name])
            print(f"  {name:<48} CPU {cpu:6.2f} s (x{cpu / base:.2f} of the first)  peak RSS {rss / 1024:6.0f} MB")


def _proxy(tmp: Path, *args: str) -> tuple[subprocess.Popen, int]:
    err = tmp / f"proxy-{time.monotonic_ns()}.err"
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "proxy", "--forward", "--listen", "127.0.0.1:0",
                             "--headless", *args], stdout=subprocess.DEVNULL, stderr=err.open("w"), cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), H2INSPECT_HOME=str(tmp / "home")))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(r"listening on [^ ,]+:(\d+)", err.read_text())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the proxy did not start: {err.read_text()}")


def live(calls: int, rounds: int) -> None:
    from inspector.rpc.reflection import REFLECTION_TIMEOUT

    answer = threading.Event()
    asked = [threading.Event() for _ in range(rounds)]  # one per proxy run with --reflect
    questions = iter(asked)

    def held(requests, context):  # type: ignore[no-untyped-def]
        next(questions).set()
        yield from held_until(answer, threading.Event())(requests, context)

    rates: dict[str, list[float]] = {"without --reflect": [], "--reflect, answer pending": []}
    with tempfile.TemporaryDirectory() as tmp, grpc_server(handler=held) as port:
        try:
            for round_ in range(rounds):
                for name, extra in (("without --reflect", ()), ("--reflect, answer pending", ("--reflect",))):
                    proc, proxy_port = _proxy(Path(tmp), *extra)
                    try:
                        with plain_channel(port, f"http://127.0.0.1:{proxy_port}") as channel:
                            unary(channel, "warm up")
                            if extra and not asked[round_].wait(15):
                                raise RuntimeError("the proxy never asked the host")
                            start = time.perf_counter()
                            for i in range(calls):
                                unary(channel, str(i))
                            took = time.perf_counter() - start
                            rates[name].append(calls / took)
                            if extra and took > REFLECTION_TIMEOUT:
                                print(f"  (round {round_ + 1}: {took:.1f} s, past the {REFLECTION_TIMEOUT:g} s the "
                                      "proxy waits for an answer: the answer was not pending all along)")
                    finally:
                        proc.send_signal(signal.SIGINT)
                        proc.wait(15)
        finally:
            answer.set()
    base = statistics.median(rates["without --reflect"])
    print(f"forward proxy, {calls} unary calls through CONNECT (h2c), medians of {rounds} rounds:")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"  {name:<28} {rate:8.0f} calls/s ({rate / base:.0%} of without; rounds "
              f"{', '.join(f'{v:.0f}' for v in values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--live-calls", type=int, default=2_000,
                        help="calls per live round (keep a round under the 5 s a reflection answer is awaited)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout to time with --proto on the same capture")
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the capture here")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-offline", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        capture = args.keep or Path(tmp) / "reflection-calls.pcap"
        if not args.skip_offline:
            if not capture.exists():
                make_capture(capture, args.calls)
            print(f"{capture}: {capture.stat().st_size >> 20} MiB, reflection then {args.calls} unary calls")
            offline(capture, args.rounds, args.against)
    if not args.skip_live:
        live(args.live_calls, args.rounds)
    load = os.getloadavg()
    print(f"load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
