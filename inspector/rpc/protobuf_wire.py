"""Protobuf wire format without a schema: field numbers, wire types, values,
and nested messages where the bytes parse as one (as `protoc --decode_raw` does)."""

from __future__ import annotations

import struct
from typing import NamedTuple

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
WIRE_NAMES = {VARINT: "varint", I64: "i64", LEN: "len", I32: "i32"}


class WireField(NamedTuple):
    """One field as it is on the wire."""

    number: int
    wire_type: int
    value: int | bytes


def _varint(data: bytes, pos: int) -> tuple[int, int]:
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


def decode_fields(data: bytes) -> list[WireField]:
    """Every top-level field; ValueError when the bytes are not a protobuf message."""
    fields: list[WireField] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire_type == VARINT:
            value, pos = _varint(data, pos)
        elif wire_type == I64:
            if pos + 8 > len(data):
                raise ValueError("i64 runs past the end")
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire_type == I32:
            if pos + 4 > len(data):
                raise ValueError("i32 runs past the end")
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        elif wire_type == LEN:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("length-delimited field runs past the end")
            value, pos = data[pos:pos + length], pos + length
        else:
            raise ValueError(f"wire type {wire_type} (groups are not decoded)")
        fields.append(WireField(number, wire_type, value))
    return fields


def _printable(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\n\t" for c in text) else None


def format_raw(data: bytes, indent: str = "") -> list[str]:
    """Lines like `2: "hello"`, `3 {` ... `}`, `4: 150`, for a message without its schema."""
    try:
        fields = decode_fields(data)
    except ValueError as exc:
        return [f"{indent}(not protobuf: {exc}) {data[:32].hex()}{'...' if len(data) > 32 else ''}"]
    lines: list[str] = []
    for f in fields:
        if f.wire_type == LEN:
            raw = bytes(f.value)  # type: ignore[arg-type]
            text = _printable(raw)
            nested = None
            if raw and text is None:
                try:
                    decode_fields(raw)
                    nested = raw
                except ValueError:
                    nested = None
            if nested is not None:
                lines.append(f"{indent}{f.number} {{")
                lines += format_raw(nested, indent + "  ")
                lines.append(f"{indent}}}")
            elif text is not None:
                shown = text if len(text) <= 80 else text[:77] + "..."
                lines.append(f"{indent}{f.number}: {shown!r}")
            else:
                lines.append(f"{indent}{f.number}: <{len(raw)} bytes> {raw[:24].hex()}"
                             + ("..." if len(raw) > 24 else ""))
        elif f.wire_type == I32:
            as_float = struct.unpack("<f", struct.pack("<I", f.value))[0]
            lines.append(f"{indent}{f.number}: {f.value} (i32, float {as_float:g})")
        elif f.wire_type == I64:
            lines.append(f"{indent}{f.number}: {f.value} (i64)")
        else:
            lines.append(f"{indent}{f.number}: {f.value}")
    return lines
