"""The schema a capture command decodes with: --proto files, and --reflect HOST:PORT (the
server asked by gRPC server reflection before the capture is read).

A server that cannot be asked is not bad input: what happened is a finding
(`grpc.reflection-unavailable` or `-unreadable`) and messages fall back to raw wire format.
A malformed HOST:PORT or a missing --reflect-ca file is bad input (one line, exit 2).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from inspector.errors import UsageError
from inspector.model import Session
from inspector.rpc.reflection import REFLECTION_TIMEOUT, ReflectionError, reflect
from inspector.rpc.schema import Schema, load_schema

SCHEMA_RULE = "grpc.reflection-schema"


@dataclass(slots=True)
class CommandSchema:
    """The schema from the command line, and what asking for it said (findings to report)."""

    schema: Schema | None
    notes: list[tuple[str, str]] = field(default_factory=list)  # (rule id, message)

    def apply(self, session: Session) -> Schema | None:
        """Give the session its schema and its findings; the schema, for the views that take one."""
        if self.schema is not None:
            session.calls.use_schema(self.schema)
        for rule, message in self.notes:
            session.findings_engine.report(rule, message)
        return self.schema


def reflect_target(text: str) -> tuple[str, str]:
    """--reflect's HOST:PORT (or [IPv6]:PORT): the gRPC target and the host name to verify."""
    from inspector.commands.proxy import parse_endpoint

    endpoint = parse_endpoint(text, "--reflect")
    if not endpoint.port:
        raise UsageError(f"--reflect {text!r}: port 0 cannot be asked")
    return str(endpoint), endpoint.host


def command_schema(args: argparse.Namespace) -> CommandSchema:
    """--proto loaded and --reflect asked (blocking for at most REFLECTION_TIMEOUT seconds)."""
    reflect_text = getattr(args, "reflect", None)
    ca = getattr(args, "reflect_ca", None)
    tls = bool(getattr(args, "reflect_tls", False) or ca)
    if (tls or ca) and not reflect_text:
        raise UsageError("--reflect-tls and --reflect-ca only apply with --reflect HOST:PORT")
    target = reflect_target(reflect_text) if reflect_text else None
    roots = None
    if ca:
        if not os.path.isfile(ca):
            raise UsageError(f"--reflect-ca {ca}: no such file")
        with open(ca, "rb") as f:
            roots = f.read()
    schema = load_schema(getattr(args, "proto", None))
    result = CommandSchema(schema)
    if target is None:
        return result
    address, host = target
    try:
        reflected = reflect(address, roots, tls, host, REFLECTION_TIMEOUT)
    except ReflectionError as exc:
        result.notes.append((exc.rule, f"--reflect {exc}; messages are shown in raw wire format"))
        return result
    if schema is None:
        result.schema = reflected.schema
    else:  # --proto first: a file or type it already has is kept as it gave it
        schema.merge(reflected.schema)
    said = f"--reflect {address}: {reflected.summary()}: messages decoded by name"
    if reflected.problems:
        said += f" ({len(reflected.problems)} not described: {reflected.problems[0]})"
    result.notes.append((SCHEMA_RULE, said))
    return result
