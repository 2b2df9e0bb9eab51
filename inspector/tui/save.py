"""Saving what the TUI shows: a stream, a connection or the whole session, as
pcapng (tshark, Wireshark and `h2inspect open` read it), JSON lines (the
`dump --format jsonl` contract) or a Mermaid sequence diagram.

A connection or a session is written frame for frame as it passed, after the
client preface. A stream alone is written with its connection's first
SETTINGS of each side and its own frames; its header blocks are encoded
again with HPACK from their decoded fields (the original blocks may point
into a dynamic table that other streams filled), so the file decodes on its
own. Every other frame is written byte for byte.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import hpack

from inspector.http2 import frames as F
from inspector.model import Direction, Role, Session
from inspector.proxy.recorder import PcapngRecorder, RecordedFlow
from inspector.rpc.calls import call_for_stream
from inspector.tui.describe import frame_cells
from inspector.tui.said import os_reason, said
from inspector.views.diagram import call_diagram, mermaid
from inspector.views.jsonl import JsonlFrames

FORMATS = {".pcapng": "pcapng", ".jsonl": "jsonl", ".mmd": "mermaid", ".mermaid": "mermaid"}


class SaveError(ValueError):
    """The file could not be written: why, in one line (`words_in` says it in any language)."""

    def __init__(self, key: str, path: str, code: int | None = None, strerror: str = "") -> None:
        self.key, self.path, self.code, self.strerror = key, path, code, strerror
        super().__init__(self.words_in("en"))

    @classmethod
    def of(cls, path: str, exc: OSError) -> SaveError:
        return cls("save.failed", path, exc.errno, exc.strerror or str(exc))

    def words_in(self, lang: str) -> str:
        if self.key == "save.failed":
            return said(lang, "save.failed", path=self.path, reason=os_reason(lang, self.code, self.strerror))
        return said(lang, self.key, path=self.path)


@dataclass(slots=True, frozen=True)
class Saved:
    """What `save` wrote: the scope, the file, its format, how many frames and packets."""

    scope: Scope
    path: str
    format: str
    frames: int
    packets: int = 0

    def words_in(self, lang: str) -> str:
        return said(lang, f"saved.{self.format}", what=self.scope.words(lang), path=self.path, frames=self.frames,
                    packets=self.packets)


@dataclass(slots=True, frozen=True)
class Scope:
    """What to save: one stream, one connection (stream_id None), or the session (conn_index None)."""

    conn_index: int | None
    stream_id: int | None

    def words(self, lang: str = "en") -> str:
        if self.conn_index is None:
            return said(lang, "scope.session")
        if self.stream_id is None:
            return said(lang, "scope.connection", conn_index=self.conn_index)
        return said(lang, "scope.stream", stream=self.stream_id, conn_index=self.conn_index)

    def file_name(self, extension: str = ".pcapng") -> str:
        if self.conn_index is None:
            return f"h2inspect-session{extension}"
        if self.stream_id is None:
            return f"h2inspect-conn{self.conn_index}{extension}"
        return f"h2inspect-conn{self.conn_index}-stream{self.stream_id}{extension}"


def format_of(path: str) -> str:
    """pcapng, jsonl or mermaid, from the file's extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise SaveError("save.ending", path)
    return FORMATS[ext]


def frames_of(session: Session, scope: Scope) -> list[int]:
    """FrameLog indexes in scope, in capture order."""
    if scope.conn_index is None:
        return list(range(session.frames.base, len(session.frames)))
    if scope.stream_id is None:
        conns = session.frames.column("conn_index")
        return [i for i in range(session.frames.base, len(conns)) if conns[i] == scope.conn_index]
    return list(session.stream_frames.of(scope.conn_index, scope.stream_id))


def save(session: Session, scope: Scope, path: str) -> Saved:
    """Write `scope` to `path` in the format its extension names; returns what was written."""
    fmt = format_of(path)
    frames = frames_of(session, scope)
    try:
        if fmt == "pcapng":
            packets = write_pcapng(session, scope, frames, path)
            return Saved(scope, path, fmt, len(frames), packets)
        with open(path, "w", encoding="utf-8") as out:
            if fmt == "jsonl":
                out.writelines(jsonl(session, frames))
            else:
                out.write(mermaid_text(session, scope, frames))
            return Saved(scope, path, fmt, len(frames))
    except OSError as exc:
        raise SaveError.of(path, exc) from None


def jsonl(session: Session, frames: list[int]) -> Iterator[str]:
    """The `dump --format jsonl` lines of these frames."""
    view = JsonlFrames(session)
    for start, end in _runs(frames):
        yield from view.lines(start, end)


def _runs(frames: list[int]) -> Iterator[tuple[int, int]]:
    """Consecutive indexes as [start, end) ranges."""
    if not frames:
        return
    start = prev = frames[0]
    for i in frames[1:]:
        if i != prev + 1:
            yield start, prev + 1
            start = i
        prev = i
    yield start, prev + 1


