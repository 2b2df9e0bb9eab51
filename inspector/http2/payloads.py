"""Where a frame type's payload is decoded: one small class per frame type
(RFC 9113 section 6 and the registered extensions), in the style of
hyperframe's frame classes, and one registry from type code to class.

Each class is a NamedTuple of the type's fields as typed attributes, with
`parse(flags, payload)` (raises `FieldError` when the payload is too short or
inconsistent) and `fields()` (the named fields the detail views show, by the
RFC's names). Nothing outside `inspector/http2/` and `inspector/capture/`
unpacks frame bytes: the decoder, the views, the gRPC layer and the tutorial
all come here.
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple, Protocol

from inspector.http2.frames import PADDED, PRIORITY_FLAG, FrameType, error_name, setting_name

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_PRIORITY = struct.Struct(">IB")
_SETTING = struct.Struct(">HI")
_GOAWAY = struct.Struct(">II")
STREAM_ID_MASK = 0x7FFF_FFFF  # the reserved bit of a 31-bit stream id or increment is ignored


class FieldError(ValueError):
    """A frame payload is too short or inconsistent for its type."""


class FramePayload(Protocol):
    """What every per-type payload class offers."""

    def fields(self) -> dict[str, Any]:
        """The named fields, for the detail views."""
        ...


def _padding(payload: bytes, flags: int) -> tuple[int, int, int]:
    """(start, end, pad_length) of the content of a possibly PADDED payload."""
    if not flags & PADDED:
        return 0, len(payload), 0
    if not payload:
        raise FieldError("PADDED flag set but no Pad Length byte")
    pad = payload[0]
    if pad >= len(payload):
        raise FieldError(f"Pad Length {pad} exceeds the payload ({len(payload)} bytes)")
    return 1, len(payload) - pad, pad


def _u32(payload: bytes, at: int = 0) -> int:
    if len(payload) < at + 4:
        raise FieldError("payload too short for its fields")
    return int(_U32.unpack_from(payload, at)[0])


def _text(raw: bytes, encoding: str = "ascii") -> str:
    return raw.decode(encoding, "backslashreplace")


class DataPayload(NamedTuple):
    """DATA (RFC 9113 §6.1): the body bytes, after any padding is taken off."""

    pad_length: int
    data_start: int  # where the body starts in the payload
    data_end: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> DataPayload:
        start, end, pad = _padding(payload, flags)
        return cls(pad, start, end)

    @property
    def data_length(self) -> int:
        return self.data_end - self.data_start

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pad_length": self.pad_length} if self.data_start else {}
        out["data_length"] = self.data_length
        return out


class HeadersPayload(NamedTuple):
    """HEADERS (RFC 9113 §6.2): optional padding and priority, then a field block fragment."""

    pad_length: int
    padded: bool
    exclusive: bool | None  # None: no PRIORITY flag
    stream_dependency: int | None
    weight: int | None  # 1-256, as RFC 9113 counts it
    fragment_start: int
    fragment_end: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> HeadersPayload:
        start, end, pad = _padding(payload, flags)
        exclusive = dependency = weight = None
        if flags & PRIORITY_FLAG:
            if start + 5 > end:
                raise FieldError("payload too short for its fixed fields")
            dep, w = _PRIORITY.unpack_from(payload, start)
            exclusive, dependency, weight = bool(dep >> 31), dep & STREAM_ID_MASK, w + 1
            start += 5
        return cls(pad, bool(flags & PADDED), exclusive, dependency, weight, start, end)

    def fragment(self, payload: bytes) -> bytes:
        """The field block fragment this frame carries."""
        return payload[self.fragment_start:self.fragment_end]

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pad_length": self.pad_length} if self.padded else {}
        if self.exclusive is not None:
            out.update(exclusive=self.exclusive, stream_dependency=self.stream_dependency, weight=self.weight)
        out["field_block_length"] = self.fragment_end - self.fragment_start
        return out


class PriorityPayload(NamedTuple):
    """PRIORITY (RFC 9113 §6.3): the sender's view of the stream's place in the tree."""

    exclusive: bool
    stream_dependency: int
    weight: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> PriorityPayload:
        if len(payload) < 5:
            raise FieldError("payload too short for its fields")
        dep, weight = _PRIORITY.unpack_from(payload)
        return cls(bool(dep >> 31), dep & STREAM_ID_MASK, weight + 1)

    def fields(self) -> dict[str, Any]:
        return self._asdict()


class RstStreamPayload(NamedTuple):
    """RST_STREAM (RFC 9113 §6.4): why the stream ends at once."""

    error_code: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> RstStreamPayload:
        return cls(_u32(payload))

    def fields(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "error": error_name(self.error_code)}


class SettingsPayload(NamedTuple):
    """SETTINGS (RFC 9113 §6.5): (identifier, value) pairs in wire order."""

    settings: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> SettingsPayload:
        if len(payload) % 6:
            raise FieldError(f"SETTINGS length {len(payload)} is not a multiple of 6")
        return cls(settings_pairs(payload))

    def fields(self) -> dict[str, Any]:
        return {"settings": [(setting_name(k), v) for k, v in self.settings]}


def settings_pairs(payload: bytes) -> tuple[tuple[int, int], ...]:
    """Every whole (identifier, value) pair of a SETTINGS payload; a ragged tail is left out."""
    return tuple(_SETTING.iter_unpack(payload[:len(payload) - len(payload) % 6]))


class PushPromisePayload(NamedTuple):
    """PUSH_PROMISE (RFC 9113 §6.6): the stream the server will push, and its request's fragment."""

    pad_length: int
    padded: bool
    promised_stream_id: int
    fragment_start: int
    fragment_end: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> PushPromisePayload:
        start, end, pad = _padding(payload, flags)
        if start + 4 > end:
            raise FieldError("payload too short for its fixed fields")
        promised = _u32(payload, start) & STREAM_ID_MASK
        return cls(pad, bool(flags & PADDED), promised, start + 4, end)

    def fragment(self, payload: bytes) -> bytes:
        """The field block fragment this frame carries."""
        return payload[self.fragment_start:self.fragment_end]

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pad_length": self.pad_length} if self.padded else {}
        out["promised_stream_id"] = self.promised_stream_id
        out["field_block_length"] = self.fragment_end - self.fragment_start
        return out


