"""Forward mode's --reflect: each intercepted host that carries gRPC is asked by server
reflection once, and its schema is given to every connection to it.

`HostReflection.look` is a session listener: after each decoded batch it reads the header
blocks added since it last looked, and the first gRPC request of a connection names that
connection's host. A host not asked yet is handed to `ask` (the proxy runs `reflect` on its
loop's executor, so the relay never waits) with the function to call with the outcome.
Connections of a host still being asked wait for its answer. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from inspector.model import Role, Session
from inspector.rpc.reflection import Reflected, ReflectionError
from inspector.rpc.schema import Schema

SCHEMA_RULE = "grpc.reflection-schema"


class ReflectHost(NamedTuple):
    """Where a host's reflection service is asked: its address, over TLS or not, the name verified."""

    address: str  # "host:port"
    tls: bool
    server_name: str | None = None


Outcome = Reflected | ReflectionError
Ask = Callable[[ReflectHost, Callable[[Outcome], None]], None]


@dataclass(slots=True)
class _Host:
    waiting: list[int] = field(default_factory=list)  # connection indexes until the answer comes
    schema: Schema | None = None
    answered: bool = False


def _grpc_request(headers: tuple[tuple[str, str], ...]) -> bool:
    for name, value in headers:
        if name == "content-type":
            return value.startswith("application/grpc")
    return False


class HostReflection:
    """Which hosts were asked, what each answered, and which connections got which schema."""

    def __init__(self, session: Session, host_of: Callable[[int], ReflectHost | None], ask: Ask) -> None:
        self.session = session
        self.host_of = host_of  # a connection index -> its host (None: nothing to ask, e.g. not intercepted)
        self.ask = ask
        self.hosts: dict[ReflectHost, _Host] = {}
        self.seen: set[int] = set()  # connections whose first gRPC request was looked at
        self.blocks_read = 0

    def look(self, session: Session) -> None:
        """Read the header blocks decoded since the last look (a `Session.listeners` entry)."""
        blocks = session.header_blocks
        end = len(blocks)
        if self.blocks_read >= end:
            return
        conns, roles, headers = blocks.conn_index, blocks.role, blocks.headers
        seen = self.seen
        for hb in range(max(self.blocks_read, blocks.base), end):  # (a bounded history may drop blocks)
            conn_index = conns[hb]
            if conn_index in seen or roles[hb] != Role.REQUEST or not _grpc_request(headers[hb]):
                continue
            seen.add(conn_index)
            self._connection(conn_index)
        self.blocks_read = end

    def _connection(self, conn_index: int) -> None:
        host = self.host_of(conn_index)
        if host is None:
            return
        known = self.hosts.get(host)
        if known is None:
            self.hosts[host] = _Host([conn_index])
            self.ask(host, lambda outcome: self.answered(host, outcome))
        elif known.schema is not None:
            self.session.calls.use_connection_schema(conn_index, known.schema)
        elif not known.answered:
            known.waiting.append(conn_index)

    def answered(self, host: ReflectHost, outcome: Outcome) -> None:
        """The host's answer: a schema for its connections, or why not; one finding either way."""
        state = self.hosts[host]
        state.answered = True
        first = state.waiting[0] if state.waiting else None
        report = self.session.findings_engine.report
        if isinstance(outcome, ReflectionError):
            report(outcome.rule, f"--reflect: {outcome}; its messages are shown in raw wire format",
                   conn_index=first)
            state.waiting.clear()
            return
        state.schema = outcome.schema
        for conn_index in state.waiting:
            self.session.calls.use_connection_schema(conn_index, outcome.schema)
        state.waiting.clear()
        report(SCHEMA_RULE, f"--reflect: {host.address}: {outcome.summary()}: messages decoded by name",
               conn_index=first)
