"""What the TUI says about streams, frames and findings: pure functions of the
model, so the words can be tested without a terminal.

A row is a record of cells (`FrameCells`, `StreamSummary`), not a string:
the widgets lay the cells out in columns (`tui/columns.py`) and style each
by a component class of the stylesheet. The words always carry the meaning
on their own; colour only helps.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from inspector.findings.messages import message_in, title_in
from inspector.findings.rules import RULES
from inspector.http2 import frames as F
from inspector.http2.payloads import parse_fields
from inspector.model import Direction, Finding, FrameRecord, Role, Session, Severity, Stream
from inspector.rpc.calls import call_for_stream, decode_payload, messages_in_frame
from inspector.rpc.messages import GrpcMessage
from inspector.rpc.status import decode_grpc_message, status_name
from inspector.tui import detail_words
from inspector.tui.detail_words import (
    FLAG_MEANING,
    MESSAGE_LABEL,
    PROBLEM_WORDS,
    SEVERITY_WORDS,
    SIDE,
    WORDS,
    role_word,
    state_word,
)
from inspector.views.hpack import DynamicTables, frame_lines

#: the role column: (spelled, short) words of a header block's role
ROLE_WORDS: dict[str, tuple[str, str]] = {
    "request": ("request headers", "request"),
    "response": ("response headers", "response"),
    "informational": ("informational (1xx)", "1xx"),
    "trailers": ("trailers", "trailers"),
    "trailers-only": ("trailers-only response", "trailers-only"),
    "push-request": ("push-request", "push-request"),
}

#: short badges for flags where the spelled names do not fit (the legend is in `?`)
FLAG_BADGES: dict[str, str] = {"END_STREAM": "ES", "END_HEADERS": "EH", "ACK": "ACK", "PADDED": "PAD",
                               "PRIORITY": "PRI"}

#: one glyph per severity for row marks (the problems view spells them out)
SEVERITY_MARK: dict[Severity, str] = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ"}
SEVERITY_WORD: dict[Severity, str] = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def badge(flag: str) -> str:
    """A flag's short badge: ES, EH, ACK, PAD, PRI (undefined bits keep their 0xNN)."""
    return FLAG_BADGES.get(flag, flag)


class FrameCells(NamedTuple):
    """The facts of one timeline row, in column order."""

    index: int  # type: ignore[assignment]  # FrameLog index (as FrameRecord.index)
    time: float
    direction: Direction
    stream_id: int
    type_name: str
    flags: tuple[str, ...]
    role: str  # a ROLE_WORDS key, or ""
    length: int
    meaning: str  # gRPC messages, the control frame's key value, settings...
    arrow: str  # the ladder's label: type, role, END_STREAM, key value


@dataclass(slots=True, frozen=True)
class StreamSummary:
    """One row of the stream list."""

    conn_index: int
    stream_id: int
    what: str  # "GET /index.html" or the gRPC method
    status: str  # ":status 200", "grpc OK", ...
    style: str  # gRPC style, or ""
    state: str  # open, half-closed (local), closed, reset
    frames: int
    data_bytes: int
    duration: float
    failed: bool  # a status that says the request failed (4xx, 5xx, a gRPC error, a reset)

    def text(self) -> str:
        """Every word of the row, for the stream filter."""
        return f"{self.stream_id} {self.what} {self.status} {self.style} {self.state}"


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
    failed = stream.reset_code is not None
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
                failed |= status[8:9] in ("4", "5")
    if stream.promised_by is not None and not what:
        # The pushed request came on the PUSH_PROMISE, a frame of the parent stream.
        blocks = session.header_blocks
        for i in session.stream_frames.of(stream.conn_index, stream.promised_by):
            hb = log[i].header_block
            if hb >= 0 and blocks.stream_id[hb] == stream.stream_id:
                block = blocks[hb]
                what = f"pushed {block.get(':method') or '?'} {block.get(':path') or '?'}"
    if stream.upgraded and not what:
        # The request came as HTTP/1.1 before the Upgrade: a block with no frame.
        blocks = session.header_blocks
        frames_col, conns, sids = blocks.column("frame"), blocks.column("conn_index"), blocks.column("stream_id")
        for hb in range(blocks.base, len(blocks)):
            if frames_col[hb] == -1 and conns[hb] == stream.conn_index and sids[hb] == stream.stream_id:
                block = blocks[hb]
                what = f"{block.get(':method') or '?'} {block.get(':path') or '?'} (HTTP/1.1, upgraded)"
                break
    call = call_for_stream(session, stream.conn_index, stream.stream_id) if grpc else None
    if call is not None:
        what = call.method
        style = call.style + ("" if call.style_certain else "?")
        if call.grpc_status_name:
            status = f"grpc {call.grpc_status_name}"
            failed = call.grpc_status not in (0, None)
    return StreamSummary(stream.conn_index, stream.stream_id, what or "-", status or "-", style,
                         stream_state_word(stream), len(indexes), data_bytes, last - first, failed)


