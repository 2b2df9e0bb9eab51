"""What a teacher says about each frame of a gRPC call: what it is, why it is
there (tied to the lesson's point), and where the specification says so.

Pure functions of the model: the same notes appear in the TUI's lesson pane,
in `tutorial --headless`, and in tests, in English or Japanese.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.http2 import frames as F
from inspector.http2.frames import FRAME_HEADER_LENGTH
from inspector.model import Direction, FrameRecord, Role, Session
from inspector.rpc.calls import GrpcCall, messages_in_frame
from inspector.rpc.status import format_duration
from inspector.tutorial.exchange import OTHER_LESSONS, STYLES, Lesson, suggested_command
from inspector.tutorial.phrases import phrase

GRPC_SPEC = "gRPC over HTTP/2"


@dataclass(slots=True, frozen=True)
class Note:
    """One frame, explained."""

    what: str  # one line: what the frame is
    why: tuple[str, ...]  # sentences tying it to the lesson
    section: str  # where the specification says so
    header: bytes  # the frame's real 9-byte header, as it crossed the wire


@dataclass(slots=True, frozen=True)
class CallFacts:
    """What the notes need to know about the call as a whole."""

    call: GrpcCall
    client_end: int | None  # FrameLog index of the client's END_STREAM
    first_request_data: int | None  # FrameLog index of the client's first DATA frame
    request_frames: tuple[int, ...]  # the client's DATA frames
    responses: int
    reset: int | None  # FrameLog index of the first RST_STREAM


def call_facts(session: Session, call: GrpcCall) -> CallFacts:
    """Scan the call's stream once."""
    log = session.frames
    client_end = first_data = reset = None
    request_frames = []
    for i in session.stream_frames.of(call.conn_index, call.stream_id):
        f = log[i]
        if f.type_code == F.FrameType.RST_STREAM and reset is None:
            reset = i
        if f.direction is Direction.CLIENT and f.type_code == F.FrameType.DATA:
            request_frames.append(i)
            if first_data is None:
                first_data = i
        if f.direction is Direction.CLIENT and f.flags & F.END_STREAM and \
                f.type_code in (F.FrameType.DATA, F.FrameType.HEADERS) and client_end is None:
            client_end = i
    return CallFacts(call, client_end, first_data, tuple(request_frames), len(call.responses), reset)


def frame_header(session: Session, frame: FrameRecord) -> bytes:
    """The 9 bytes that began this frame on the wire, read back from the source."""
    return session.payloads.read(frame.conn_index, frame.direction, frame.offset, FRAME_HEADER_LENGTH)


def header_fields(lang: str, frame: FrameRecord) -> str:
    """The 9-byte header, field by field (RFC 9113 §4.1)."""
    return phrase(lang, "header_fields", length=frame.length, type=frame.type_code, type_name=frame.type_name,
                  flags=frame.flags, stream=frame.stream_id)


def explain(session: Session, frame: FrameRecord, facts: CallFacts | None, lang: str = "en") -> Note:
    """The note for one frame; `facts` describe the call on the frame's stream, if any."""
    what, why, section = _explain(session, frame, facts, lang)
    if facts is not None and facts.reset is not None and frame.index > facts.reset and \
            session.frames.direction[facts.reset] != frame.direction:
        why.append(phrase(lang, "after_reset"))
    return Note(what, tuple(why), section, frame_header(session, frame))


def _side(lang: str, direction: Direction) -> str:
    return phrase(lang, "client" if direction is Direction.CLIENT else "server")


def _messages(lang: str, session: Session, frame: FrameRecord) -> tuple[str, list]:
    messages = messages_in_frame(session, frame.index)
    key = "message" if frame.direction is Direction.CLIENT else "response_message"
    words = [phrase(lang, key, n=m.index + 1, length=m.length) for m in messages
             if m.frames[0] == frame.index]
    if not words and messages:
        words = [phrase(lang, "continued")]
    return ", ".join(words) or phrase(lang, "d.empty"), messages


