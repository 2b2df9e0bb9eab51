"""gRPC statuses and the headers that carry call state (gRPC PROTOCOL-HTTP2.md).

Status code names, what an RST_STREAM error code means as a gRPC status,
`grpc-message` percent-decoding, `grpc-timeout` as seconds, and
`grpc-status-details-bin` (google.rpc.Status) decoded without a schema.
"""

from __future__ import annotations

import base64
import binascii
from enum import IntEnum
from urllib.parse import unquote_to_bytes

from inspector.http2.frames import ErrorCode
from inspector.rpc.protobuf_wire import decode_fields


class GrpcStatus(IntEnum):
    """gRPC status codes (grpc/doc/statuscodes.md)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


STATUS_NAMES = {status.value: status.name for status in GrpcStatus}

#: RST_STREAM error code -> the gRPC status a client reports (PROTOCOL-HTTP2.md, "Errors").
RST_TO_STATUS: dict[int, GrpcStatus] = {
    ErrorCode.NO_ERROR: GrpcStatus.INTERNAL, ErrorCode.PROTOCOL_ERROR: GrpcStatus.INTERNAL,
    ErrorCode.INTERNAL_ERROR: GrpcStatus.INTERNAL, ErrorCode.FLOW_CONTROL_ERROR: GrpcStatus.INTERNAL,
    ErrorCode.SETTINGS_TIMEOUT: GrpcStatus.INTERNAL, ErrorCode.FRAME_SIZE_ERROR: GrpcStatus.INTERNAL,
    ErrorCode.REFUSED_STREAM: GrpcStatus.UNAVAILABLE, ErrorCode.CANCEL: GrpcStatus.CANCELLED,
    ErrorCode.COMPRESSION_ERROR: GrpcStatus.INTERNAL, ErrorCode.CONNECT_ERROR: GrpcStatus.INTERNAL,
    ErrorCode.ENHANCE_YOUR_CALM: GrpcStatus.RESOURCE_EXHAUSTED,
    ErrorCode.INADEQUATE_SECURITY: GrpcStatus.PERMISSION_DENIED,
}

_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def status_name(code: int | None) -> str | None:
    """OK, CANCELLED, ... or "STATUS_n" for a code gRPC does not define."""
    if code is None:
        return None
    return STATUS_NAMES.get(code, f"STATUS_{code}")


def parse_status(value: str | None) -> int | None:
    """The integer in a grpc-status header, or None when absent or not a number."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def decode_grpc_message(value: str | None) -> str | None:
    """grpc-message is percent-encoded UTF-8."""
    if value is None:
        return None
    return unquote_to_bytes(value).decode("utf-8", "replace")


def parse_timeout(value: str | None) -> float | None:
    """grpc-timeout ("100m", "5S", ...) in seconds, or None when absent or malformed."""
    if not value or value[-1] not in _TIMEOUT_UNITS or not value[:-1].isdigit() or len(value) > 9:
        return None
    return int(value[:-1]) * _TIMEOUT_UNITS[value[-1]]


def format_duration(seconds: float | None) -> str:
    """A short human duration: 250 ms, 1.5 s, 2 min."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} min"


def decode_status_details(value: str | None) -> dict | None:
    """grpc-status-details-bin: base64 of google.rpc.Status {code=1, message=2, details=3 (Any)}."""
    if not value:
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return {"error": "not base64"}
    status: dict = {"code": None, "message": None, "details": []}
    try:
        for field in decode_fields(raw):
            if field.number == 1 and field.wire_type == 0:
                status["code"] = field.value
            elif field.number == 2 and field.wire_type == 2:
                status["message"] = bytes(field.value).decode("utf-8", "replace")
            elif field.number == 3 and field.wire_type == 2:
                detail: dict[str, str | None] = {"type_url": None, "value": None}
                for sub in decode_fields(bytes(field.value)):
                    if sub.number == 1:
                        detail["type_url"] = bytes(sub.value).decode("utf-8", "replace")
                    elif sub.number == 2:
                        detail["value"] = bytes(sub.value).hex()
                status["details"].append(detail)
    except ValueError as exc:
        return {"error": str(exc)}
    return status