# ---- frames ------------------------------------------------------------------------------


def block_role(session: Session, frame: FrameRecord) -> str:
    """The ROLE_WORDS key of the header block a frame completes, or ""."""
    if frame.header_block < 0:
        return ""
    block = session.header_blocks[frame.header_block]
    if block.role is Role.TRAILERS and block.get(":status"):
        return "trailers-only"
    return block.role.label if block.role is not Role.NONE else ""


def message_part(message: GrpcMessage, index: int) -> str:
    """Where a frame lies in a gRPC message: "" (wholly in it), starts, continues, ends."""
    frames = message.frames
    if len(frames) == 1:
        return "" if message.whole or not message.ended else "cut short"
    if frames[0] == index:
        return "starts"
    if frames[-1] == index and message.whole:
        return "ends"
    return "continues"


def messages_words(session: Session, frame: FrameRecord) -> str:
    """gRPC request #1 (4 B); gRPC response #2 starts (16 kB), ..."""
    out = []
    for m in messages_in_frame(session, frame.index):
        part = message_part(m, frame.index)
        out.append(f"gRPC {m.label} #{m.index + 1}" + (f" {part}" if part else "") + f" ({m.length} B)")
    return ", ".join(out)


def _goaway_error(session: Session, frame: FrameRecord) -> str:
    conn = session.connection(frame.conn_index)
    for goaway in conn.goaways if conn is not None else ():
        if goaway.frame == frame.index:
            return F.error_name(goaway.error_code)
    return ""


def frame_meaning(session: Session, frame: FrameRecord) -> str:
    """What a frame carries, in words: the path or status, the gRPC messages, the key value."""
    t = frame.type_code
    T = F.FrameType
    if frame.header_block >= 0:
        block = session.header_blocks[frame.header_block]
        if block.role in (Role.REQUEST, Role.PUSH_REQUEST):
            words = f"{block.get(':method') or '?'} {block.get(':path') or '?'}"
            if t == T.PUSH_PROMISE:
                words = f"promises stream {frame.control_value}: {words}"
        elif block.get("grpc-status") is not None:
            status = block.get("grpc-status") or ""
            try:
                words = f"grpc-status {status} {status_name(int(status))}"
            except ValueError:
                words = f"grpc-status {status}"
            message = block.get("grpc-message")
            if message:
                words += f" '{decode_grpc_message(message)}'"
        else:
            words = f":status {block.get(':status')}" if block.get(":status") else ""
        if block.error:
            words += f" (HPACK: {block.error})"
        return words
    if t in (T.HEADERS, T.PUSH_PROMISE):
        return "header block continues in CONTINUATION"
    if t == T.DATA:
        words = messages_words(session, frame)
        if words:
            return words
        if not frame.length:
            return "empty: only ends the stream" if frame.flags & F.END_STREAM else "empty"
        return "body bytes"
    if t == T.SETTINGS:
        if frame.flags & F.ACK:
            return "acknowledges the peer's SETTINGS"
        settings = parse_fields(t, frame.flags, session.frame_payload(frame)).get("settings")
        return ", ".join(f"{name}={value}" for name, value in settings) if settings else "no changes"
    if t == T.PING:
        return "ping reply" if frame.flags & F.ACK else "ping"
    if t == T.WINDOW_UPDATE:
        return f"+{frame.control_value} to the {'connection' if frame.stream_id == 0 else 'stream'} window"
    if t == T.RST_STREAM:
        return f"{F.error_name(frame.control_value)} (0x{frame.control_value:x})"
    if t == T.GOAWAY:
        error = _goaway_error(session, frame)
        return f"last stream {frame.control_value}" + (f", {error}" if error else "")
    if t == T.CONTINUATION:
        return "rest of a header block"
    if t == T.PRIORITY:
        fields = parse_fields(t, frame.flags, session.frame_payload(frame))
        return ", ".join(f"{k} {v}" for k, v in fields.items())
    return ""


def arrow_label(frame: FrameRecord, role: str, meaning: str) -> str:
    """The ladder's label on an arrow: HEADERS request, DATA gRPC request #1, RST_STREAM CANCEL, END_STREAM."""
    t = frame.type_code
    T = F.FrameType
    words = frame.type_name
    if role:
        words += " " + ROLE_WORDS[role][1]
    if t == T.DATA and meaning.startswith("gRPC "):
        words += " " + meaning[5:].split(",")[0].split(" (")[0]
    elif t == T.RST_STREAM:
        words += " " + F.error_name(frame.control_value)
    elif t == T.PUSH_PROMISE:
        words += f" promises {frame.control_value}"
    elif t == T.WINDOW_UPDATE:
        words += f" +{frame.control_value}"
    elif t == T.GOAWAY:
        words += f" last {frame.control_value}"
    elif t in (T.SETTINGS, T.PING) and frame.flags & F.ACK:
        words += " ACK"
    if frame.flags & F.END_STREAM and t in (T.DATA, T.HEADERS):
        words += " END_STREAM"
    return words


