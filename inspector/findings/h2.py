"""Checkers of the h2.* header rules: what a decoded header list may hold (RFC 9113 §8).

`lint_block` is a pure function of (headers, role), so its result is kept per
header tuple: real traffic sends the same blocks over and over and the
decoder hands out the same tuple for each, so most blocks cost one lookup.
"""

from __future__ import annotations

from typing import NamedTuple

from inspector.model import Role

Header = tuple[str, str]
REQUEST_PSEUDO = frozenset({":method", ":scheme", ":path", ":authority", ":protocol"})
CONNECTION_SPECIFIC = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
ENTRY_OVERHEAD = 32  # RFC 7541 §4.1: a field's size is its name, its value and 32
NO_LENGTH, BAD_LENGTH = -1, -2


class BlockLint(NamedTuple):
    """What one header list breaks, and the facts later rules need from it."""

    problems: tuple[tuple[str, str], ...]  # (rule id, message)
    content_length: int  # NO_LENGTH, BAD_LENGTH, or the value
    size: int  # decoded size as RFC 7541 counts it (name + value + 32 per field)
    method: str | None
    status: str | None
    grpc: bool  # a request that says content-type application/grpc...


def lint_block(headers: tuple[Header, ...], role: Role) -> BlockLint:
    """The h2.* problems of one decoded header list in its role."""
    problems: list[tuple[str, str]] = []
    size = 0
    seen_regular = False
    pseudo: dict[str, str] = {}
    lengths: set[str] = set()
    grpc = False
    unknown = False
    for name, value in headers:
        size += len(name) + len(value) + ENTRY_OVERHEAD
        if name[:1] == "<":  # an entry indexed before the capture began: nothing to say about it
            unknown = True
            continue
        if name[:1] == ":":
            if seen_regular:
                problems.append(("h2.pseudo-header", f"pseudo-header {name} after regular fields"))
            if name in pseudo:
                problems.append(("h2.pseudo-header", f"{name} appears twice"))
            pseudo[name] = value
            continue
        seen_regular = True
        if name != name.lower():
            problems.append(("h2.header-uppercase", f"field name {name!r} has uppercase letters"))
        lowered = name.lower()
        if lowered in CONNECTION_SPECIFIC:
            problems.append(("h2.connection-header", f"connection-specific field {lowered}: {value}"))
        elif lowered == "te" and value.strip().lower() != "trailers":
            problems.append(("h2.connection-header", f"te: {value} (only 'trailers' is allowed)"))
        elif lowered == "content-length":
            lengths.add(value.strip())
        elif lowered == "content-type" and value.startswith("application/grpc"):
            grpc = True
    content_length = NO_LENGTH
    if lengths:
        value = lengths.pop() if len(lengths) == 1 else ""
        content_length = int(value) if value.isdigit() else BAD_LENGTH
        if content_length == BAD_LENGTH:
            problems.append(("h2.content-length", "content-length is not one decimal number"))
    # A field indexed before the capture began may be the pseudo-header that looks missing.
    if role in (Role.REQUEST, Role.PUSH_REQUEST):
        problems += _request_pseudo(pseudo, unknown)
    elif role in (Role.RESPONSE, Role.INFORMATIONAL) or (role is Role.TRAILERS and ":status" in pseudo):
        # (a server's TRAILERS block with :status is a Trailers-Only gRPC response)
        problems += _response_pseudo(pseudo, unknown)
    elif role is Role.TRAILERS and pseudo:
        problems.append(("h2.pseudo-header", f"pseudo-header {next(iter(pseudo))} in trailers"))
    return BlockLint(tuple(problems), content_length, size, pseudo.get(":method"), pseudo.get(":status"),
                     grpc and role is Role.REQUEST)


def _request_pseudo(pseudo: dict[str, str], unknown: bool = False) -> list[tuple[str, str]]:
    problems = [("h2.pseudo-header", f"{name} is not a request pseudo-header")
                for name in pseudo if name not in REQUEST_PSEUDO]
    method = pseudo.get(":method")
    if unknown:
        return problems  # what looks missing may be among the fields the capture cannot read
    if method is None:
        problems.append(("h2.pseudo-header", "request without :method"))
    elif method == "CONNECT" and ":protocol" not in pseudo:
        if ":authority" not in pseudo:
            problems.append(("h2.pseudo-header", "CONNECT without :authority"))
        problems += [("h2.pseudo-header", f"CONNECT with {name}") for name in (":scheme", ":path") if name in pseudo]
    else:
        problems += [("h2.pseudo-header", f"request without {name}") for name in (":scheme", ":path")
                     if name not in pseudo]
        if pseudo.get(":path") == "":
            problems.append(("h2.pseudo-header", ":path is empty"))
    return problems


def _response_pseudo(pseudo: dict[str, str], unknown: bool = False) -> list[tuple[str, str]]:
    problems = [("h2.pseudo-header", f"{name} in a response") for name in pseudo if name != ":status"]
    status = pseudo.get(":status")
    if status is None:
        if not unknown:
            problems.append(("h2.pseudo-header", "response without :status"))
    elif not (len(status) == 3 and status.isdigit()):
        problems.append(("h2.pseudo-header", f":status {status!r} is not a 3-digit code"))
    return problems


def has_no_content(status: str | None) -> bool:
    """Responses HTTP defines as having no content, whatever content-length says (RFC 9110 §6.4.1)."""
    return status is not None and (status[:1] == "1" or status in ("204", "304"))
