"""Sequence diagrams of a gRPC call, drawn from the frames that really passed.

One list of arrows, two drawings: Mermaid for the lessons in tutorials/
(`h2inspect diagram`), and box-drawing text for the TUI's diagram pane and
`tutorial --headless`. The lessons' diagrams are regenerated from captures,
so they can never drift from what the decoder sees.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from inspector.http2 import frames as F
from inspector.model import Direction, Role, Session
from inspector.rpc.calls import GrpcCall, messages_in_frame
from inspector.tutorial.phrases import phrase

#: frame types drawn by default; WINDOW_UPDATE only when asked (the flow-control lesson)
DRAWN = {F.FrameType.HEADERS, F.FrameType.DATA, F.FrameType.RST_STREAM, F.FrameType.CONTINUATION}


@dataclass(slots=True, frozen=True)
class Arrow:
    """One frame as an arrow between the two sides."""

    frame: int  # FrameLog index
    from_client: bool
    label: str


@dataclass(slots=True, frozen=True)
class CallDiagram:
    """The arrows of one call, and what the drawing leaves out."""

    call: GrpcCall
    arrows: tuple[Arrow, ...]
    omitted_window_updates: int
    ending: str  # "closed" or "reset"


def frame_label(session: Session, index: int, lang: str = "en") -> str:
    """A short label: type, what it carries, its flags."""
    frame = session.frames[index]
    t = frame.type_code
    words = frame.type_name
    if frame.header_block >= 0 and t == F.FrameType.HEADERS:
        block = session.header_blocks[frame.header_block]
        if block.role is Role.REQUEST:
            words += " " + phrase(lang, "d.request_headers", path=block.get(":path") or "?")
        elif block.role is Role.RESPONSE:
            words += " " + phrase(lang, "d.response_headers", status=block.get(":status") or "?")
        elif block.role is Role.TRAILERS:
            key = "d.trailers_only" if block.get(":status") else "d.trailers"
            words += " " + phrase(lang, key, status=block.get("grpc-status") or "?")
    elif t == F.FrameType.DATA:
        key = "d.request" if frame.direction is Direction.CLIENT else "d.response"
        messages = messages_in_frame(session, index)
        starts = [phrase(lang, key, n=m.index + 1) for m in messages if m.frames[0] == index]
        words += " " + (", ".join(starts) if starts else phrase(lang, "d.continued") if messages else
                        phrase(lang, "d.bytes", length=frame.length) if frame.length else phrase(lang, "d.empty"))
    elif t == F.FrameType.RST_STREAM:
        words += " " + F.error_name(frame.control_value)
    elif t == F.FrameType.WINDOW_UPDATE:
        increment = frame.control_value
        key = "d.window_update" if frame.stream_id else "d.window_update_conn"
        words += " " + phrase(lang, key, increment=increment)
    if frame.flags & F.END_STREAM and t in (F.FrameType.DATA, F.FrameType.HEADERS):
        words += " [END_STREAM]"
    return words


def call_frames(session: Session, call: GrpcCall, window_updates: bool = False) -> list[int]:
    """The call's frames in order; with `window_updates`, the connection's WINDOW_UPDATE frames
    sent while the call ran are added, since they gate its DATA as much as its own."""
    indexes = list(session.stream_frames.of(call.conn_index, call.stream_id))
    if window_updates and indexes:
        log = session.frames
        indexes += [i for i in session.stream_frames.of(call.conn_index, 0)
                    if indexes[0] < i < indexes[-1] and log.type_code[i] == F.FrameType.WINDOW_UPDATE]
        indexes.sort()
    return indexes


def call_diagram(session: Session, call: GrpcCall, lang: str = "en", *,
                 window_updates: bool = False) -> CallDiagram:
    """The arrows of one call's stream, in the order the frames passed; with `window_updates`,
    the connection's WINDOW_UPDATE frames while the call ran are drawn too."""
    log = session.frames
    types, directions = log.type_code, log.direction  # columns: each access of log.x brings x up to date
    arrows = []
    omitted = 0
    for i in call_frames(session, call, window_updates):
        t = types[i]
        if t == F.FrameType.WINDOW_UPDATE and not window_updates:
            omitted += 1
            continue
        if t in DRAWN or t == F.FrameType.WINDOW_UPDATE:
            arrows.append(Arrow(i, directions[i] == Direction.CLIENT, frame_label(session, i, lang)))
    stream = session.stream(call.conn_index, call.stream_id)
    ending = "reset" if stream is not None and stream.reset_code is not None else "closed"
    return CallDiagram(call, tuple(arrows), omitted, ending)


_MERMAID_UNSAFE = re.compile(r"[#;]")


def _mermaid_text(text: str) -> str:
    # '#' starts an entity and ';' ends a statement in Mermaid: write both as entities.
    return _MERMAID_UNSAFE.sub(lambda m: f"#{ord(m.group())};", text)


def mermaid(diagram: CallDiagram, lang: str = "en") -> str:
    """The call as a Mermaid sequence diagram."""
    call = diagram.call
    lines = ["sequenceDiagram",
             f"    participant C as {phrase(lang, 'client')}",
             f"    participant S as {phrase(lang, 'server')}",
             f"    Note over C,S: {_mermaid_text(call.method)} · {phrase(lang, 'stream')} {call.stream_id}"]
    for arrow in diagram.arrows:
        lines.append(f"    {'C->>S' if arrow.from_client else 'S->>C'}: {_mermaid_text(arrow.label)}")
    end_key = "stream_reset" if diagram.ending == "reset" else "stream_closed"
    lines.append(f"    Note over C,S: {phrase(lang, end_key, stream=call.stream_id)}")
    if diagram.omitted_window_updates:
        lines.append(f"    Note over C,S: {phrase(lang, 'not_drawn', count=diagram.omitted_window_updates)}")
    return "\n".join(lines) + "\n"


def cell_width(text: str) -> int:
    """Terminal cells: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, cells: int) -> str:
    if cell_width(text) <= cells:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        w = cell_width(ch)
        if used + w > cells - 1:
            return "".join(out) + "…"
        out.append(ch)
        used += w
    return "".join(out)


def text_lines(diagram: CallDiagram, lang: str = "en", width: int = 64, current: int | None = None) -> list[str]:
    """The call drawn with box characters, `width` cells wide; the arrow of frame `current` marked ▸."""
    inner = max(20, width - 6)
    head_client, head_server = phrase(lang, "client"), phrase(lang, "server")
    gap = inner + 2 - cell_width(head_client) - cell_width(head_server)
    lines = [f"   {head_client}{' ' * max(1, gap)}{head_server}"]
    for arrow in diagram.arrows:
        label = _fit(arrow.label, inner - 5)
        fill = "─" * max(1, inner - 5 - cell_width(label))
        body = f"── {label} {fill}▶" if arrow.from_client else f"◀{fill} {label} ──"
        mark = "▸" if arrow.frame == current else " "
        lines.append(f" {mark} │{body}│")
    end_key = "stream_reset" if diagram.ending == "reset" else "stream_closed"
    lines.append(f"     {phrase(lang, end_key, stream=diagram.call.stream_id)}")
    if diagram.omitted_window_updates:
        lines.append(f"     {phrase(lang, 'not_drawn', count=diagram.omitted_window_updates)}")
    return lines
