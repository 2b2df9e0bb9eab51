#!/usr/bin/env python3
"""The TUI on bench/big.pcap (600,000 frames), headless through Textual's Pilot:
time to the first screen, time until fully loaded, and key-to-repaint when
scrolling and jumping to the end of the largest connection's view, as a list,
as a ladder, and in the problems view (with one finding per ten frames).
Targets: first screen under 1 s, key-to-repaint under 50 ms.

Key-to-repaint is timed from the key event to the moment the app hands its
compositor's update to the terminal (headless: the update is built, then
dropped), so it is exact to the millisecond. Pilot's own round trip per key is
printed too, but it is not a repaint time: Pilot waits until the app has been
quiet for a 20 ms slice, twice, so it moves in 20 ms steps and includes those
waits, even after subtracting its cost for an unbound key."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from inspector.capture.load import CaptureLoader  # noqa: E402
from inspector.model import Finding, Severity  # noqa: E402
from inspector.tui.app import App  # noqa: E402


@dataclass(frozen=True)
class Press:
    """One key: Pilot's round trip, and when each repaint it caused was ready (ms after the key)."""

    round_trip: float
    repaints: list[float]

    @property
    def first(self) -> float:
        return self.repaints[0] if self.repaints else float("nan")

    @property
    def last(self) -> float:
        return self.repaints[-1] if self.repaints else float("nan")


def record_repaints(app: App) -> list[float]:
    """A list that gets the time of every screen update the app sends to its terminal."""
    times: list[float] = []
    send = app._display  # Textual's hand-off of each compositor update; private, so only the bench uses it

    def sent(screen, update) -> None:  # type: ignore[no-untyped-def]
        send(screen, update)
        if update is not None:
            times.append(time.perf_counter())

    app._display = sent  # type: ignore[method-assign]
    return times


async def measure(path: str) -> dict[str, float | int]:
    start = time.perf_counter()
    loader = CaptureLoader(path)
    app = App(loader.session, loader)
    figures: dict[str, float | int] = {}
    async with app.run_test(size=(170, 45)) as pilot:
        await pilot.pause(0)
        figures["first screen"] = time.perf_counter() - start
        while not app.loaded:
            await asyncio.sleep(0.05)
        figures["fully loaded"] = time.perf_counter() - start
        await pilot.pause(0.5)
        repaints = record_repaints(app)

        async def key(name: str) -> Press:
            seen = len(repaints)
            t = time.perf_counter()
            await pilot.press(name)
            await pilot.pause(0)  # the repaints that key caused
            return Press((time.perf_counter() - t) * 1000, [(r - t) * 1000 for r in repaints[seen:]])

        def median(values: list[float]) -> float:
            return statistics.median(values)

        unbound = [await key("x") for _ in range(20)]
        baseline = median([p.round_trip for p in unbound])
        figures["repaints per unbound key, max"] = max(len(p.repaints) for p in unbound)

        async def scrolling(view: str) -> None:
            """j, PgDn, G and g in the focused view: key to the repaint that shows it (and the detail)."""
            scrolls = [await key("j") for _ in range(50)] + [await key("pagedown") for _ in range(20)]
            figures[f"{view}: scroll key to last repaint (detail too), median ms"] = median([p.last for p in scrolls])
            figures[f"{view}: scroll key to last repaint, max ms"] = max(p.last for p in scrolls)
            jumps, starts = [], []
            for _ in range(7):
                jumps.append(await key("G"))
                starts.append(await key("g"))
            figures[f"{view}: jump to the end (G), median to last repaint ms"] = median([p.last for p in jumps])
            figures[f"{view}: jump to the end (G), max to last repaint ms"] = max(p.last for p in jumps)
            figures[f"{view}: jump to the start (g), median to last repaint ms"] = median([p.last for p in starts])
            figures[f"{view}: pilot round trip, scroll, net of unbound key, median ms"] = median(
                [p.round_trip for p in scrolls]) - baseline

        switch = await key("c")  # every frame of connection 0 on one axis
        figures["switch to the connection view (c), to last repaint ms"] = switch.last
        figures["rows in the connection view"] = app.frame_view.count
        app.frame_view.focus()
        await pilot.pause(0.2)
        await scrolling("list")
        ladder = await key("l")
        figures["list to ladder (l), 150k rows, to last repaint ms"] = ladder.last
        await pilot.pause(0.2)
        await scrolling("ladder")
        await key("l")
        # bench/big.pcap breaks no rule; the problems view gets one finding per 10 frames, as a
        # capture full of violations would, so that its rows are as many as they can be.
        session = app.session
        log = session.frames
        real = len(session.findings)
        for i in range(0, len(log), 10):
            session.findings.append(Finding(Severity.WARNING if i % 20 else Severity.ERROR,
                                            f"bench finding on frame {i}", "RFC 9113 §5.1", log.conn_index[i],
                                            log.stream_id[i], log.packet[i], i))
        figures["findings (real, added by the bench)"] = real
        figures["findings (added by the bench)"] = len(session.findings) - real
        opened = await key("p")
        figures["open the problems view (p), to last repaint ms"] = opened.last
        await pilot.pause(0.2)
        await scrolling("problems")
        back = await key("enter")
        figures["problems: Enter to the frame, to last repaint ms"] = back.last
        figures["pilot round trip, unbound key, median ms"] = baseline
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture", default=str(HERE / "big.pcap"))
    args = parser.parse_args()
    if not os.path.exists(args.capture):
        print(f"bench_tui: {args.capture} is missing; run python bench/make_big_capture.py", file=sys.stderr)
        return 2
    figures = asyncio.run(measure(args.capture))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    for name, value in figures.items():
        print(f"{name:<60} {value:10.3f}" if isinstance(value, float) else f"{name:<60} {value:10d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
