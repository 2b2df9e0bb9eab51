"""The annotated timeline as text: what `tutorial --headless` prints.

For each lesson: its point; for each call: every frame of its stream in
order, with the 9 header bytes as they crossed the wire, what the frame is,
why it is there, and the specification section; then the call's sequence
diagram. Frames of stream 0 before the first call are shown once, as the
connection they belong to.
"""

from __future__ import annotations

from inspector.model import Direction, FrameRecord, Session
from inspector.rpc.calls import GrpcCall
from inspector.tutorial.exchange import Lesson, LessonCall
from inspector.tutorial.notes import CallFacts, call_facts, explain, header_fields
from inspector.tutorial.phrases import phrase
from inspector.views.diagram import call_diagram, call_frames, text_lines

RULE = "─" * 78


def lane(lang: str, direction: Direction) -> str:
    """client ──▶ / ◀── server, in the learner's language."""
    return f"{phrase(lang, 'client')} ──▶" if direction is Direction.CLIENT else f"◀── {phrase(lang, 'server')}"


def frame_block(session: Session, frame: FrameRecord, step: int, origin: float, facts: CallFacts | None,
                lang: str, said: set[str]) -> list[str]:
    """One frame: the step line, its header bytes, what it is, why (unless already `said`), and where
    the spec says so."""
    note = explain(session, frame, facts, lang)
    flags = " ".join(f"[{name}]" for name in frame.flag_names) or "-"
    lines = [f"  {phrase(lang, 'step')} {step:>2}  {(frame.time - origin) * 1000:+9.3f} ms  "
             f"{lane(lang, frame.direction)}  {frame.type_name:<13} {phrase(lang, 'stream')} {frame.stream_id}  "
             f"flags {flags}  {frame.length} B",
             f"      {phrase(lang, 'bytes')}: {note.header.hex(' ')}  = {header_fields(lang, frame)}",
             f"      {note.what}"]
    lines += [f"      · {sentence}" for sentence in note.why if sentence not in said]
    said.update(note.why)
    lines.append(f"      {phrase(lang, 'see')}: {note.section}")
    return lines


def connection_preamble(session: Session, first_call: GrpcCall | None, lang: str) -> list[str]:
    """Stream-0 frames before the first call: the connection being set up."""
    log = session.frames
    end = session.stream_frames.of(first_call.conn, first_call.stream_id)[0] if first_call else len(log)
    frames = [log[i] for i in range(end) if log.stream_id[i] == 0]
    if not frames:
        return []
    origin = frames[0].time
    lines = [RULE, phrase(lang, "preamble"), ""]
    said: set[str] = set()
    for n, frame in enumerate(frames, 1):
        lines += frame_block(session, frame, n, origin, None, lang, said)
    return lines + [""]


def call_timeline(session: Session, lesson: Lesson, made: LessonCall, call: GrpcCall, number: int,
                  lang: str) -> list[str]:
    """One call: a header line, every frame of its stream explained, then its diagram."""
    facts = call_facts(session, call)
    indexes = call_frames(session, call, lesson.window_updates)
    origin = session.frames.time[indexes[0]] if len(indexes) else 0.0
    lines = [RULE]
    if made.caption:
        lines.append(phrase(lang, made.caption))
    lines.append(phrase(lang, "call_line", number=number, method=call.method, stream=call.stream_id,
                        style=call.style, requests=len(call.requests), responses=len(call.responses),
                        status=f"{call.grpc_status} ({call.grpc_status_name})"))
    lines.append("")
    said: set[str] = set()
    for step, i in enumerate(indexes, 1):
        lines += frame_block(session, session.frames[i], step, origin, facts, lang, said)
    lines += ["", f"  {phrase(lang, 'diagram')}:"]
    diagram = call_diagram(session, call, lang, window_updates=lesson.window_updates)
    lines += ["  " + line for line in text_lines(diagram, lang, width=72)]
    return lines + [""]


def annotated_timeline(session: Session, calls: list[tuple[Lesson, LessonCall, GrpcCall | None]],
                       lang: str = "en") -> list[str]:
    """The whole exchange, lesson by lesson."""
    lines: list[str] = []
    first = next((call for _, _, call in calls if call is not None), None)
    lines += connection_preamble(session, first, lang)
    shown: str | None = None
    for number, (lesson, made, call) in enumerate(calls, 1):
        if lesson.key != shown:
            shown = lesson.key
            lines += ["═" * 78, f"{phrase(lang, 'lesson')}: {phrase(lang, 'lesson.' + lesson.key)}",
                      f"{phrase(lang, 'point')}: {phrase(lang, 'lesson.' + lesson.key + '.point')}", ""]
        if call is None:
            lines += [RULE, phrase(lang, "failed", error=f"call {number} never appeared on the wire"), ""]
            continue
        lines += call_timeline(session, lesson, made, call, number, lang)
    return lines