def _explain(session: Session, frame: FrameRecord, facts: CallFacts | None,
             lang: str) -> tuple[str, list[str], str]:
    t = frame.type_code
    side = _side(lang, frame.direction)
    if frame.header_block >= 0 and t == F.FrameType.HEADERS:
        return _headers(session, frame, facts, lang)
    if t == F.FrameType.DATA:
        return _data(session, frame, facts, lang)
    if t == F.FrameType.RST_STREAM:
        code = frame.control_value
        error = F.error_name(code)
        if frame.direction is Direction.SERVER:
            why = phrase(lang, "rst.no_error" if code == 0 else "rst.server", error=error)
        elif facts is not None and facts.call.grpc_status == 4:
            why = phrase(lang, "rst.deadline")
        else:
            why = phrase(lang, "rst.cancel")
        return phrase(lang, "rst", error=error), [why], f"RFC 9113 §6.4, §8.7; {GRPC_SPEC}: Errors"
    if t == F.FrameType.WINDOW_UPDATE:
        increment = frame.control_value
        key = "window_update" if frame.stream_id else "window_update.conn"
        reasons = [phrase(lang, "window_update.why")]
        if frame.stream_id:
            reasons.append(_windows(lang, frame, frame.direction.peer))
        return phrase(lang, key, increment=increment, stream=frame.stream_id), reasons, "RFC 9113 §5.2, §6.9"
    if t == F.FrameType.SETTINGS:
        key = "settings.ack" if frame.flags & F.ACK else "settings"
        return phrase(lang, key, side=side), [phrase(lang, "settings.why")], "RFC 9113 §6.5"
    if t == F.FrameType.PING:
        key = "ping.ack" if frame.flags & F.ACK else "ping"
        return phrase(lang, key, side=side), [phrase(lang, "ping.why")], "RFC 9113 §6.7"
    if t == F.FrameType.GOAWAY:
        return phrase(lang, "goaway", side=side), [phrase(lang, "goaway.why")], "RFC 9113 §6.8"
    purpose, section = F.frame_purpose(t)
    return phrase(lang, "other", type_name=frame.type_name), [phrase(lang, "other.why", purpose=purpose)], section


def _windows(lang: str, frame: FrameRecord, sender: Direction) -> str:
    """The sender's flow-control windows right after this frame."""
    client = sender is Direction.CLIENT
    stream_window = frame.stream_window_client if client else frame.stream_window_server
    conn_window = frame.conn_window_client if client else frame.conn_window_server
    return phrase(lang, "window.after", side=_side(lang, sender), stream_window=stream_window,
                  conn_window=conn_window)


def _exhausted(lang: str, frame: FrameRecord) -> list[str]:
    client = frame.direction is Direction.CLIENT
    stream_window = frame.stream_window_client if client else frame.stream_window_server
    conn_window = frame.conn_window_client if client else frame.conn_window_server
    return [phrase(lang, "window.exhausted", side=_side(lang, frame.direction))] \
        if frame.length and min(stream_window, conn_window) <= 0 else []


def _headers(session: Session, frame: FrameRecord, facts: CallFacts | None,
             lang: str) -> tuple[str, list[str], str]:
    block = session.header_blocks[frame.header_block]
    encoding = block.get("grpc-encoding")
    compressing = [phrase(lang, "headers.encoding", encoding=encoding)] if encoding and encoding != "identity" \
        else []
    if block.role is Role.REQUEST:
        why = [phrase(lang, "request_headers.why")]
        timeout = block.get("grpc-timeout")
        if timeout and facts is not None and facts.call.timeout is not None:
            why.append(phrase(lang, "request_headers.timeout", timeout=f"{timeout} "
                              f"({format_duration(facts.call.timeout)})"))
        why += compressing
        return (phrase(lang, "request_headers", path=block.get(":path") or "?", stream=frame.stream_id), why,
                f"RFC 9113 §8.3.1, §5.1.1; {GRPC_SPEC}: Requests")
    if block.role is Role.RESPONSE:
        why = [phrase(lang, "response_headers.why")]
        if facts is not None and (facts.first_request_data is None or frame.index < facts.first_request_data):
            why.insert(0, phrase(lang, "response_headers.early"))
        why += compressing
        return (phrase(lang, "response_headers", status=block.get(":status") or "?"), why,
                f"RFC 9113 §8.3.2; {GRPC_SPEC}: Responses")
    if block.role is Role.TRAILERS:
        status = block.get("grpc-status") or "?"
        name = facts.call.grpc_status_name if facts is not None and facts.call.grpc_status_name else "?"
        text = facts.call.grpc_message if facts is not None else None
        message = phrase(lang, "grpc_message", text=text) if text else ""
        key = "trailers_only" if block.get(":status") else "trailers"
        return (phrase(lang, key, status=status, status_name=name), [phrase(lang, key + ".why", message=message)],
                f"RFC 9113 §8.1; {GRPC_SPEC}: Responses (Trailers, Trailers-Only)")
    purpose, section = F.frame_purpose(frame.type_code)
    return phrase(lang, "other", type_name=frame.type_name), [phrase(lang, "other.why", purpose=purpose)], section


