"""`h2inspect tutorial [LESSON] [experiment options]`: gRPC on HTTP/2, taught with real traffic.

Starts the demo gRPC server, the proxy in front of it and a client that
makes the lesson's calls, all on loopback, then shows the live session in
the TUI's teaching mode, or (--headless) prints the annotated timeline.
Everything it started is stopped when it ends. Its errors are in the
learner's language (--lang).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from inspector.capture.load import CaptureLoader
from inspector.errors import CaptureError, UsageError
from inspector.tutorial.exchange import LESSONS, OPTION_NAMES, Exchange, Experiment, lesson_calls, lessons_for
from inspector.tutorial.experiment import parse_experiment
from inspector.tutorial.phrases import phrase
from inspector.tutorial.timeline import annotated_timeline

_CAPTURE_PROBLEMS = {"no such file": "error.not_found", "is a directory, not a capture": "error.directory",
                     "not a pcap or pcapng capture": "error.not_capture", "empty file, not a capture": "error.empty",
                     "Permission denied": "error.denied"}


def _lesson(args: argparse.Namespace) -> str | None:
    if args.style is not None and args.style not in LESSONS:
        raise UsageError(phrase(args.lang, "error.choice", option="LESSON", value=args.style,
                                choices=", ".join(LESSONS)))
    return args.style


async def _headless(args: argparse.Namespace, experiment: Experiment) -> list[str]:
    lang = args.lang
    exchange = Exchange(lessons_for(_lesson(args), experiment), record=args.record, lang=lang)
    try:
        try:
            await exchange.start()
            started = phrase(lang, "started", server=f"127.0.0.1:{exchange.server_port}", proxy=exchange.proxy)
            await exchange.run()
            await exchange.settle()
        finally:
            await exchange.stop()
        return [started, ""] + annotated_timeline(exchange.session, lesson_calls(exchange.session,
                                                                                 exchange.lessons), lang)
    finally:
        exchange.close()


def _from_capture(args: argparse.Namespace, experiment: Experiment) -> list[str]:
    """The annotated timeline of a recorded tutorial (`--record`), without running anything."""
    lang = args.lang
    try:
        loader = CaptureLoader(args.capture)
    except CaptureError as exc:
        key = _CAPTURE_PROBLEMS.get(exc.problem)
        reason = phrase(lang, key) if key else phrase(lang, "error.other", reason=exc.problem)
        raise UsageError(phrase(lang, "error.capture", path=exc.path, reason=reason)) from None
    with loader:
        session = loader.load()
        lessons = lessons_for(_lesson(args), experiment)
        return annotated_timeline(session, lesson_calls(session, lessons), lang)


def run(args: argparse.Namespace) -> int:
    """Run the lesson's exchange; teach it in the TUI, or print it."""
    experiment = parse_experiment({name: getattr(args, name, None) for name in OPTION_NAMES}, args.lang)
    _lesson(args)
    if args.capture:
        if not args.headless:
            raise UsageError(phrase(args.lang, "error.capture_tui"))
        sys.stdout.write("\n".join(_from_capture(args, experiment)) + "\n")
        return 0
    if args.headless:
        lines = asyncio.run(_headless(args, experiment))
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    from inspector.tutorial.app import TutorialApp

    exchange = Exchange(lessons_for(_lesson(args), experiment), record=args.record, pause=0.3, lang=args.lang)
    TutorialApp(exchange, args.lang).run()
    return 0
