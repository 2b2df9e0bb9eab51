"""`h2inspect rpcs`: one gRPC call per line (text), or one JSON object per call."""

from __future__ import annotations

import json
from collections.abc import Iterator

from inspector.model import Direction
from inspector.rpc.calls import GrpcCall, decode_payload
from inspector.rpc.schema import Schema
from inspector.rpc.status import format_duration, status_name

NOTE = ("An HTTP/2 stream is not a gRPC stream: every call, unary too, is one HTTP/2 stream; "
        "'streaming' means several messages on it.")


def jsonl_lines(calls: list[GrpcCall]) -> Iterator[str]:
    """The public contract (docs/ARCHITECTURE.md): one object per call."""
    for call in calls:
        yield json.dumps(call.as_json(), ensure_ascii=False) + "\n"


def _status(call: GrpcCall) -> str:
    code = call.grpc_status  # worked out from the call's blocks each time: once here
    if code is None:
        return "no status"
    text = f"{status_name(code)} ({code})"
    message = call.grpc_message
    if message:
        text += f" {message!r}"
    return text


def text_lines(calls: list[GrpcCall], *, verbose: bool = False, schema: Schema | None = None) -> Iterator[str]:
    """One line per call: where, method, style, messages each way, status, duration, how it ended."""
    if not calls:
        yield "no gRPC calls (no stream with content-type application/grpc)\n"
        return
    uncertain = False
    for call in calls:
        style, source, certain, note = call.style_facts
        mark = "" if certain else "*"
        uncertain |= not certain
        rst = call.rst_error
        ended = call.ended_by + (f" {rst}" if rst else "")
        yield (f"conn {call.conn_index} stream {call.stream_id:<5} {call.method}  {style}{mark} "
               f"({source})  {call.request_count} → {call.response_count}  {_status(call)}  "
               f"{format_duration(call.duration)}  ended by {ended}\n")
        if verbose:
            yield from _details(call, schema, note)
    if uncertain:
        yield ("* style from traffic alone, which cannot always tell: one message each way looks unary "
               "whatever the method is. Give --proto to know.\n")
    yield NOTE + "\n"


def _details(call: GrpcCall, schema: Schema | None, style_note: str) -> Iterator[str]:
    pad = " " * 4
    timeout = call.timeout
    if timeout is not None:
        yield f"{pad}deadline: grpc-timeout {format_duration(timeout)}\n"
    for name, value in call.request_metadata:
        yield f"{pad}request metadata  {name}: {value}\n"
    if style_note:
        yield f"{pad}style: {style_note}\n"
    for message in sorted(call.requests + call.responses, key=lambda m: (m.frames[0], m.direction)):
        arrow = "→" if message.direction is Direction.CLIENT else "←"
        flags = " compressed" if message.compressed else ""
        yield (f"{pad}{arrow} {message.label} #{message.index + 1}  {message.length} bytes{flags}  "
               f"in frame(s) {', '.join(str(f) for f in message.frames)}\n")
        for line in decode_payload(message, call, schema).splitlines():
            yield f"{pad}    {line}\n"
    for name, value in call.trailers:
        yield f"{pad}trailers  {name}: {value}\n"
    if call.status_details:
        yield f"{pad}status details: {json.dumps(call.status_details, ensure_ascii=False)}\n"
    for problem in call.problems:
        yield f"{pad}! {problem}\n"
    for finding in call.findings:
        times = f" [x{finding.count}]" if finding.count > 1 else ""
        ref = f" ({finding.reference})" if finding.reference else ""
        yield f"{pad}! {finding.severity.name.lower()} {finding.rule}: {finding.message}{times}{ref}\n"
