"""`dump --format text`: one line per frame like `nghttp -v`, fields and headers under it."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.http2 import frames as F
from inspector.http2.payloads import parse_fields
from inspector.model import Direction, Role, Session
from inspector.rpc.calls import messages_in_frame
from inspector.views.findings import FindingsByFrame, text_line

INDENT = " " * 14
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

    def _grpc_lines(self, index: int) -> Iterator[str]:
        for m in messages_in_frame(self.session, index):
            where = ("starts" if m.frames[0] == index else "continues") if len(m.frames) > 1 else "whole"
            if m.frames[-1] == index and len(m.frames) > 1:
                where = "ends"
            start = f" at offset {m.offset}" if m.frames[0] == index else ""
            extra = ", compressed" if m.compressed else ""
            problem = f" ! {m.problem}" if m.problem else ""
            yield (f"{INDENT}; gRPC {m.label} message #{m.index + 1} ({m.length} bytes{extra}): "
                   f"{where}{start}{problem}\n")

    def lines(self, start: int = 0, end: int | None = None,
              stream: int | None = None) -> Iterator[str]:
        """Text lines for frames [start, end) of the log, optionally of one stream id."""
        session = self.session
        log = session.frames
        if end is None:
            end = len(log)
        for i in range(start, end):
            if stream is not None and log.stream_id[i] != stream:
                continue
            f = log[i]
            if self.origin is None:
                self.origin = f.time
            arrow = "client → server" if f.direction is Direction.CLIENT else "server → client"
            yield (f"[{f.time - self.origin:10.6f}] #{f.packet} conn {f.conn} {arrow} "
                   f"{f.type_name} frame <length={f.length}, flags=0x{f.flags:02x}, "
                   f"stream_id={f.stream_id}>"
                   + ("" if f.type_name != "UNKNOWN" else f" type=0x{f.type_code:02x}") + "\n")
            names = f.flag_names
            if names:
                yield f"{INDENT}; {' | '.join(names)}\n"
            if f.type_code in _SHOW_FIELDS:
                fields = parse_fields(f.type_code, f.flags, session.frame_payload(f))
                yield f"{INDENT}({_fields_line(fields)})\n"
            if f.type_code == F.FrameType.DATA:
                yield from self._grpc_lines(f.index)
            if f.header_block >= 0:
                block = session.header_blocks[f.header_block]
                yield f"{INDENT}; {block.role.label}" + (
                    " (Trailers-Only)" if block.role is Role.TRAILERS and block.get(":status") else "") + "\n"
                for name, value in block.headers:
                    yield f"{INDENT}{name}: {value}\n"
                if block.error:
                    yield f"{INDENT}! HPACK: {block.error}\n"
            for finding in self.findings.of(f.index):
                yield f"{INDENT}! {text_line(finding, located=False)}"