def frame_cells(session: Session, frame: FrameRecord) -> FrameCells:
    """The cells of one timeline (or ladder) row."""
    role = block_role(session, frame)
    meaning = frame_meaning(session, frame)
    return FrameCells(frame.index, frame.time, frame.direction, frame.stream_id, frame.type_name,
                      frame.flag_names, role, frame.length, meaning, arrow_label(frame, role, meaning))


# ---- findings ------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+")


def finding_rule(finding: Finding) -> str:
    """The rule a finding belongs to: its `rule` id once the findings engine gives one, else its
    message with the numbers taken out (so "stream 3 ..." and "stream 5 ..." group together)."""
    rule = getattr(finding, "rule", None)
    return str(rule) if rule else _NUMBER.sub("N", finding.message)


def finding_title(finding: Finding, lang: str = "en") -> str:
    """A group's title: its rule's title (findings/rules.py; in Japanese, findings/messages.py) when
    the rule is in the table, else its first message."""
    rule = RULES.get(finding.rule)
    return title_in(lang, finding.rule, rule.title) if rule is not None else finding.message


def finding_message(finding: Finding, lang: str = "en") -> str:
    """A finding's one line with its numbers, in `lang` (findings/messages.py)."""
    return message_in(lang, finding.rule, finding.message)


def severity_word(severity: Severity, lang: str = "en") -> str:
    """error, warning or info, in `lang`."""
    return SEVERITY_WORD[severity] if lang == "en" else SEVERITY_WORDS[lang][severity]


def finding_where(session: Session, finding: Finding, lang: str = "en") -> str:
    """conn 0, stream 3, frame 17, packet 12."""
    words = PROBLEM_WORDS[lang]
    where = []
    if finding.conn_index is not None:
        where.append(f"{words['conn']} {finding.conn_index}")
    stream_id = finding.stream_id
    dropped = finding.frame is not None and finding.frame < session.frames.base  # by a bounded history
    if stream_id is None and finding.frame is not None and not dropped and finding.frame < len(session.frames):
        stream_id = session.frames.stream_id[finding.frame]
    if stream_id is not None:
        where.append(f"{words['stream']} {stream_id}")
    if finding.frame is not None:
        where.append(f"{words['frame']} {finding.frame}" + (f" ({words['dropped']})" if dropped else ""))
    if finding.packet is not None:
        where.append(f"{words['packet']} {finding.packet}")
    return words["comma"].join(where) or words["session"]


def count_words(findings: Iterable[Finding]) -> str:
    """3 errors, 12 warnings, 1 info; or "no findings"."""
    counts = {s: 0 for s in Severity}
    for f in findings:
        counts[Severity(f.severity)] += 1
    return severity_counts_words(counts)


def severity_counts_words(counts: dict[Severity, int]) -> str:
    """The words of `count_words` from counts by severity."""
    parts = [f"{n} {SEVERITY_WORD[s]}{'s' if n != 1 and s is not Severity.INFO else ''}"
             for s, n in sorted(counts.items(), reverse=True) if n]
    return ", ".join(parts) if parts else "no findings"


def severity_counts_badges(counts: dict[Severity, int]) -> str:
    """The counts as the row marks show them, for a narrow status line: "✖3 ▲12" (the legend is in ?)."""
    parts = [f"{SEVERITY_MARK[s]}{n}" for s, n in sorted(counts.items(), reverse=True) if n]
    return " ".join(parts) if parts else "no findings"


# ---- the frame detail ----------------------------------------------------------------------


@dataclass(slots=True)
class Detail:
    """A frame's detail: its lines of words, then its whole payload in hex, drawn a line at a time
    when scrolled into view (a 16 MiB DATA frame costs nothing until it is looked at)."""

    head: list[str]
    payload: bytes
    findings_at: int = 4  # the line of the first finding on the frame, if there is one

    def __len__(self) -> int:
        return len(self.head) + (len(self.payload) + 15) // 16

    def line(self, i: int) -> str:
        """Line `i`: a line of words, or the hex of 16 bytes of the payload."""
        if i < len(self.head):
            return self.head[i]
        offset = (i - len(self.head)) * 16
        return hex_line(self.payload, offset, offset_digits(len(self.payload)))

    def __getitem__(self, i: int) -> str:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.line(i % len(self))

    def __iter__(self) -> Iterator[str]:
        return (self.line(i) for i in range(len(self)))

    def lines(self) -> list[str]:
        """Every line (the whole hex dump too)."""
        return list(self)

    def text(self) -> str:
        return "\n".join(self.lines())


