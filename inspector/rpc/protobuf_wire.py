"""Protobuf wire format without a schema: field numbers, wire types, values,
and nested messages where the bytes parse as one (as `protoc --decode_raw` does).

Hostile messages cost bounded work and memory: nested messages are walked
with an explicit stack over one memoryview (no recursion, no copies), at most
NESTING_LIMIT levels deep (deeper ones are shown raw, with a note), and one
message gives at most LINE_LIMIT lines of text.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
WIRE_NAMES = {VARINT: "varint", I64: "i64", LEN: "len", I32: "i32"}

NESTING_LIMIT = 100  # the protobuf library's own default recursion limit
LINE_LIMIT = 10_000  # lines of text for one message
TEXT_SHOWN = 80  # characters of a string field shown (77 and "..." when longer)
BYTES_SHOWN = 24  # bytes of a bytes field shown in hex

Buffer = bytes | memoryview


class WireField(NamedTuple):
    """One field as it is on the wire."""

    number: int
    wire_type: int
    value: int | bytes


def _varint(data: Buffer, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _field_at(data: Buffer, pos: int) -> tuple[int, int, int, int]:
    """(number, wire type, value, next position) of the field at `pos`.

    For a length-delimited field the value is where its bytes start; they end
    at the next position. ValueError when the bytes are not a field."""
    key, pos = _varint(data, pos)
    number, wire_type = key >> 3, key & 7
    if number == 0:
        raise ValueError("field number 0")
    if wire_type == VARINT:
        value, pos = _varint(data, pos)
        return number, wire_type, value, pos
    if wire_type == I64:
        if pos + 8 > len(data):
            raise ValueError("i64 runs past the end")
        return number, wire_type, struct.unpack_from("<Q", data, pos)[0], pos + 8
    if wire_type == I32:
        if pos + 4 > len(data):
            raise ValueError("i32 runs past the end")
        return number, wire_type, struct.unpack_from("<I", data, pos)[0], pos + 4
    if wire_type == LEN:
        length, pos = _varint(data, pos)
        if pos + length > len(data):
            raise ValueError("length-delimited field runs past the end")
        return number, wire_type, pos, pos + length
    raise ValueError(f"wire type {wire_type} (groups are not decoded)")


def decode_fields(data: bytes) -> list[WireField]:
    """Every top-level field; ValueError when the bytes are not a protobuf message."""
    fields: list[WireField] = []
    pos = 0
    while pos < len(data):
        number, wire_type, value, end = _field_at(data, pos)
        fields.append(WireField(number, wire_type, bytes(data[value:end]) if wire_type == LEN else value))
        pos = end
    return fields


def _check_message(data: Buffer) -> None:
    """ValueError unless every top-level field of `data` parses (nothing is kept)."""
    pos = 0
    while pos < len(data):
        pos = _field_at(data, pos)[3]


_NEWLINE_TAB = str.maketrans("", "", "\n\t")


def _printable(raw: Buffer) -> str | None:
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError:
        return None
    # C-speed checks (a character loop takes seconds on a 4 MiB field); newlines and tabs are allowed
    return text if text.isprintable() or text.translate(_NEWLINE_TAB).isprintable() else None


def _bytes_line(prefix: str, raw: memoryview) -> str:
    shown = raw[:BYTES_SHOWN].hex()
    return f"{prefix}<{len(raw)} bytes> {shown}" + ("..." if len(raw) > BYTES_SHOWN else "")


def format_raw(data: bytes, indent: str = "") -> list[str]:
    """Lines like `2: "hello"`, `3 {` ... `}`, `4: 150`, for a message without its schema."""
    view = memoryview(data)
    try:
        _check_message(view)
    except ValueError as exc:
        return [f"{indent}(not protobuf: {exc}) {data[:32].hex()}{'...' if len(data) > 32 else ''}"]
    lines: list[str] = []
    # One entry per message being walked: its bytes, where the next field starts,
    # and how far its bytes lie from the start of `data` (for the note at LINE_LIMIT).
    stack: list[tuple[memoryview, int, int]] = [(view, 0, 0)]
    while stack:
        message, pos, base = stack[-1]
        depth = len(stack) - 1
        if pos >= len(message):
            stack.pop()
            if stack:
                lines.append(f"{indent}{'  ' * (depth - 1)}}}")
            continue
        if len(lines) >= LINE_LIMIT:
            lines.append(f"{indent}... (output stops at {LINE_LIMIT} lines, LINE_LIMIT: the last "
                         f"{len(data) - base - pos} bytes of the message are not shown)")
            break
        number, wire_type, value, end = _field_at(message, pos)  # checked before it was pushed
        stack[-1] = (message, end, base)
        prefix = f"{indent}{'  ' * depth}{number}"
        if wire_type == LEN:
            raw = message[value:end]
            text = _printable(raw)
            if text is not None:
                shown = text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN - 3] + "..."
                lines.append(f"{prefix}: {shown!r}")
                continue
            if depth + 1 > NESTING_LIMIT:
                lines.append(_bytes_line(f"{prefix}: ", raw)
                             + f" (nested deeper than {NESTING_LIMIT} levels, NESTING_LIMIT: shown raw)")
                continue
            try:
                _check_message(raw)
            except ValueError:
                lines.append(_bytes_line(f"{prefix}: ", raw))
                continue
            lines.append(f"{prefix} {{")
            stack.append((raw, 0, base + value))
        elif wire_type == I32:
            as_float = struct.unpack("<f", struct.pack("<I", value))[0]
            lines.append(f"{prefix}: {value} (i32, float {as_float:g})")
        elif wire_type == I64:
            lines.append(f"{prefix}: {value} (i64)")
        else:
            lines.append(f"{prefix}: {value}")
    return lines
