"""HTTP/2 frame types, flags, error codes and settings: one table each
(RFC 9113 section 6 and the registered extensions), and a sentence on what
each frame type is for.

The decoder uses the tables on the hot path; a frame's payload fields are
decoded in `payloads`, one class per type.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

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
