"""`dump --format text`: one line per frame like `nghttp -v`, fields and headers under it."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.http2 import frames as F
from inspector.http2.payloads import parse_fields
from inspector.model import Direction, Role, Session
from inspector.views.findings import FindingsByFrame, text_line

INDENT = " " * 14
BLOCK_TEXT_CACHE = 4096  # header blocks' text kept for reuse (identical blocks share a decoded tuple)
# Frame types whose fields are worth a line in the text dump (read back from the capture).
_SHOW_FIELDS = frozenset({F.FrameType.SETTINGS, F.FrameType.RST_STREAM, F.FrameType.GOAWAY,
                          F.FrameType.WINDOW_UPDATE, F.FrameType.PING, F.FrameType.PRIORITY,
                          F.FrameType.PUSH_PROMISE, F.FrameType.ALTSVC, F.FrameType.ORIGIN,
                          F.FrameType.PRIORITY_UPDATE})


def _fields_line(fields: dict) -> str:
    if "settings" in fields:
        return ", ".join(f"{k}={v}" for k, v in fields["settings"]) or "no parameters"
    return ", ".join(f"{k}={v}" for k, v in fields.items())


class TextFrames:
    """Formats frames of one session as nghttp -v style text, with gRPC message
    boundaries under the DATA frames that carry them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.origin: float | None = None
        self.findings = FindingsByFrame(session.findings)
        self._types: dict[int, tuple[str, str, str, str]] = {}
        self._blocks: dict[int, str] = {}  # id(headers) << 3 | role -> the block's lines
        self._keep: list[tuple] = []

    def _grpc_lines(self, index: int) -> Iterator[str]:
        for m in self.session.calls.in_frame(index):
            where = ("starts" if m.frames[0] == index else "continues") if len(m.frames) > 1 else "whole"
            if m.frames[-1] == index and len(m.frames) > 1:
                where = "ends"
            start = f" at offset {m.offset}" if m.frames[0] == index else ""
            extra = ", compressed" if m.compressed else ""
            problem = f" ! {m.problem}" if m.problem else ""
            yield (f"{INDENT}; gRPC {m.label} message #{m.index + 1} ({m.length} bytes{extra}): "
                   f"{where}{start}{problem}\n")

    def _type_part(self, type_code: int, flags: int) -> tuple[str, str, str, str]:
        """(type name, what follows the length, what follows the header line, the flags line)
        of a frame type and flags: made once for each pair."""
        key = type_code << 8 | flags
        part = self._types.get(key)
        if part is None:
            name = F.type_name(type_code)
            extra = "" if name != "UNKNOWN" else f" type=0x{type_code:02x}"
            names = F.flag_names(type_code, flags)
            part = self._types[key] = (name, f", flags=0x{flags:02x}, stream_id=", extra,
                                       f"{INDENT}; {' | '.join(names)}\n" if names else "")
        return part

    def _block_text(self, index: int) -> str:
        """The lines of a header block; shared by identical blocks (the same decoded tuple)."""
        blocks = self.session.header_blocks
        headers = blocks.headers[index]
        error = blocks.errors.get(index)
        role = blocks.role[index]
        key = id(headers) << 3 | role
        text = self._blocks.get(key) if error is None else None
        if text is None:
            trailers_only = role == Role.TRAILERS and any(name == ":status" for name, _ in headers)
            text = f"{INDENT}; {Role(role).label}" + (" (Trailers-Only)" if trailers_only else "") + "\n"
            text += "".join(f"{INDENT}{name}: {value}\n" for name, value in headers)
            if error:
                text += f"{INDENT}! HPACK: {error}\n"
            elif len(self._blocks) < BLOCK_TEXT_CACHE:
                self._blocks[key] = text
                self._keep.append(headers)  # id() stays valid while we hold the tuple
        return text

    def lines(self, start: int = 0, end: int | None = None,
              stream: int | None = None) -> Iterator[str]:
        """Text lines for frames [start, end) of the log, optionally of one stream id (a frame's
        lines in one string: its header line, flags, fields, messages, headers, findings)."""
        session = self.session
        log = session.frames
        if end is None:
            end = len(log)
        calls = session.calls
        calls.update()  # once for the slice: then a DATA frame's messages are one dict lookup
        by_frame = calls.by_frame
        findings = self.findings
        flagged = findings.current()  # once for the slice too: frame -> its findings' indexes
        blocks = session.header_blocks
        headers_of, roles, errors = blocks.headers, blocks.role, blocks.errors
        block_texts = self._blocks
        types = self._types
        read = session.payloads.read
        directions = (Direction.CLIENT, Direction.SERVER)
        arrows = ("client → server", "server → client")
        data_type = int(F.FrameType.DATA)
        show_fields = _SHOW_FIELDS
        origin = self.origin
        i = start - 1
        for (conn_index, d, packet, time, sid, type_code, flags, length, offset, _, _, _, _, _, hb,
             _) in log.rows(start, end):
            i += 1
            if stream is not None and sid != stream:
                continue
            if origin is None:
                origin = self.origin = time
            part = types.get(type_code << 8 | flags) or self._type_part(type_code, flags)
            text = (f"[{time - origin:10.6f}] #{packet} conn {conn_index} {arrows[d]} "
                    f"{part[0]} frame <length={length}{part[1]}{sid}>{part[2]}\n{part[3]}")
            if type_code in show_fields:
                payload = read(conn_index, directions[d], offset + F.FRAME_HEADER_LENGTH, length)
                text += f"{INDENT}({_fields_line(parse_fields(type_code, flags, payload))})\n"
            if type_code == data_type and i in by_frame:
                text += "".join(self._grpc_lines(i))
            if hb >= 0:
                block = block_texts.get(id(headers_of[hb]) << 3 | roles[hb]) if hb not in errors else None
                text += block if block is not None else self._block_text(hb)
            if i in flagged:
                text += "".join(f"{INDENT}! {text_line(finding, located=False)}" for finding in findings.of(i))
            yield text
