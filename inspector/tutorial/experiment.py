"""Experiments: run a lesson with the learner's settings and sum up what really crossed
the connection, so two runs can be put side by side.

`run_lesson` is what a view calls to run a lesson again (the TUI's form, in a
worker; `tutorial --headless` through `asyncio.run`); `summarize` reads any
finished session; `compare_lines` puts two summaries side by side.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from inspector.errors import UsageError
from inspector.http2 import frames as F
from inspector.http2.frames import FRAME_HEADER_LENGTH
from inspector.model import Direction, Session
from inspector.rpc.status import format_duration
from inspector.tutorial.exchange import (
    LESSONS,
    MAX_FRAME,
    MAX_WINDOW,
    MIN_FRAME,
    MIN_WINDOW,
    OPTION_NAMES,
    Exchange,
    Experiment,
    Lesson,
    lesson_calls,
)
from inspector.tutorial.phrases import phrase

# each number an experiment takes: (lowest, highest, the section that sets the range or "")
RANGES: dict[str, tuple[int, int, str]] = {
    "messages": (1, 10_000, ""), "size": (0, 16 << 20, ""), "concurrency": (1, 64, ""), "delay": (0, 10_000, ""),
    "deadline": (1, 600_000, ""), "table_size": (0, 1 << 20, "RFC 7541 §4.2"),
    "window": (MIN_WINDOW, MAX_WINDOW, "RFC 9113 §6.9.2"), "max_frame": (MIN_FRAME, MAX_FRAME, "RFC 9113 §6.5.2")}
COMPRESSIONS = ("gzip", "deflate", "identity")


def _number(lang: str, name: str, text: str) -> int:
    low, high, section = RANGES[name]
    scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    value = int(digits) * scale if digits.isdigit() else None
    if value is None or not low <= value <= high:
        values = dict(option=OPTION_NAMES[name], value=text, low=low, high=high)
        raise UsageError(phrase(lang, "error.range_rfc", section=section, **values) if section
                         else phrase(lang, "error.range", **values))
    return value


def parse_experiment(texts: dict[str, str | None], lang: str = "en") -> Experiment:
    """An experiment from what a learner typed (the command line, or the TUI's form), by field
    name; sizes may end in K or M. A value out of range is a UsageError in `lang`."""
    values: dict[str, int | str] = {}
    for name, text in texts.items():
        if text is None or text == "":
            continue
        if name == "compress":
            if text not in COMPRESSIONS:
                raise UsageError(phrase(lang, "error.choice", option="--compress", value=text,
                                        choices=", ".join(COMPRESSIONS)))
            values[name] = text
        elif name in RANGES:
            values[name] = _number(lang, name, str(text))
        else:
            raise KeyError(name)
    return Experiment.of(values)


@dataclass(slots=True, frozen=True)
class CallOutcome:
    """One call of a run: its stream, method, style and how it ended."""

    stream_id: int
    method: str
    style: str
    requests: int
    responses: int
    grpc_status: int | None
    grpc_status_name: str | None


@dataclass(slots=True, frozen=True)
class RunSummary:
    """What one run of a lesson put on the wire, comparable with another run's."""

    lessons: tuple[str, ...]
    settings: tuple[Experiment, ...]  # what each lesson ran with
    frames: int
    frames_by_type: dict[str, int]
    frame_bytes: int  # frame headers and payloads, both ways
    data_bytes: int  # DATA payloads, both ways
    header_block_bytes: int  # HEADERS and CONTINUATION payloads, both ways
    duration: float  # seconds from the first call's first frame to the last call's last frame
    stalls: int  # DATA frames after which their sender's window was used up
    compressed_messages: int
    encodings: tuple[str, ...]  # grpc-encoding values seen
    largest_message: int  # bytes of the largest gRPC message
    largest_message_frames: int  # DATA frames it spans
    calls: tuple[CallOutcome, ...]

    def compare_values(self) -> dict[str, float]:
        """The numbers two runs are compared by."""
        return {"frames": self.frames, "bytes": self.frame_bytes, "duration": self.duration,
                "stalls": self.stalls}


def summarize(session: Session, lessons: list[Lesson], only: str | None = None) -> RunSummary:
    """Sum up a finished exchange (or a recording of one) for its lessons; with `only`, for the
    calls of that lesson alone (a run of several lessons, one of them compared)."""
    log = session.frames
    found = [call for lesson, _, call in lesson_calls(session, lessons)
             if call is not None and only in (None, lesson.key)]
    if only is not None:
        lessons = [lesson for lesson in lessons if lesson.key == only]
    streams = {(c.conn_index, c.stream_id) for c in found}
    indexes = sorted(i for key in streams for i in session.stream_frames.of(*key))
    if indexes:  # the connection's own frames while the calls ran (WINDOW_UPDATE, PING, SETTINGS)
        first, last = indexes[0], indexes[-1]
        conns = {c.conn_index for c in found}
        indexes = sorted(set(indexes) | {i for conn in conns for i in session.stream_frames.of(conn, 0)
                                         if first <= i <= last})
    by_type: Counter[str] = Counter()
    frame_bytes = data_bytes = header_bytes = stalls = 0
    for i in indexes:
        t, length = log.type_code[i], log.length[i]
        by_type[F.type_name(t)] += 1
        frame_bytes += FRAME_HEADER_LENGTH + length
        if t == F.FrameType.DATA:
            data_bytes += length
            client = log.direction[i] == Direction.CLIENT
            window = min(log.stream_window_client[i], log.conn_window_client[i]) if client else \
                min(log.stream_window_server[i], log.conn_window_server[i])
            stalls += bool(length and window <= 0)
        elif t in (F.FrameType.HEADERS, F.FrameType.CONTINUATION):
            header_bytes += length
    messages = [m for call in found for m in (*call.requests, *call.responses)]
    largest = max(messages, key=lambda m: m.length, default=None)
    duration = (log.time[indexes[-1]] - log.time[indexes[0]]) if indexes else 0.0
    encodings = sorted({m.encoding for m in messages if m.compressed and m.encoding})
    return RunSummary(
        tuple(lesson.key for lesson in lessons), tuple(lesson.settings for lesson in lessons), len(indexes),
        dict(by_type), frame_bytes, data_bytes, header_bytes, duration, stalls,
        sum(1 for m in messages if m.compressed), tuple(encodings),
        largest.length if largest else 0, len(largest.frames) if largest else 0,
        tuple(CallOutcome(c.stream_id, c.method, c.style, len(c.requests), len(c.responses), c.grpc_status,
                          c.grpc_status_name) for c in sorted(found, key=lambda c: c.stream_id)))


def summary_lines(summary: RunSummary, lang: str = "en") -> list[str]:
    """The summary in sentences: frames and bytes, waits for window, compression, the calls."""
    detail = ", ".join(f"{count} {name}" for name, count in sorted(summary.frames_by_type.items(),
                                                                   key=lambda kv: -kv[1]))
    lines = [phrase(lang, "summary", frames=summary.frames, detail=detail, bytes=summary.frame_bytes,
                    duration=format_duration(summary.duration))]
    lines.append(phrase(lang, "summary.stalls", count=summary.stalls) if summary.stalls
                 else phrase(lang, "summary.no_stall"))
    if summary.compressed_messages:
        lines.append(phrase(lang, "summary.compressed", count=summary.compressed_messages,
                            encoding=", ".join(summary.encodings)))
    if summary.largest_message_frames > 1:
        lines.append(phrase(lang, "summary.split", length=summary.largest_message,
                            frames=summary.largest_message_frames))
    late = sum(1 for c in summary.calls if c.grpc_status == 4)
    if late:
        lines.append(phrase(lang, "summary.deadline_exceeded", count=late))
    calls = ", ".join(f"{c.stream_id} {c.method.rsplit('/', 1)[-1]} {c.grpc_status_name or '?'}"
                      for c in summary.calls)
    lines.append(phrase(lang, "summary.calls", calls=calls))
    return lines


def compare_lines(before: RunSummary, after: RunSummary, lang: str = "en") -> list[str]:
    """Two runs side by side: frames, bytes, time, waits for WINDOW_UPDATE."""
    old, new = before.compare_values(), after.compare_values()
    lines = []
    for key in ("frames", "bytes", "duration", "stalls"):
        shown = (format_duration(old[key]), format_duration(new[key])) if key == "duration" else \
            (str(int(old[key])), str(int(new[key])))
        lines.append(phrase(lang, "compare.heading", label=phrase(lang, f"compare.{key}"), before=shown[0],
                            after=shown[1]))
    return lines


async def run_lesson(key: str, experiment: Experiment | None = None, record: str | None = None,
                     lang: str = "en") -> tuple[Exchange, RunSummary]:
    """Run one lesson with an experiment on a fresh exchange; the exchange (its session, to show)
    and the summary. The caller closes the exchange when done reading payloads back."""
    lesson = LESSONS[key].bind(experiment)
    exchange = Exchange([lesson], record=record, lang=lang)
    try:
        await exchange.start()
        await exchange.run()
        await exchange.settle()
    finally:
        await exchange.stop()
    return exchange, summarize(exchange.session, [lesson])