def _message_notes(lang: str, session: Session, frame: FrameRecord, messages: list) -> list[str]:
    """What the experiments change in a message that starts here: compressed, split across frames."""
    notes = []
    connection = session.connection(frame.conn_index)
    receiver = (connection.settings_server if frame.direction is Direction.CLIENT else connection.settings_client) \
        if connection is not None else {}
    for m in messages:
        if m.frames[0] != frame.index:
            continue
        if m.compressed:
            notes.append(phrase(lang, "data.compressed", n=m.index + 1, encoding=m.encoding or "?",
                                length=m.length))
        elif m.encoding and m.encoding != "identity":
            notes.append(phrase(lang, "data.not_compressed", n=m.index + 1, encoding=m.encoding))
        if len(m.frames) > 1:
            notes.append(phrase(lang, "data.split", n=m.index + 1, length=m.length, frames=len(m.frames),
                                max_frame=receiver.get(F.Setting.MAX_FRAME_SIZE, 16_384)))
    return notes


def _data(session: Session, frame: FrameRecord, facts: CallFacts | None, lang: str) -> tuple[str, list[str], str]:
    words, messages = _messages(lang, session, frame)
    extra = _message_notes(lang, session, frame, messages)
    section = f"RFC 9113 §6.1; {GRPC_SPEC}: Length-Prefixed-Message"
    if frame.direction is Direction.CLIENT:
        why = [phrase(lang, "data.prefix")] if messages else []
        if frame.flags & F.END_STREAM:
            section = f"RFC 9113 §6.1, §5.1 (half-closed); {GRPC_SPEC}: Length-Prefixed-Message"
            if not frame.length:
                why = [phrase(lang, "end.empty")]
            elif facts is not None and len(facts.call.requests) == 1:
                why.append(phrase(lang, "end.only"))
            else:
                why.append(phrase(lang, "end.last"))
        else:
            why.append(phrase(lang, "end.more"))
        if frame.length:
            why.append(_windows(lang, frame, frame.direction))
        return phrase(lang, "request_data", messages=words), why + extra + _exhausted(lang, frame), section
    why = []
    if facts is not None and messages:
        first = messages[0]
        n, total = first.index + 1, len(facts.call.responses)
        style = facts.call.style
        if style == "bidi-streaming":
            before_end = facts.client_end is None or first.frames[0] < facts.client_end
            why.append(phrase(lang, "response.pingpong" if before_end else "response.after_all", n=n))
        elif total > 1:
            why.append(phrase(lang, "response.stream", n=n, total=total))
        else:
            why.append(phrase(lang, "response.single"))
    if frame.length:
        why.append(_windows(lang, frame, frame.direction))
    return phrase(lang, "response_data", messages=words), why + extra + _exhausted(lang, frame), section


def style_name(lang: str, style: str) -> str:
    """A call style in the learner's language."""
    key = f"style.{style}"
    return phrase(lang, key) if key in _STYLE_KEYS else phrase(lang, "style.unknown")


_STYLE_KEYS = {f"style.{s}" for s in STYLES}


def what_next(lang: str, lessons: list[Lesson], headless: bool = True) -> str:
    """What to try after these lessons: the suggested experiment of the last one, and the
    lessons not run yet."""
    ran = {lesson.key for lesson in lessons}
    last = lessons[-1].key if lessons else "unary"
    experiment = phrase(lang, "next.experiment", command=suggested_command(last, headless),
                        what=phrase(lang, f"experiment.suggest.{last}"))
    others = [f"h2inspect tutorial {key}" for key in OTHER_LESSONS if key not in ran]
    if not ran >= set(STYLES):
        others.insert(0, "h2inspect tutorial")  # the four styles
    if not others:
        return experiment
    commands = ", ".join(others)
    return phrase(lang, "next.join", first=experiment, second=phrase(lang, "next.lessons", commands=commands))


def end_of_call(lang: str, number: int, total: int, lessons: list[Lesson], headless: bool = False) -> str:
    """What the pane says on a call's last frame: the next call is one key away, or, on the last
    call, that it is the last and what to try next. `number` counts from 1."""
    if number < total:
        return phrase(lang, "end_of_call")
    return phrase(lang, "end_of_last_call", next=what_next(lang, lessons, headless))


def closing(lang: str, lessons: list[Lesson], headless: bool = True) -> str:
    """The last words of a run: what it showed, and what to try next."""
    keys = [lesson.key for lesson in lessons]
    shown = phrase(lang, "closing.styles") if keys == list(STYLES) else \
        ", ".join(phrase(lang, f"lesson.{key}") for key in keys)
    return phrase(lang, "closing", lessons=shown, next=what_next(lang, lessons, headless))
