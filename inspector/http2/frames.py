"""HTTP/2 frame types, flags, error codes and settings: one table each, and
per-type parsing of a frame's payload into named fields (RFC 9113 section 6).

Everything here is a pure function of bytes. The decoder uses the tables on
the hot path; the views call `parse_fields` when someone looks at a frame.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any, NamedTuple

FRAME_HEADER_LENGTH = 9
CLIENT_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_MAX_FRAME_SIZE = 16_384
DEFAULT_WINDOW = 65_535


class FrameType(IntEnum):
    """Frame type codes: RFC 9113 section 6, plus registered extensions."""

    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9
    ALTSVC = 0xA  # RFC 7838
    ORIGIN = 0xC  # RFC 8336
    PRIORITY_UPDATE = 0x10  # RFC 9218


#: type code -> name; codes not here are shown as UNKNOWN with their code.
TYPE_NAMES: dict[int, str] = {t.value: t.name for t in FrameType}


def type_name(code: int) -> str:
    """RFC name of a frame type code, or "UNKNOWN"."""
    return TYPE_NAMES.get(code, "UNKNOWN")


class Flag(NamedTuple):
    """One flag bit a frame type defines."""

    name: str
    bit: int


END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

#: flags each frame type defines, as on the wire (RFC 9113 section 6).
DEFINED_FLAGS: dict[int, tuple[Flag, ...]] = {
    FrameType.DATA: (Flag("END_STREAM", END_STREAM), Flag("PADDED", PADDED)),
    FrameType.HEADERS: (
        Flag("END_STREAM", END_STREAM),
        Flag("END_HEADERS", END_HEADERS),
        Flag("PADDED", PADDED),
        Flag("PRIORITY", PRIORITY_FLAG),
    ),
    FrameType.SETTINGS: (Flag("ACK", ACK),),
    FrameType.PUSH_PROMISE: (Flag("END_HEADERS", END_HEADERS), Flag("PADDED", PADDED)),
    FrameType.PING: (Flag("ACK", ACK),),
    FrameType.CONTINUATION: (Flag("END_HEADERS", END_HEADERS),),
}

_flag_name_cache: dict[tuple[int, int], tuple[str, ...]] = {}


def flag_names(type_code: int, flags: int) -> tuple[str, ...]:
    """Names of the set flags; undefined bits show as "0xNN" so nothing is hidden."""
    key = (type_code, flags)
    names = _flag_name_cache.get(key)
    if names is None:
        known = DEFINED_FLAGS.get(type_code, ())
        found = [f.name for f in known if flags & f.bit]
        rest = flags & ~sum(f.bit for f in known)
        if rest:
            found.append(f"0x{rest:02x}")
        names = _flag_name_cache[key] = tuple(found)
    return names


class ErrorCode(IntEnum):
    """Error codes of RST_STREAM and GOAWAY (RFC 9113 section 7)."""

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


def _name(table: type[IntEnum], code: int, unknown: str) -> str:
    try:
        return table(code).name
    except ValueError:
        return f"{unknown}_0x{code:x}"


def error_name(code: int) -> str:
    """Name of an error code, or its hex value when unregistered."""
    return _name(ErrorCode, code, "UNKNOWN_ERROR")


class Setting(IntEnum):
    """SETTINGS parameters (RFC 9113 section 6.5.2, RFC 8441, RFC 9218)."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8
    NO_RFC7540_PRIORITIES = 0x9


def setting_name(code: int) -> str:
    """Name of a SETTINGS identifier, or its hex value when unregistered."""
    return _name(Setting, code, "UNKNOWN_SETTING")


def parse_settings(payload: bytes) -> list[tuple[int, int]]:
    """(identifier, value) pairs of a SETTINGS payload, in wire order."""
    n = len(payload) // 6
    return [struct.unpack_from(">HI", payload, i * 6) for i in range(n)]


class FieldError(ValueError):
    """A frame payload is too short or inconsistent for its type."""


def split_padding(payload: bytes, flags: int) -> tuple[int, int, int]:
    """(start, end, pad_length) of the content of a possibly PADDED payload."""
    if not flags & PADDED:
        return 0, len(payload), 0
    if not payload:
        raise FieldError("PADDED flag set but no Pad Length byte")
    pad = payload[0]
    if pad >= len(payload):
        raise FieldError(f"Pad Length {pad} exceeds the payload ({len(payload)} bytes)")
    return 1, len(payload) - pad, pad


def header_block_fragment(type_code: int, flags: int, payload: bytes) -> bytes:
    """The field block fragment carried by HEADERS, PUSH_PROMISE or CONTINUATION."""
    if type_code == FrameType.CONTINUATION:
        return payload
    start, end, _ = split_padding(payload, flags)
    if type_code == FrameType.HEADERS and flags & PRIORITY_FLAG:
        start += 5
    elif type_code == FrameType.PUSH_PROMISE:
        start += 4
    if start > end:
        raise FieldError("payload too short for its fixed fields")
    return payload[start:end]


