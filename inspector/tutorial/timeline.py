"""The annotated timeline as text: what `tutorial --headless` prints.

For each lesson: its point; for each call: every frame of its stream in
order, with the 9 header bytes as they crossed the wire, what the frame is,
why it is there, and the specification section; then the call's sequence
diagram. Frames of stream 0 before the first call are shown once, as the
connection they belong to.
"""

from __future__ import annotations

from inspector.http2 import frames as F
from inspector.model import Direction, FrameRecord, Session
from inspector.rpc.calls import GrpcCall
from inspector.tutorial.exchange import Lesson, LessonCall
from inspector.tutorial.experiment import summarize, summary_lines
from inspector.tutorial.notes import CallFacts, call_facts, closing, explain, header_fields, style_name
from inspector.tutorial.phrases import phrase
from inspector.views.diagram import call_diagram, call_frames, text_lines
from inspector.views.hpack import DynamicTables, block_lines

RULE = "─" * 78


def lane(lang: str, direction: Direction) -> str:
    """client ──▶ / ◀── server, in the learner's language."""
    return f"{phrase(lang, 'client')} ──▶" if direction is Direction.CLIENT else f"◀── {phrase(lang, 'server')}"


def frame_block(session: Session, frame: FrameRecord, step: int, origin: float, facts: CallFacts | None,
                lang: str, said: set[str], brief: bool = False) -> list[str]:
    """One frame: the step line, its header bytes, what it is, why (unless already `said`), and where
    the spec says so; `brief` stops after what it is."""
    note = explain(session, frame, facts, lang)
    flags = " ".join(f"[{name}]" for name in frame.flag_names) or "-"
    lines = [f"  {phrase(lang, 'step')} {step:>2}  {(frame.time - origin) * 1000:+9.3f} ms  "
             f"{lane(lang, frame.direction)}  {frame.type_name:<13} {phrase(lang, 'stream')} {frame.stream_id}  "
             f"{phrase(lang, 'flags')} {flags}  {frame.length} B",
             f"      {phrase(lang, 'bytes')}: {note.header.hex(' ')}  = {header_fields(lang, frame)}",
             f"      {note.what}"]
    if brief:
        return lines
    lines += [f"      · {sentence}" for sentence in note.why if sentence not in said]
    said.update(note.why)
    lines.append(f"      {phrase(lang, 'see')}: {note.section}")
    return lines


def connection_preamble(session: Session, first_call: GrpcCall | None, lang: str) -> list[str]:
    """Stream-0 frames before the first call: the connection being set up."""
    log = session.frames
    end = session.stream_frames.of(first_call.conn_index, first_call.stream_id)[0] if first_call else len(log)
    frames = [log[i] for i in range(end) if log.stream_id[i] == 0]
    if not frames:
        return []
    origin = frames[0].time
    lines = [RULE, phrase(lang, "preamble"), ""]
    said: set[str] = set()
    for n, frame in enumerate(frames, 1):
        lines += frame_block(session, frame, n, origin, None, lang, said)
    return lines + [""]


def call_line(lang: str, call: GrpcCall, number: int) -> str:
    """`call N: method on HTTP/2 stream S, style: ...`"""
    return phrase(lang, "call_line", number=number, method=call.method, stream=call.stream_id,
                  style=style_name(lang, call.style), requests=len(call.requests), responses=len(call.responses),
                  status=f"{call.grpc_status} ({call.grpc_status_name})")


def call_timeline(session: Session, lesson: Lesson, made: LessonCall, call: GrpcCall, number: int,
                  lang: str, tables: DynamicTables | None = None) -> list[str]:
    """One call: a header line, every frame of its stream explained, then its diagram. With
    `tables` (the HPACK lesson), each header block is shown field by field with the table after it."""
    facts = call_facts(session, call)
    indexes = call_frames(session, call, lesson.window_updates)
    origin = session.frames.time[indexes[0]] if len(indexes) else 0.0
    lines = [RULE]
    if made.caption:
        lines.append(phrase(lang, made.caption))
    lines.append(call_line(lang, call, number))
    lines.append("")
    said: set[str] = set()
    for step, i in enumerate(indexes, 1):
        frame = session.frames[i]
        lines += frame_block(session, frame, step, origin, facts, lang, said)
        if tables is not None and frame.header_block >= 0:
            lines += block_lines(session, frame.header_block, lang, indent="        ", tables=tables)
    lines += ["", f"  {phrase(lang, 'diagram')}:"]
    diagram = call_diagram(session, call, lang, window_updates=lesson.window_updates)
    lines += ["  " + line for line in text_lines(diagram, lang, width=72)]
    return lines + [""]


