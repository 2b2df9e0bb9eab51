"""`h2inspect tutorial [LESSON]`: the four gRPC call styles, taught with real traffic.

Starts the demo gRPC server, the proxy in front of it and a client that
makes the lesson's calls, all on loopback, then shows the live session in
the TUI's teaching mode, or (--headless) prints the annotated timeline.
Everything it started is stopped when it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from inspector.capture.load import CaptureLoader
from inspector.errors import UsageError
from inspector.tutorial.exchange import Exchange, lesson_calls, lessons_for
from inspector.tutorial.phrases import phrase
from inspector.tutorial.timeline import annotated_timeline


async def _headless(args: argparse.Namespace) -> list[str]:
    lessons = lessons_for(args.style)
    exchange = Exchange(lessons, record=args.record)
    try:
        await exchange.start()
        started = phrase(args.lang, "started", server=f"127.0.0.1:{exchange.server_port}", proxy=exchange.proxy)
        await exchange.run()
        await exchange.settle()
    finally:
        await exchange.stop()
    try:
        return [started, ""] + annotated_timeline(exchange.session, lesson_calls(exchange.session, lessons),
                                                  args.lang)
    finally:
        exchange.close()


def _from_capture(args: argparse.Namespace) -> list[str]:
    """The annotated timeline of a recorded tutorial (`--record`), without running anything."""
    session = CaptureLoader(args.capture).load()
    lessons = lessons_for(args.style)
    return annotated_timeline(session, lesson_calls(session, lessons), args.lang)


def run(args: argparse.Namespace) -> int:
    """Run the lesson's exchange; teach it in the TUI, or print it."""
    if args.capture:
        if not args.headless:
            raise UsageError("--capture only works with --headless (use `h2inspect open` for the TUI)")
        sys.stdout.write("\n".join(_from_capture(args)) + "\n")
        return 0
    if args.headless:
        lines = asyncio.run(_headless(args))
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    from inspector.tutorial.app import TutorialApp

    exchange = Exchange(lessons_for(args.style), record=args.record, pause=0.3)
    TutorialApp(exchange, args.lang).run()
    return 0