def parse_fields(type_code: int, flags: int, payload: bytes) -> dict[str, Any]:
    """Every field of a frame's payload, by its RFC name, for the detail views."""
    p = payload
    fields: dict[str, Any] = {}
    try:
        if type_code in (FrameType.DATA, FrameType.HEADERS, FrameType.PUSH_PROMISE):
            start, end, pad = split_padding(p, flags)
            if flags & PADDED:
                fields["pad_length"] = pad
            if type_code == FrameType.HEADERS and flags & PRIORITY_FLAG:
                dep, weight = struct.unpack_from(">IB", p, start)
                fields["exclusive"] = bool(dep >> 31)
                fields["stream_dependency"] = dep & 0x7FFF_FFFF
                fields["weight"] = weight + 1
                start += 5
            if type_code == FrameType.PUSH_PROMISE:
                fields["promised_stream_id"] = struct.unpack_from(">I", p, start)[0] & 0x7FFF_FFFF
                start += 4
            key = "data_length" if type_code == FrameType.DATA else "field_block_length"
            fields[key] = end - start
        elif type_code == FrameType.PRIORITY:
            dep, weight = struct.unpack_from(">IB", p)
            fields.update(exclusive=bool(dep >> 31), stream_dependency=dep & 0x7FFF_FFFF,
                          weight=weight + 1)
        elif type_code == FrameType.RST_STREAM:
            code = struct.unpack_from(">I", p)[0]
            fields.update(error_code=code, error=error_name(code))
        elif type_code == FrameType.SETTINGS:
            if len(p) % 6:
                raise FieldError(f"SETTINGS length {len(p)} is not a multiple of 6")
            fields["settings"] = [(setting_name(k), v) for k, v in parse_settings(p)]
        elif type_code == FrameType.PING:
            fields["opaque_data"] = p[:8].hex()
        elif type_code == FrameType.GOAWAY:
            last, code = struct.unpack_from(">II", p)
            fields.update(last_stream_id=last & 0x7FFF_FFFF, error_code=code,
                          error=error_name(code),
                          debug_data=p[8:].decode("utf-8", "backslashreplace"))
        elif type_code == FrameType.WINDOW_UPDATE:
            fields["window_size_increment"] = struct.unpack_from(">I", p)[0] & 0x7FFF_FFFF
        elif type_code == FrameType.CONTINUATION:
            fields["field_block_length"] = len(p)
        elif type_code == FrameType.ALTSVC:
            n = struct.unpack_from(">H", p)[0]
            fields["origin"] = p[2:2 + n].decode("ascii", "backslashreplace")
            fields["alt_svc_field_value"] = p[2 + n:].decode("ascii", "backslashreplace")
        elif type_code == FrameType.ORIGIN:
            origins, i = [], 0
            while i + 2 <= len(p):
                n = struct.unpack_from(">H", p, i)[0]
                origins.append(p[i + 2:i + 2 + n].decode("ascii", "backslashreplace"))
                i += 2 + n
            fields["origins"] = origins
        elif type_code == FrameType.PRIORITY_UPDATE:
            fields["prioritized_stream_id"] = struct.unpack_from(">I", p)[0] & 0x7FFF_FFFF
            fields["priority_field_value"] = p[4:].decode("ascii", "backslashreplace")
        else:
            fields["payload_length"] = len(p)
    except (struct.error, FieldError) as exc:
        fields["malformed"] = str(exc) or "payload too short for its fields"
    return fields


#: One plain sentence on what each frame type does, with its RFC section.
FRAME_PURPOSE: dict[int, tuple[str, str]] = {
    FrameType.DATA: ("Carries a piece of the message body on a stream; it counts against flow control.",
                     "RFC 9113 §6.1"),
    FrameType.HEADERS: ("Opens a stream or carries a field block (request, response, trailers), HPACK-compressed.",
                        "RFC 9113 §6.2"),
    FrameType.PRIORITY: ("Gives the sender's view of this stream's priority (deprecated by RFC 9113).",
                         "RFC 9113 §6.3"),
    FrameType.RST_STREAM: ("Ends a stream at once, with an error code; nothing more is sent on it.",
                           "RFC 9113 §6.4"),
    FrameType.SETTINGS: ("Tells the peer this side's limits and options; an ACK confirms the peer's SETTINGS.",
                         "RFC 9113 §6.5"),
    FrameType.PUSH_PROMISE: ("The server announces a stream it will push, with the request it answers.",
                             "RFC 9113 §6.6"),
    FrameType.PING: ("Measures round-trip time or keeps the connection alive; the peer echoes it with ACK.",
                     "RFC 9113 §6.7"),
    FrameType.GOAWAY: ("Starts closing the connection: streams above the last stream id will not be processed.",
                       "RFC 9113 §6.8"),
    FrameType.WINDOW_UPDATE: ("Lets the peer send more DATA: it widens a flow-control window.",
                              "RFC 9113 §6.9"),
    FrameType.CONTINUATION: ("Carries the rest of a field block too big for one HEADERS or PUSH_PROMISE frame.",
                             "RFC 9113 §6.10"),
    FrameType.ALTSVC: ("Advertises an alternative service for the origin.", "RFC 7838 §4"),
    FrameType.ORIGIN: ("Lists the origins this connection is authoritative for.", "RFC 8336 §2"),
    FrameType.PRIORITY_UPDATE: ("Updates a stream's priority with the Priority field.", "RFC 9218 §7"),
}


def frame_purpose(type_code: int) -> tuple[str, str]:
    """(sentence, RFC section) explaining a frame type."""
    return FRAME_PURPOSE.get(
        type_code,
        ("A frame type this tool does not know; RFC 9113 says to ignore it, and it is shown as is.",
         "RFC 9113 §5.5"))
