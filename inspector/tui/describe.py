"""What the TUI says about streams and frames, as plain text: pure functions of
the model, so the words can be tested without a terminal. Colour is added by
the widgets; these words always carry the meaning on their own."""

from __future__ import annotations

from dataclasses import dataclass

from inspector.http2 import frames as F
from inspector.http2.payloads import parse_fields
from inspector.model import Direction, FrameRecord, Role, Session, Stream, StreamState
from inspector.rpc.calls import call_for_stream, messages_in_frame
from inspector.rpc.status import format_duration
from inspector.tui import detail_words
from inspector.tui.detail_words import FLAG_MEANING, MESSAGE_LABEL, SIDE, WORDS, role_word, state_word


@dataclass(slots=True, frozen=True)
class StreamSummary:
    """One row of the stream list."""

    conn: int
    stream_id: int
    what: str  # "GET /index.html" or the gRPC method
    status: str  # ":status 200", "grpc OK", ...
    style: str  # gRPC style, or ""
    state: str  # open, half-closed (local), closed, reset
    frames: int
    data_bytes: int
    duration: float

    def text(self) -> str:
        return (f"{self.stream_id:>6}  {self.what[:48]:<48}  {self.status:<18} {self.style:<17} "
                f"{self.state:<20} {self.frames:>6} fr {self.data_bytes:>9} B  {format_duration(self.duration)}")


def stream_state_word(stream: Stream) -> str:
    """open, half-closed (local), closed, or reset (by whom, with what)."""
    if stream.reset_code is not None:
        who = stream.reset_by.label if stream.reset_by is not None else "?"
        return f"reset by {who} ({F.error_name(stream.reset_code)})"
    return stream.state.label


def summarize(session: Session, stream: Stream) -> StreamSummary:
    """Method and path (or gRPC method), statuses, style, state, counts, duration of a stream."""
    log = session.frames
    indexes = stream.frames
    what, status, style = "", "", ""
    grpc = False
    data_bytes = 0
    first = last = 0.0
    for n, i in enumerate(indexes):
        f = log[i]
        if n == 0:
            first = f.time
        last = f.time
        if f.type_code == F.FrameType.DATA:
            data_bytes += f.length
        if f.header_block >= 0:
            block = session.header_blocks[f.header_block]
            if block.role in (Role.REQUEST, Role.PUSH_REQUEST) and not what:
                what = f"{block.get(':method') or '?'} {block.get(':path') or '?'}"
                grpc = (block.get("content-type") or "").startswith("application/grpc") or bool(block.unknown_refs)
                if block.role is Role.PUSH_REQUEST:
                    what = "pushed " + what
            elif block.direction is Direction.SERVER and block.get(":status") and not status:
                status = f":status {block.get(':status')}"
    if stream.promised_by is not None and not what:
        # The pushed request came on the PUSH_PROMISE, a frame of the parent stream.
        blocks = session.header_blocks
        for i in session.stream_frames.of(stream.conn, stream.promised_by):
            hb = log[i].header_block
            if hb >= 0 and blocks.stream_id[hb] == stream.stream_id:
                block = blocks[hb]
                what = f"pushed {block.get(':method') or '?'} {block.get(':path') or '?'}"
    if stream.upgraded and not what:
        # The request came as HTTP/1.1 before the Upgrade: a block with no frame.
        blocks = session.header_blocks
        frames_col, conns, sids = blocks.column("frame"), blocks.column("conn"), blocks.column("stream_id")
        for hb in range(len(blocks)):
            if frames_col[hb] == -1 and conns[hb] == stream.conn and sids[hb] == stream.stream_id:
                block = blocks[hb]
                what = f"{block.get(':method') or '?'} {block.get(':path') or '?'} (HTTP/1.1, upgraded)"
                break
    call = call_for_stream(session, stream.conn, stream.stream_id) if grpc else None
    if call is not None:
        what = call.method
        style = call.style + ("" if call.style_certain else "?")
        if call.grpc_status_name:
            status = f"grpc {call.grpc_status_name}"
    return StreamSummary(stream.conn, stream.stream_id, what or "-", status or "-", style,
                         stream_state_word(stream), len(indexes), data_bytes, last - first)


def badges(frame: FrameRecord) -> str:
    """Flags as readable badges: [END_STREAM] [END_HEADERS]."""
    return " ".join(f"[{name}]" for name in frame.flag_names)


