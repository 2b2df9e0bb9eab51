#!/usr/bin/env python3
"""The TUI on bench/big.pcap (600,000 frames), headless through Textual's Pilot:
time to the first screen, time until fully loaded, then key-to-repaint for each
key (j, k, PgDn, PgUp, G, g: median and max) in the largest connection's view
as a list, as a ladder, and in the problems view (with one finding per ten
frames), and the switches between views (c, l, p, Esc, Enter from a finding),
the first time (cold) and again (warm).
Targets: first screen under 1 s, key-to-repaint under 50 ms.

Key-to-repaint is timed from the key event to the moment the app hands its
compositor's last update for that key to the terminal (headless: the update is
built, then dropped), so it is exact to the millisecond. Pilot's own round trip
is not a repaint time: Pilot waits until the app has been quiet for a 20 ms
slice, twice, so it moves in 20 ms steps.

`--compare DIR` runs the same bench on the code in DIR (another checkout, say
the commit before a change) and on this one, alternately in fresh processes,
and prints both columns side by side: figures from one run on one machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEYS = (("j", 50), ("k", 20), ("pagedown", 20), ("pageup", 10), ("G", 7), ("g", 7))
REPEATS = 5  # warm switches measured this many times


def record_repaints(app: Any) -> list[float]:
    """A list that gets the time of every screen update the app sends to its terminal."""
    times: list[float] = []
    send = app._display  # Textual's hand-off of each compositor update; private, so only the bench uses it

    def sent(screen: Any, update: Any) -> None:
        send(screen, update)
        if update is not None:
            times.append(time.perf_counter())

    app._display = sent
    return times


async def measure(path: str) -> dict[str, float | int]:
    from inspector.capture.load import CaptureLoader
    from inspector.model import Finding, Severity
    from inspector.tui.app import App

    figures: dict[str, float | int] = {}
    start = time.perf_counter()
    loader = CaptureLoader(path)
    app = App(loader.session, loader)
    repaints = record_repaints(app)
    async with app.run_test(size=(170, 45)) as pilot:
        while not app.frame_view.count:  # the frames are in the view: the next update shows them
            await asyncio.sleep(0.002)
        seen = len(repaints)
        while len(repaints) == seen:
            await asyncio.sleep(0.002)
        figures["first screen with frames, s"] = repaints[seen] - start
        while not app.loaded:
            await asyncio.sleep(0.05)
        figures["fully loaded, s"] = time.perf_counter() - start
        await pilot.pause(0.5)

        async def key(name: str) -> float:
            """ms from the key to the last repaint it caused (nan if none)."""
            seen = len(repaints)
            t = time.perf_counter()
            await pilot.press(name)
            await pilot.pause(0)  # the repaints that key caused
            return (repaints[-1] - t) * 1000 if len(repaints) > seen else float("nan")

        def put(name: str, values: list[float]) -> None:
            shown = [v for v in values if v == v]
            figures[f"{name}, median ms"] = statistics.median(shown) if shown else float("nan")
            figures[f"{name}, max ms"] = max(shown) if shown else float("nan")

        async def scrolling(view: str) -> None:
            for name, times in KEYS:
                put(f"{view}: {name}", [await key(name) for _ in range(times)])

        figures["c, to the connection view (cold) ms"] = await key("c")  # every frame of connection 0
        figures["rows in the connection view"] = app.frame_view.count
        app.frame_view.focus()
        await pilot.pause(0.2)
        await scrolling("list")
        to_stream, to_conn = [], []
        for _ in range(REPEATS):
            to_stream.append(await key("c"))
            to_conn.append(await key("c"))
        put("c, connection view to a stream (warm)", to_stream)
        put("c, a stream to the connection view (warm)", to_conn)
        figures["l, list to ladder, 150k rows (cold) ms"] = await key("l")
        await pilot.pause(0.2)
        await scrolling("ladder")
        back, there = [], []
        for _ in range(REPEATS):
            back.append(await key("l"))
            there.append(await key("l"))
        put("l, ladder to list (warm)", back)
        put("l, list to ladder (warm)", there)
        await key("l")
        # bench/big.pcap breaks no rule; the problems view gets one finding per 10 frames, as a
        # capture full of violations would, read by the app before any key is timed.
        session = app.session
        log = session.frames
        real = len(session.findings)
        conns = log.column("conn_index" if "conn_index" in log.FIELDS else "conn")  # its name before 2026-12
        for i in range(0, len(log), 10):
            session.findings.append(Finding(Severity.WARNING if i % 20 else Severity.ERROR,
                                            f"bench finding on frame {i}", "RFC 9113 §5.1", conns[i],
                                            log.stream_id[i], log.packet[i], i))
        # A real capture's findings are made while it loads, and the app freezes what loading made
        # (left out of the collector's full passes: inspector/tui/app.py); these come after, so
        # they are frozen here as they would have been.
        gc.freeze()
        app._refresh()
        await pilot.pause(0.5)
        figures["findings (real)"] = real
        figures["findings (added by the bench)"] = len(session.findings) - real
        figures["p, open the problems view (cold) ms"] = await key("p")
        await pilot.pause(0.2)
        await scrolling("problems")
        opened, closed, chosen = [], [], []
        closed.append(await key("escape"))
        for _ in range(REPEATS):
            opened.append(await key("p"))
            closed.append(await key("escape"))
        put("p, open the problems view (warm)", opened)
        put("Esc, close the problems view", closed)
        for n in range(REPEATS):
            await key("p")
            for _ in range(n + 1):
                await key("j")
            chosen.append(await key("enter"))
        put("Enter on a finding, to its frame", chosen)
    return figures


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def compare(other: str, capture: str, rounds: int) -> int:
    """This bench on `other`'s code and on this tree's, alternately in fresh processes."""
    trees = {"before": str(Path(other).resolve()), "after": str(HERE.parent)}
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for n in range(rounds):
        for label, tree in trees.items():
            print(f"round {n + 1}, {label} ({tree}), load {load()}", file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--capture", capture, "--code", tree, "--json"],
                                 capture_output=True, text=True)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return 1
            runs[label].append(json.loads(out.stdout.splitlines()[-1]))
    print(f"machine: {machine()}; load after: {load()}; {rounds} round(s), before = {trees['before']}")
    names = list(runs["after"][0])
    print(f"{'':<58} {'before':>10} {'after':>10}")
    def value(label: str, name: str) -> float:
        """The figure over the rounds: the worst of the maxima, the median of the rest."""
        values = [r.get(name, float("nan")) for r in runs[label]]
        return float((max if "max ms" in name else statistics.median)(values))

    for name in names:
        print(f"{name:<58} {value('before', name):10.3f} {value('after', name):10.3f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture", default=str(HERE / "big.pcap"))
    parser.add_argument("--code", default=str(HERE.parent), help="the checkout whose inspector package is run")
    parser.add_argument("--compare", metavar="DIR", help="run on DIR's code and on this one, alternately")
    parser.add_argument("--rounds", type=int, default=1, help="with --compare: runs of each")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if not os.path.exists(args.capture):
        print(f"bench_tui: {args.capture} is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    if args.compare:
        return compare(args.compare, args.capture, args.rounds)
    sys.path.insert(0, args.code)
    figures = asyncio.run(measure(args.capture))
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"machine: {machine()}; load: {load()}")
    for name, value in figures.items():
        print(f"{name:<60} {value:10.3f}" if isinstance(value, float) else f"{name:<60} {value:10d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
