#!/usr/bin/env python3
"""The TUI on bench/big.pcap (600,000 frames), headless through Textual's Pilot:
time to the first screen, time until fully loaded, and key-to-repaint when
scrolling and jumping to the end of the 600,000-row connection view.
Targets: first screen under 1 s, key-to-repaint under 50 ms."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from inspector.capture.load import CaptureLoader  # noqa: E402
from inspector.tui.app import App  # noqa: E402


async def measure(path: str) -> dict[str, float]:
    start = time.perf_counter()
    loader = CaptureLoader(path)
    app = App(loader.session, loader)
    figures: dict[str, float] = {}
    async with app.run_test(size=(170, 45)) as pilot:
        await pilot.pause(0)
        figures["first screen"] = time.perf_counter() - start
        while not app.loaded:
            await asyncio.sleep(0.05)
        figures["fully loaded"] = time.perf_counter() - start
        await pilot.pause(0.5)
        timeline = app.query_one("#timeline")
        app.action_connection_view()  # every frame of connection 0 on one axis
        await pilot.pause(0.2)
        figures["rows in the connection view"] = timeline.count
        timeline.focus()

        async def key(name: str) -> float:
            t = time.perf_counter()
            await pilot.press(name)
            await pilot.pause(0)  # the repaint that key caused
            return (time.perf_counter() - t) * 1000

        # Pilot's own cost per key (it waits for the app to be idle): a key bound to nothing.
        baseline = statistics.median([await key("x") for _ in range(20)])
        figures["pilot's own cost per key (unbound key), ms"] = baseline
        scrolls = [await key("j") for _ in range(50)] + [await key("pagedown") for _ in range(20)]
        figures["scroll key to repaint, net of pilot, median ms"] = statistics.median(scrolls) - baseline
        figures["scroll key to repaint, median ms"] = statistics.median(scrolls)
        figures["scroll key to repaint, max ms"] = max(scrolls)
        figures["jump to the end (G), ms"] = await key("G")
        figures["jump to the end (G), net of pilot, ms"] = figures["jump to the end (G), ms"] - baseline
        figures["jump to the start (g), ms"] = await key("g")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--capture", default=str(HERE / "big.pcap"))
    args = parser.parse_args()
    if not os.path.exists(args.capture):
        print(f"bench_tui: {args.capture} is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    figures = asyncio.run(measure(args.capture))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    for name, value in figures.items():
        print(f"{name:<48} {value:10.3f}" if isinstance(value, float) else f"{name:<48} {value:10d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