def mermaid_text(session: Session, scope: Scope, frames: list[int]) -> str:
    """A gRPC call's own diagram for a call's stream; otherwise one arrow per frame."""
    if scope.conn_index is not None and scope.stream_id is not None:
        call = call_for_stream(session, scope.conn_index, scope.stream_id)
        if call is not None:
            return mermaid(call_diagram(session, call))
    lines = ["sequenceDiagram", "    participant C as client", "    participant S as server"]
    conn_index = None
    log = session.frames
    for i in frames:
        frame = log[i]
        if frame.conn_index != conn_index:
            conn_index = frame.conn_index
            c = session.connection(conn_index)
            lines.append(f"    Note over C,S: connection {conn_index}" + (f" {c.client} → {c.server}" if c else ""))
        label = _mermaid_safe(frame_cells(session, frame).arrow)
        lines.append(f"    {'C->>S' if frame.direction is Direction.CLIENT else 'S->>C'}: "
                     f"stream {frame.stream_id} {label}")
    return "\n".join(lines) + "\n"


def _mermaid_safe(text: str) -> str:
    return "".join(f"#{ord(ch)};" if ch in "#;" else ch for ch in text)


def _frame_bytes(type_code: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return (len(payload) << 8 | type_code).to_bytes(4, "big") + bytes([flags]) + \
        (stream_id & 0x7FFF_FFFF).to_bytes(4, "big") + payload


def _address(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        return host, int(port)
    except ValueError:
        return host, default_port


def write_pcapng(session: Session, scope: Scope, frames: list[int], path: str) -> int:
    """Frames as synthesised TCP packets, one TCP connection per HTTP/2 connection; returns the packet count."""
    try:
        recorder = PcapngRecorder.open(path)
    except OSError as exc:
        raise SaveError.of(path, exc) from None
    log = session.frames
    flows: dict[int, RecordedFlow] = {}
    encoders: dict[tuple[int, int], hpack.Encoder] = {}
    single = scope.stream_id is not None
    if single and frames:
        # The connection's first SETTINGS of each side, so a reader knows its limits.
        assert scope.conn_index is not None
        settings = [i for i in session.stream_frames.of(scope.conn_index, 0)
                    if log.type_code[i] == F.FrameType.SETTINGS and not log.flags[i] & F.ACK]
        firsts = {log.direction[i]: i for i in reversed(settings)}
        frames = sorted(set(frames) | set(firsts.values()))
    pending: list[bytes] = []
    pending_key: tuple[int, int, int] | None = None
    pending_time = 0.0

    def flush() -> None:
        nonlocal pending, pending_key
        if pending and pending_key is not None:
            recorder.data(flows[pending_key[0]], pending_key[1] == Direction.CLIENT, b"".join(pending), pending_time)
        pending, pending_key = [], None

    for i in frames:
        frame = log[i]
        flow = flows.get(frame.conn_index)
        if flow is None:
            flush()
            conn = session.connection(frame.conn_index)
            client = _address(conn.client if conn else "", 40000 + frame.conn_index)
            server = _address(conn.server if conn else "", 80)
            flow = flows[frame.conn_index] = RecordedFlow(client, server, (1000, 5000))
            recorder.handshake(flow, frame.time)
            recorder.data(flow, True, F.CLIENT_PREFACE, frame.time)
        if single and frame.type_code in (F.FrameType.HEADERS, F.FrameType.PUSH_PROMISE, F.FrameType.CONTINUATION):
            data = _reencoded(session, frame.index, encoders)
            if data is None:
                continue
        else:
            payload = session.frame_payload(frame)
            data = _frame_bytes(frame.type_code, frame.flags, frame.stream_id, payload)
        key = (frame.conn_index, int(frame.direction), frame.packet)
        if key != pending_key:
            flush()
            pending_key, pending_time = key, frame.time
        pending.append(data)
    flush()
    count = recorder.count
    recorder.close()
    return count


def _reencoded(session: Session, index: int, encoders: dict[tuple[int, int], hpack.Encoder]) -> bytes | None:
    """The header block completed by frame `index`, as one HEADERS (or PUSH_PROMISE) frame encoded
    afresh; None for a frame that does not complete a block (its bytes are in the one that does)."""
    frame = session.frames[index]
    if frame.header_block < 0:
        return None
    block = session.header_blocks[frame.header_block]
    encoder = encoders.setdefault((frame.conn_index, int(frame.direction)), hpack.Encoder())
    fragment = encoder.encode(list(block.headers))
    if block.role is Role.PUSH_REQUEST:
        payload = block.stream_id.to_bytes(4, "big") + fragment
        return _frame_bytes(F.FrameType.PUSH_PROMISE, F.END_HEADERS, frame.stream_id, payload)
    flags = F.END_HEADERS | (F.END_STREAM if block.end_stream else 0)
    return _frame_bytes(F.FrameType.HEADERS, flags, frame.stream_id, fragment)