def frame_meaning(session: Session, frame: FrameRecord) -> str:
    """What a frame is, in words: request headers, trailers, DATA with its gRPC messages..."""
    t = frame.type_code
    words: list[str] = []
    if frame.header_block >= 0:
        block = session.header_blocks[frame.header_block]
        role = {Role.REQUEST: "request headers", Role.RESPONSE: "response headers",
                Role.INFORMATIONAL: "informational headers (1xx)", Role.TRAILERS: "trailers",
                Role.PUSH_REQUEST: "push promise (the pushed request)"}.get(block.role, "headers")
        if block.role is Role.TRAILERS and block.get(":status"):
            role = "trailers (Trailers-Only response)"
        detail = block.get(":path") or block.get(":status") or ""
        if block.get("grpc-status") is not None:
            detail = f"grpc-status {block.get('grpc-status')}"
        words.append(f"{role} {detail}".strip())
    elif t in (F.FrameType.HEADERS, F.FrameType.PUSH_PROMISE):
        words.append("header block continues in CONTINUATION")
    elif t == F.FrameType.DATA:
        messages = messages_in_frame(session, frame.index)
        if messages:
            words.append("DATA: " + ", ".join(
                f"gRPC {m.label} #{m.index + 1} ({m.length} B)" for m in messages))
        else:
            words.append("body bytes" if frame.length else "no bytes")
    elif t == F.FrameType.SETTINGS:
        words.append("settings acknowledged" if frame.flags & F.ACK else "settings")
    elif t == F.FrameType.PING:
        words.append("ping reply" if frame.flags & F.ACK else "ping")
    elif t == F.FrameType.WINDOW_UPDATE:
        words.append("more room to send" + (" on the connection" if frame.stream_id == 0 else ""))
    elif t == F.FrameType.RST_STREAM:
        words.append("stream reset")
    elif t == F.FrameType.GOAWAY:
        words.append("connection closing")
    elif t == F.FrameType.CONTINUATION:
        words.append("rest of a header block")
    if frame.flags & F.END_STREAM and t in (F.FrameType.DATA, F.FrameType.HEADERS):
        who = frame.direction.label
        if frame.stream_state is StreamState.CLOSED:
            words.append(f"END_STREAM: {who} done, stream closed")
        else:
            words.append(f"END_STREAM: {who} done (half-closed)")
    return "; ".join(words)


def frame_row(session: Session, frame: FrameRecord, origin: float, *,
              with_stream: bool = False) -> tuple[str, str, str]:
    """(time, lane arrow, the rest) for one timeline row; client on the left, server on the right."""
    arrow = "client ──▶" if frame.direction is Direction.CLIENT else "◀── server"
    stream = f"s{frame.stream_id:<4} " if with_stream else ""
    rest = f"{frame.type_name:<13} {stream}{frame.length:>6} B  {frame_meaning(session, frame)}  {badges(frame)}"
    return f"{frame.time - origin:+9.6f}", arrow, rest


def frame_detail(session: Session, frame: FrameRecord, lang: str = "en") -> list[str]:
    """Every field and flag, headers, gRPC messages, state and windows, the payload in hex;
    in English, or in Japanese for the tutorial (`lang` "ja")."""
    w = WORDS[lang]
    purpose, section = detail_words.purpose(lang, frame.type_code)
    payload = session.frame_payload(frame)
    lines = [w["title"].format(type_name=frame.type_name, type=frame.type_code, side=SIDE[lang][frame.direction],
                               stream=frame.stream_id, length=frame.length, packet=frame.packet),
             f"{purpose} ({section})", ""]
    defined = {f.bit: f.name for f in F.DEFINED_FLAGS.get(frame.type_code, ())}
    meanings = FLAG_MEANING[lang]
    lines.append(w["flags"].format(flags=frame.flags))
    for bit in (0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80):
        name = defined.get(bit)
        if name or frame.flags & bit:
            lines.append(f"  {'■' if frame.flags & bit else '□'} 0x{bit:02x} {name or w['undefined']}"
                         f" — {meanings.get(name or '', w['not_defined'])}")
    fields = parse_fields(frame.type_code, frame.flags, payload)
    if fields:
        lines.append(w["fields"])
        for key, value in fields.items():
            if key == "settings":
                for name, v in value:
                    lines.append(f"  {name} = {v}")
            else:
                lines.append(f"  {key} = {value}")
    if frame.header_block >= 0:
        block = session.header_blocks[frame.header_block]
        lines.append(w["header_block"].format(role=role_word(lang, block.role)))
        pseudo = [h for h in block.headers if h[0].startswith(":")]
        regular = [h for h in block.headers if not h[0].startswith(":")]
        for name, value in pseudo:
            lines.append(f"  {name}: {value}")
        if pseudo and regular:
            lines.append("  ---")
        for name, value in regular:
            lines.append(f"  {name}: {value}")
        if block.error:
            lines.append(f"  ! HPACK: {block.error}")
    messages = messages_in_frame(session, frame.index) if frame.type_code == F.FrameType.DATA else []
    if messages:
        from inspector.rpc.calls import decode_payload

        call = call_for_stream(session, frame.conn, frame.stream_id)
        lines.append(w["grpc_messages"])
        for m in messages:
            said = w["message"].format(label=MESSAGE_LABEL[lang][m.label], number=m.index + 1, length=m.length)
            said += (w["compressed"] if m.compressed else "") + w["message_frames"].format(frames=list(m.frames))
            lines.append("  " + said)
            lines += [f"    {line}" for line in decode_payload(m, call).splitlines()[:20]]
    after = w["after"].format(state=state_word(lang, frame.stream_state) if frame.stream_id else "-",
                              conn_client=frame.conn_window_client, conn_server=frame.conn_window_server)
    if frame.stream_id:
        after += w["after_stream"].format(stream_client=frame.stream_window_client,
                                          stream_server=frame.stream_window_server)
    lines.append(after)
    if payload:
        lines.append(w["payload"].format(length=len(payload)))
        lines += hexdump(payload[:512])
        if len(payload) > 512:
            lines.append(w["more_bytes"].format(count=len(payload) - 512))
    return lines


def hexdump(data: bytes) -> list[str]:
    """16 bytes a line: offset, hex, printable ASCII."""
    out = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"  {i:04x}  {chunk.hex(' '):<47}  {text}")
    return out