def interleaving(session: Session, calls: list[GrpcCall]) -> tuple[list[int], bool]:
    """The stream of each non-empty DATA frame of these calls, runs collapsed, in wire order;
    and whether some stream's DATA came in two runs with another stream's between them."""
    log = session.frames
    streams = {(c.conn_index, c.stream_id) for c in calls}
    indexes = sorted(i for key in streams for i in session.stream_frames.of(*key)
                     if log.type_code[i] == F.FrameType.DATA and log.length[i])
    runs: list[int] = []
    for i in indexes:
        sid = log.stream_id[i]
        if not runs or runs[-1] != sid:
            runs.append(sid)
    return runs, len(runs) > len(set(runs))


def connection_timeline(session: Session, lesson: Lesson, calls: list[tuple[Lesson, LessonCall, GrpcCall | None]],
                        first_number: int, lang: str) -> list[str]:
    """The multiplexing lesson: every frame of its calls on one time axis, then each stream in a
    line, the stream ids, and whether their DATA interleaved."""
    found = [(made, call) for _, made, call in calls if call is not None]
    log = session.frames
    indexes = sorted(i for _, call in found for i in session.stream_frames.of(call.conn_index, call.stream_id))
    lines = [RULE, phrase(lang, "mux.heading"), ""]
    origin = log.time[indexes[0]] if indexes else 0.0
    facts = {call.stream_id: call_facts(session, call) for _, call in found}
    said: set[str] = set()
    for step, i in enumerate(indexes, 1):
        frame = log[i]
        lines += frame_block(session, frame, step, origin, facts.get(frame.stream_id), lang, said, brief=True)
    lines.append("")
    for number, (made, call) in enumerate(found, first_number):
        lines.append(call_line(lang, call, number))
        data = sum(log.length[i] for i in session.stream_frames.of(call.conn_index, call.stream_id)
                   if log.type_code[i] == F.FrameType.DATA)
        lines.append("  " + phrase(lang, "mux.stream_line", stream=call.stream_id, caption=phrase(lang, made.caption),
                                   method=call.method, style=style_name(lang, call.style),
                                   frames=len(session.stream_frames.of(call.conn_index, call.stream_id)), data=data,
                                   status=f"{call.grpc_status} ({call.grpc_status_name})"))
    lines.append("")
    ids = [call.stream_id for _, call in sorted(found, key=lambda mc: mc[1].stream_id)]
    lines.append(phrase(lang, "mux.ids", ids=", ".join(map(str, ids))))
    runs, mixed = interleaving(session, [call for _, call in found])
    if mixed:
        lines.append(phrase(lang, "mux.interleaved", streams=", ".join(str(s) for s in sorted(set(runs))),
                            pattern=" ".join(map(str, runs))))
    else:
        lines.append(phrase(lang, "mux.not_interleaved"))
    return lines + [""]


def lesson_heading(lang: str, lesson: Lesson) -> list[str]:
    """The lesson's title, its point, and the experiment it runs with."""
    experiment = lesson.experiment.options()
    return ["═" * 78, f"{phrase(lang, 'lesson')}: {phrase(lang, 'lesson.' + lesson.key)}",
            f"{phrase(lang, 'point')}: {phrase(lang, 'lesson.' + lesson.key + '.point')}",
            phrase(lang, "experiment", options=" ".join(experiment)) if experiment
            else phrase(lang, "experiment.none"), ""]


def lesson_ending(session: Session, lesson: Lesson, lang: str) -> list[str]:
    """After a lesson's calls: what really crossed the connection."""
    summary = summarize(session, [lesson])
    lines = [RULE] + summary_lines(summary, lang)
    if lesson.experiment.messages is not None and summary.calls and all(c.style == "unary" for c in summary.calls):
        lines.append(phrase(lang, "summary.unary_messages"))
    return lines + [""]


def annotated_timeline(session: Session, calls: list[tuple[Lesson, LessonCall, GrpcCall | None]],
                       lang: str = "en") -> list[str]:
    """The whole exchange, lesson by lesson, with what to try next at the end."""
    lines: list[str] = []
    first = next((call for _, _, call in calls if call is not None), None)
    lines += connection_preamble(session, first, lang)
    lessons: list[Lesson] = []
    for lesson in dict.fromkeys(lesson for lesson, _, _ in calls):
        lessons.append(lesson)
        mine = [(n, entry) for n, entry in enumerate(calls, 1) if entry[0] is lesson]
        lines += lesson_heading(lang, lesson)
        if lesson.view == "connection":
            lines += connection_timeline(session, lesson, [entry for _, entry in mine], mine[0][0] if mine else 1,
                                         lang)
        else:
            tables = DynamicTables(session) if lesson.view == "hpack" else None
            for number, (_, made, call) in mine:
                if call is None:
                    lines += [RULE, phrase(lang, "failed", error=phrase(lang, "never_appeared", number=number)), ""]
                    continue
                lines += call_timeline(session, lesson, made, call, number, lang, tables)
        lines += lesson_ending(session, lesson, lang)
    lines += ["═" * 78, closing(lang, lessons)]
    return lines
