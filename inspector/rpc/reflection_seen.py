"""Reflection exchanges found in the traffic become the schema of their connection.

A client such as grpcurl asks the server by reflection (ServerReflectionInfo, v1 or
v1alpha) and then calls it on the same connection. The file descriptors in the
responses' file_descriptor_response are all a schema needs, so that connection's
messages are decoded by name without asking anyone. The call log hands each
reflection call here when it opens and calls `update` after each batch: the
responses are read as they become whole (a grpcurl stream stays open for the whole
session), each one once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.rpc.reflection_protocol import ReflectionProtocolError, parse_response
from inspector.rpc.schema import Schema

if TYPE_CHECKING:
    from inspector.rpc.calls import CallLog, GrpcCall

SCHEMA_RULE, UNREADABLE_RULE = "grpc.reflection-schema", "grpc.reflection-unreadable"


class ReflectionSeen:
    """The reflection calls of a session, and how many of each one's responses were read."""

    __slots__ = ("log", "calls", "read", "told", "seen")

    def __init__(self, log: CallLog) -> None:
        self.log = log
        self.calls: list[GrpcCall] = []
        self.read: list[int] = []  # responses of calls[i] already read
        self.told: set[int] = set()  # connection indexes whose schema was reported
        self.seen = False  # a reflection call was ever watched (its calls may be let go since)

    def watch(self, call: GrpcCall) -> None:
        """A reflection call opened (its :path is a ServerReflectionInfo method)."""
        self.seen = True
        self.calls.append(call)
        self.read.append(0)

    def update(self) -> None:
        """Read the responses that became whole since the last look; a call that is over and
        read to its end is let go (a client may open a stream per question: hundreds of them)."""
        kept_calls, kept_read = [], []
        for call, n in zip(self.calls, self.read, strict=True):
            responses = call.responses
            while n < len(responses):
                message = responses[n]
                if not message.whole:
                    if not message.ended:
                        break  # still arriving
                    n += 1  # cut short: nothing to read
                    continue
                n += 1
                self._take(call, message.data, message.frames[-1])
            if n < len(responses) or call.ended_by == "capture-end":
                kept_calls.append(call)
                kept_read.append(n)
        self.calls, self.read = kept_calls, kept_read

    def _take(self, call: GrpcCall, data: bytes | None, frame: int) -> None:
        if data is None:
            return
        log = self.log
        try:
            response = parse_response(data)
        except ReflectionProtocolError as exc:
            log.report(UNREADABLE_RULE, f"a reflection response that cannot be read ({exc}); it is not used "
                       "as a schema", conn_index=call.conn_index, stream_id=call.stream_id, frame=frame)
            return
        if response.kind != "files" or not response.files:
            return
        schema = log.connection_schemas.get(call.conn_index)
        if schema is None:
            schema = log.connection_schemas[call.conn_index] = Schema()
        before = set(schema.methods)
        problems = schema.add_serialized(response.files)
        for problem in problems:
            log.report(UNREADABLE_RULE, f"a file descriptor in a reflection response cannot be used: {problem}",
                       conn_index=call.conn_index, stream_id=call.stream_id, frame=frame)
        added = sorted({path[1:].rsplit("/", 1)[0] for path in schema.methods if path not in before})
        if added and call.conn_index not in self.told:
            self.told.add(call.conn_index)
            log.report(SCHEMA_RULE, f"the schema of this connection comes from the reflection exchange on stream "
                       f"{call.stream_id} ({', '.join(added)}): its messages are decoded by name",
                       conn_index=call.conn_index, stream_id=call.stream_id, frame=frame)