class PingPayload(NamedTuple):
    """PING (RFC 9113 §6.7): 8 bytes the peer echoes back with ACK."""

    opaque_data: bytes

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> PingPayload:
        return cls(bytes(payload[:8]))

    def fields(self) -> dict[str, Any]:
        return {"opaque_data": self.opaque_data.hex()}


class GoawayPayload(NamedTuple):
    """GOAWAY (RFC 9113 §6.8): the last stream the sender will process, why, and debug data."""

    last_stream_id: int
    error_code: int
    debug_data: bytes

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> GoawayPayload:
        if len(payload) < 8:
            raise FieldError("payload too short for its fields")
        last, code = _GOAWAY.unpack_from(payload)
        return cls(last & STREAM_ID_MASK, code, bytes(payload[8:]))

    def fields(self) -> dict[str, Any]:
        return {"last_stream_id": self.last_stream_id, "error_code": self.error_code,
                "error": error_name(self.error_code), "debug_data": _text(self.debug_data, "utf-8")}


class WindowUpdatePayload(NamedTuple):
    """WINDOW_UPDATE (RFC 9113 §6.9): how much more the peer may send; the reserved bit masked."""

    increment: int
    reserved_bit: bool

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> WindowUpdatePayload:
        raw = _u32(payload)
        return cls(raw & STREAM_ID_MASK, bool(raw >> 31))

    def fields(self) -> dict[str, Any]:
        return {"window_size_increment": self.increment}


class ContinuationPayload(NamedTuple):
    """CONTINUATION (RFC 9113 §6.10): the next fragment of a field block; all of it is fragment."""

    fragment_length: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> ContinuationPayload:
        return cls(len(payload))

    def fragment(self, payload: bytes) -> bytes:
        """The field block fragment this frame carries."""
        return payload

    def fields(self) -> dict[str, Any]:
        return {"field_block_length": self.fragment_length}


class AltsvcPayload(NamedTuple):
    """ALTSVC (RFC 7838 §4): an alternative service for an origin."""

    origin: str
    field_value: str

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> AltsvcPayload:
        if len(payload) < 2:
            raise FieldError("payload too short for its fields")
        n = _U16.unpack_from(payload)[0]
        return cls(_text(payload[2:2 + n]), _text(payload[2 + n:]))

    def fields(self) -> dict[str, Any]:
        return {"origin": self.origin, "alt_svc_field_value": self.field_value}


class OriginPayload(NamedTuple):
    """ORIGIN (RFC 8336 §2): the origins this connection is authoritative for."""

    origins: tuple[str, ...]

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> OriginPayload:
        origins, i = [], 0
        while i + 2 <= len(payload):
            n = _U16.unpack_from(payload, i)[0]
            origins.append(_text(payload[i + 2:i + 2 + n]))
            i += 2 + n
        return cls(tuple(origins))

    def fields(self) -> dict[str, Any]:
        return {"origins": list(self.origins)}


