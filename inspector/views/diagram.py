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
    return FrameLabels(session, lang)(index)


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


class FrameLabels:
    """`frame_label` for many frames of one session (a command that draws every call makes one):
    the frame log's columns are read once, and a header block's words once per (header tuple,
    role), since identical blocks share a tuple. Made for a session whose frames are all in."""

    def __init__(self, session: Session, lang: str) -> None:
        log = session.frames
        self.session, self.lang = session, lang
        self.types, self.directions, self.flags = log.type_code, log.direction, log.flags
        self.blocks, self.lengths, self.values = log.header_block, log.length, log.control_value
        self.block_words: dict[tuple[int, int], tuple[tuple, str]] = {}  # the tuple kept: its id stays its own
        self.numbered: dict[tuple[str, int], str] = {}  # "request #1", ...

    def _numbered(self, key: str, n: int) -> str:
        text = self.numbered.get((key, n))
        if text is None:
            if len(self.numbered) >= 4096:
                self.numbered.clear()
            text = self.numbered[(key, n)] = phrase(self.lang, key, n=n)
        return text

    def _block_words(self, hb: int) -> str:
        blocks = self.session.header_blocks
        headers, role = blocks.headers[hb], blocks.role[hb]
        known = self.block_words.get((id(headers), role))
        if known is not None and known[0] is headers:
            return known[1]
        lang = self.lang
        if role == Role.REQUEST:
            words = " " + phrase(lang, "d.request_headers", path=_first(headers, ":path") or "?")
        elif role == Role.RESPONSE:
            words = " " + phrase(lang, "d.response_headers", status=_first(headers, ":status") or "?")
        elif role == Role.TRAILERS:
            key = "d.trailers_only" if _first(headers, ":status") else "d.trailers"
            words = " " + phrase(lang, key, status=_first(headers, "grpc-status") or "?")
        else:
            words = ""
        if len(self.block_words) >= 4096:
            self.block_words.clear()
        self.block_words[(id(headers), role)] = (headers, words)
        return words

    def __call__(self, index: int) -> str:
        t, flags, lang = self.types[index], self.flags[index], self.lang
        words = F.type_name(t)
        if t == F.FrameType.HEADERS:
            hb = self.blocks[index]
            if hb >= 0:
                words += self._block_words(hb)
        elif t == F.FrameType.DATA:
            key = "d.request" if self.directions[index] == Direction.CLIENT else "d.response"
            messages = messages_in_frame(self.session, index)
            starts = [self._numbered(key, m.index + 1) for m in messages if m.frames[0] == index]
            length = self.lengths[index]
            words += " " + (", ".join(starts) if starts else phrase(lang, "d.continued") if messages else
                            phrase(lang, "d.bytes", length=length) if length else phrase(lang, "d.empty"))
        elif t == F.FrameType.RST_STREAM:
            words += " " + F.error_name(self.values[index])
        elif t == F.FrameType.WINDOW_UPDATE:
            key = "d.window_update" if self.session.frames.stream_id[index] else "d.window_update_conn"
            words += " " + phrase(lang, key, increment=self.values[index])
        if flags & F.END_STREAM and t in (F.FrameType.DATA, F.FrameType.HEADERS):
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
                 window_updates: bool = False, labels: FrameLabels | None = None) -> CallDiagram:
    """The arrows of one call's stream, in the order the frames passed; with `window_updates`,
    the connection's WINDOW_UPDATE frames while the call ran are drawn too. `labels`: one
    FrameLabels of the session in `lang`, shared by the diagrams of many calls."""
    label = labels if labels is not None else FrameLabels(session, lang)
    types, directions = label.types, label.directions
    arrows = []
    omitted = 0
    for i in call_frames(session, call, window_updates):
        t = types[i]
        if t == F.FrameType.WINDOW_UPDATE and not window_updates:
            omitted += 1
            continue
        if t in DRAWN or t == F.FrameType.WINDOW_UPDATE:
            arrows.append(Arrow(i, directions[i] == Direction.CLIENT, label(i)))
    stream = session.stream(call.conn_index, call.stream_id)
    ending = "reset" if stream is not None and stream.reset_code is not None else "closed"
    return CallDiagram(call, tuple(arrows), omitted, ending)


_MERMAID_UNSAFE = re.compile(r"[#;]")


def _mermaid_text(text: str) -> str:
    # '#' starts an entity and ';' ends a statement in Mermaid: write both as entities.
    if "#" not in text and ";" not in text:
        return text
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