def frame_detail(session: Session, frame: FrameRecord, lang: str = "en",
                 findings: Iterable[Finding] = (), hpack: DynamicTables | None = None) -> Detail:
    """Every field and flag, headers, gRPC messages (by name with a schema), state and windows, the
    findings on the frame, the whole payload in hex; in English, or in Japanese for the tutorial.
    With `hpack` (one per session: it replays the tables forward), a frame that completes a header
    block also lists how each field was written on the wire and the dynamic table after it."""
    w = WORDS[lang]
    purpose, section = detail_words.purpose(lang, frame.type_code)
    payload = session.frame_payload(frame)
    lines = [w["title"].format(type_name=frame.type_name, type=frame.type_code, side=SIDE[lang][frame.direction],
                               stream=frame.stream_id, length=frame.length, packet=frame.packet)
             + w["frame_number"].format(frame=frame.index),
             time_line(session, frame, lang), f"{purpose} ({section})", ""]
    for finding in findings:
        lines.append(w["finding"].format(severity=severity_word(Severity(finding.severity), lang),
                                         mark=SEVERITY_MARK[Severity(finding.severity)],
                                         message=finding_message(finding, lang), reference=finding.reference or "-"))
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
        call = call_for_stream(session, frame.conn_index, frame.stream_id)
        schema = session.calls.schema
        lines.append(w["grpc_messages"])
        for m in messages:
            said = w["message"].format(label=MESSAGE_LABEL[lang][m.label], number=m.index + 1, length=m.length)
            part = message_part(m, frame.index)
            said += (w["compressed"] if m.compressed else "") + w["message_frames"].format(frames=list(m.frames))
            if part:
                said += f" ({w['part_' + part.replace(' ', '_')]})"
            lines.append("  " + said)
            lines += [f"    {line}" for line in decode_payload(m, call, schema).splitlines()[:40]]
    after = w["after"].format(state=state_word(lang, frame.stream_state) if frame.stream_id else "-",
                              conn_client=frame.conn_window_client, conn_server=frame.conn_window_server)
    if frame.stream_id:
        after += w["after_stream"].format(stream_client=frame.stream_window_client,
                                          stream_server=frame.stream_window_server)
    lines.append(after)
    listing = frame_lines(session, frame.index, lang, hpack) if hpack is not None and frame.header_block >= 0 else []
    if listing:
        lines.append(w["hpack"])
        lines += ["  " + line for line in listing]
    if payload:
        lines.append(w["payload"].format(length=len(payload)))
    return Detail(lines, payload)


def time_line(session: Session, frame: FrameRecord, lang: str = "en") -> str:
    """When a frame came: since the capture's first packet (the zero of every view), on the wall clock,
    and since its stream's first frame."""
    w = WORDS[lang]
    words = w["time"].format(since=f"{frame.time - session.time_zero():.6f}", wall=wall_clock(frame.time))
    if frame.stream_id:
        own = session.stream_frames.of(frame.conn_index, frame.stream_id)
        if len(own):
            words += w["time_stream"].format(since=f"{frame.time - session.frames.time[own[0]]:.6f}",
                                             stream=frame.stream_id)
    return words


def wall_clock(t: float) -> str:
    """HH:MM:SS.ffffff in the local time zone."""
    return _time.strftime("%H:%M:%S", _time.localtime(t)) + f".{int(t * 1_000_000) % 1_000_000:06d}"


def header_value(line: str) -> str | None:
    """The value of a header line of the detail ("  name: value"), or None for any other line."""
    if not line.startswith("  ") or line.startswith("   ") or ": " not in line[3:]:
        return None
    name, _, value = line[2:].partition(": ")
    if not name or " " in name:
        return None
    return value


def offset_digits(length: int) -> int:
    """Hex digits of the offsets of a dump of `length` bytes (4 at least, as xxd)."""
    return max(4, len(f"{max(0, length - 1):x}"))


def hex_line(data: bytes, offset: int, digits: int = 4) -> str:
    """One line of a hex dump: offset, 16 bytes in hex, printable ASCII."""
    chunk = data[offset:offset + 16]
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
    return f"  {offset:0{digits}x}  {chunk.hex(' '):<47}  {text}"


def hexdump(data: bytes) -> list[str]:
    """16 bytes a line: offset, hex, printable ASCII."""
    digits = offset_digits(len(data))
    return [hex_line(data, i, digits) for i in range(0, len(data), 16)]