class PriorityUpdatePayload(NamedTuple):
    """PRIORITY_UPDATE (RFC 9218 §7.1): a stream's new Priority field value."""

    prioritized_stream_id: int
    priority_field_value: str

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> PriorityUpdatePayload:
        return cls(_u32(payload) & STREAM_ID_MASK, _text(payload[4:]))

    def fields(self) -> dict[str, Any]:
        return self._asdict()


class UnknownPayload(NamedTuple):
    """A frame type this tool does not know (RFC 9113 §5.5: ignored, shown as is)."""

    payload_length: int

    @classmethod
    def parse(cls, flags: int, payload: bytes) -> UnknownPayload:
        return cls(len(payload))

    def fields(self) -> dict[str, Any]:
        return self._asdict()


AnyPayload = (DataPayload | HeadersPayload | PriorityPayload | RstStreamPayload | SettingsPayload
              | PushPromisePayload | PingPayload | GoawayPayload | WindowUpdatePayload | ContinuationPayload
              | AltsvcPayload | OriginPayload | PriorityUpdatePayload | UnknownPayload)

#: type code -> the class that decodes its payload.
PAYLOAD_TYPES: dict[int, type[AnyPayload]] = {
    FrameType.DATA: DataPayload,
    FrameType.HEADERS: HeadersPayload,
    FrameType.PRIORITY: PriorityPayload,
    FrameType.RST_STREAM: RstStreamPayload,
    FrameType.SETTINGS: SettingsPayload,
    FrameType.PUSH_PROMISE: PushPromisePayload,
    FrameType.PING: PingPayload,
    FrameType.GOAWAY: GoawayPayload,
    FrameType.WINDOW_UPDATE: WindowUpdatePayload,
    FrameType.CONTINUATION: ContinuationPayload,
    FrameType.ALTSVC: AltsvcPayload,
    FrameType.ORIGIN: OriginPayload,
    FrameType.PRIORITY_UPDATE: PriorityUpdatePayload,
}


def parse_payload(type_code: int, flags: int, payload: bytes) -> AnyPayload:
    """The typed fields of one frame's payload; raises FieldError when it is malformed."""
    try:
        return PAYLOAD_TYPES.get(type_code, UnknownPayload).parse(flags, payload)
    except struct.error as exc:  # a field read past the end: the same fault as a short payload
        raise FieldError(str(exc)) from None


def parse_fields(type_code: int, flags: int, payload: bytes) -> dict[str, Any]:
    """Every field of a frame's payload by its RFC name, for the detail views; a malformed
    payload gives {"malformed": why}."""
    try:
        return parse_payload(type_code, flags, payload).fields()
    except FieldError as exc:
        return {"malformed": str(exc) or "payload too short for its fields"}


def header_block_fragment(type_code: int, flags: int, payload: bytes) -> bytes:
    """The field block fragment carried by HEADERS, PUSH_PROMISE or CONTINUATION."""
    parsed = parse_payload(type_code, flags, payload)
    if not isinstance(parsed, HeadersPayload | PushPromisePayload | ContinuationPayload):
        raise FieldError(f"type {type_code} carries no field block")
    return parsed.fragment(payload)


def data_body(flags: int, payload: bytes) -> bytes:
    """The body bytes of a DATA payload (padding taken off); a malformed pad gives what there is."""
    if not flags & PADDED:
        return payload
    try:
        start, end, _ = _padding(payload, flags)
    except FieldError:
        return payload
    return payload[start:end]


def control_value(type_code: int, flags: int, payload: bytes) -> int:
    """The one value a control frame's row shows, kept in its frame record so a view of many
    such rows reads no payload: RST_STREAM's error code, WINDOW_UPDATE's increment, GOAWAY's
    last stream id, PUSH_PROMISE's promised stream; 0 for the others or a malformed payload."""
    try:
        if type_code == FrameType.RST_STREAM:
            return RstStreamPayload.parse(flags, payload).error_code
        if type_code == FrameType.WINDOW_UPDATE:
            return WindowUpdatePayload.parse(flags, payload).increment
        if type_code == FrameType.GOAWAY:
            return GoawayPayload.parse(flags, payload).last_stream_id
        if type_code == FrameType.PUSH_PROMISE:
            return PushPromisePayload.parse(flags, payload).promised_stream_id
    except (FieldError, struct.error):
        return 0
    return 0
