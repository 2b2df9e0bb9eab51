#!/usr/bin/env python3
"""The TUI on bench/big.pcap (600,000 frames), headless through Textual's Pilot:
time to the first screen, time until fully loaded, and key-to-repaint when
scrolling and jumping to the end of the 150,006-row connection view, measured
from the key to the first screen update that shows the cursor where the key put
it (and, separately, until the debounced frame detail follows).
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


async def measure(path: str) -> dict[str, float | int | str]:
    start = time.perf_counter()
    loader = CaptureLoader(path)
    app = App(loader.session, loader)
    figures: dict[str, float | int | str] = {}
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
        detail = app.query_one("#detail")

        # Key to repaint: from the moment the key is sent to the first screen update
        # (App._display hands the new frame to the terminal driver) that shows the
        # cursor where the key put it. Pilot's own waiting is not part of it.
        shown: list[tuple[float, int, int, int]] = []  # (time, cursor, scroll y, detail's first row)
        display = app._display

        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            shown.append((time.perf_counter(), timeline.cursor, timeline.scroll_offset.y,
                          id(detail.row)))
            return display(*args, **kwargs)

        app._display = spy

        async def key(name: str) -> tuple[float, float]:
            """(ms to the repaint showing the cursor moved, ms until the frame detail followed)."""
            before_detail = id(detail.row)
            shown.clear()
            t = time.perf_counter()
            await pilot.press(name)
            await pilot.pause(0.1)  # let the debounced detail pane follow
            target = timeline.cursor
            repaint = next((when for when, cursor, top, _ in shown
                            if cursor == target and top <= target < top + timeline.size.height), None)
            followed = next((when for when, *_, row in shown if row != before_detail), None)
            if repaint is None:
                raise RuntimeError(f"no repaint showed the cursor after {name!r}")
            return (repaint - t) * 1000, ((followed or repaint) - t) * 1000

        scrolls = [await key("j") for _ in range(50)] + [await key("pagedown") for _ in range(20)]
        figures["scroll: key to repaint, median ms"] = statistics.median(s for s, _ in scrolls)
        figures["scroll: key to repaint, 90th percentile ms"] = sorted(s for s, _ in scrolls)[int(len(scrolls) * 0.9)]
        figures["scroll: frame detail follows, median ms"] = statistics.median(d for _, d in scrolls)
        jumps = []
        for _ in range(10):
            jumps.append(await key("G"))
            jumps.append(await key("g"))
        figures["jump to the end/start (G, g): key to repaint, median ms"] = statistics.median(j for j, _ in jumps)
        figures["jump (G, g): key to repaint, max ms"] = max(j for j, _ in jumps)
        figures["jump (G, g): each, ms"] = " ".join(f"{j:.0f}" for j, _ in jumps)
        figures["jump (G, g): frame detail follows, median ms"] = statistics.median(d for _, d in jumps)
        app._display = display
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
        if isinstance(value, str):
            print(f"{name:<56} {value}")
        else:
            print(f"{name:<56} {value:10.3f}" if isinstance(value, float) else f"{name:<56} {value:10d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
