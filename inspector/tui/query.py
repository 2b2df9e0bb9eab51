"""What the TUI's boxes understand: the stream filter (words and header terms),
go-to (a stream, a frame, a packet) and search across every stream.

Pure functions of the model and the text typed, so each is testable without a
terminal; the search is a generator that yields its progress, so a worker can
run it on a big capture and the screen can show how far it got.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from inspector.http2 import frames as F
from inspector.http2.payloads import data_body
from inspector.model import Session
from inspector.rpc.calls import decode_payload
from inspector.tui.said import said

_HEADER_TERM = re.compile(r"^(:?[A-Za-z0-9_.-]+)(!=|=|~)(.*)$")


@dataclass(slots=True, frozen=True)
class HeaderTerm:
    """`name=value` (equal), `name!=value` (present, and not equal), `name~text` (contains)."""

    name: str
    op: str
    value: str

    def matches(self, headers: list[tuple[str, str]]) -> bool:
        values = [v for n, v in headers if n == self.name]
        if self.op == "=":
            return any(v == self.value for v in values)
        if self.op == "!=":
            return bool(values) and all(v != self.value for v in values)
        low = self.value.lower()
        return any(low in v.lower() for v in values)

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


@dataclass(slots=True, frozen=True)
class StreamFilter:
    """What the stream filter box says: header terms and plain words, all of which must match."""

    terms: tuple[HeaderTerm, ...]
    words: tuple[str, ...]

    @staticmethod
    def parse(text: str) -> StreamFilter:
        terms, words = [], []
        for part in text.split():
            m = _HEADER_TERM.match(part)
            if m:
                terms.append(HeaderTerm(m.group(1).lower(), m.group(2), m.group(3)))
            else:
                words.append(part.lower())
        return StreamFilter(tuple(terms), tuple(words))

    def __bool__(self) -> bool:
        return bool(self.terms or self.words)

    def describe(self) -> str:
        """The filter in words, for the line above the list."""
        parts = [f"header {t.name} {dict(zip(('=', '!=', '~'), ('is', 'is not', 'contains'), strict=True))[t.op]} "
                 f"'{t.value}'" for t in self.terms]
        parts += [f"'{w}'" for w in self.words]
        return " and ".join(parts)

    def matches(self, summary_text: str, headers: list[tuple[str, str]]) -> bool:
        low = summary_text.lower()
        return all(w in low for w in self.words) and all(t.matches(headers) for t in self.terms)


class StreamHeaders:
    """Every header of every stream (request, response, trailers, pushed request), gathered once
    and extended as the session grows, for header terms of the stream filter."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.done = 0
        self.by_stream: dict[tuple[int, int], list[tuple[str, str]]] = {}

    def of(self, conn_index: int, stream_id: int) -> list[tuple[str, str]]:
        blocks = self.session.header_blocks
        n = len(blocks)
        if self.done < n:
            conns, sids, headers = blocks.column("conn_index"), blocks.column("stream_id"), blocks.headers
            by_stream = self.by_stream
            for hb in range(self.done, n):
                by_stream.setdefault((conns[hb], sids[hb]), []).extend(headers[hb])
            self.done = n
        return self.by_stream.get((conn_index, stream_id), [])


# ---- go to -----------------------------------------------------------------------------------

_GOTO = re.compile(r"^\s*(?:(stream|s|frame|f|#|packet|p)\s*)?(\d+)\s*$", re.IGNORECASE)


@dataclass(slots=True, frozen=True)
class Target:
    """Where go-to leads: a frame (FrameLog index) or a stream, and how to say it (a key of `said.SAID`)."""

    conn_index: int
    stream_id: int | None  # None: the connection's view
    frame: int | None
    where: str  # "where.stream", "where.frame"...
    values: tuple[tuple[str, int], ...]

    def words_in(self, lang: str) -> str:
        """What was found, for the status line."""
        return said(lang, self.where, **dict(self.values))

    @property
    def words(self) -> str:
        return self.words_in("en")


class GotoError(ValueError):
    """Go-to could not find what was asked; `key` and `values` say it in any language (`said`)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(said("en", key, **values))
        self.key = key
        self.values = values

    def words_in(self, lang: str) -> str:
        return said(lang, self.key, **self.values)


def goto(session: Session, text: str, conn_hint: int | None = None) -> Target:
    """`12` or `s12`: stream 12 (of the connection shown, else the first that has it); `f40` or `#40`:
    frame 40 (0-based, as `dump` and `check` count); `p7`: the first frame of packet 7."""
    m = _GOTO.match(text)
    if not m:
        raise GotoError("goto.syntax", text=text)
    kind, number = (m.group(1) or "s").lower(), int(m.group(2))
    log = session.frames
    if kind in ("frame", "f", "#"):
        if not 0 <= number < len(log):
            raise GotoError("goto.no_frame", number=number, last=len(log) - 1)
        if number < log.base:
            raise GotoError("goto.dropped", number=number, first=log.base, last=len(log) - 1)
        conn_index, sid = log.conn_index[number], log.stream_id[number]
        return Target(conn_index, sid if sid else None, number, "where.frame", (("frame", number),))
    if kind in ("packet", "p"):
        packets = log.column("packet")
        import bisect

        i = bisect.bisect_left(packets, number, log.base)  # (frames a bounded history dropped are not there)
        if i >= len(packets) or packets[i] != number:
            raise GotoError("goto.no_packet", number=number)
        sid = log.stream_id[i]
        return Target(log.conn_index[i], sid if sid else None, i, "where.packet", (("packet", number), ("frame", i)))
    conns = [c for c in session.connections if c.index == conn_hint] + \
        [c for c in session.connections if c.index != conn_hint]
    for c in conns:
        if number in c.streams:
            if number == 0:
                return Target(c.index, None, None, "where.connection", (("conn_index", c.index),))
            return Target(c.index, number, None, "where.stream", (("stream", number), ("conn_index", c.index)))
    raise GotoError("goto.no_stream", number=number)


# ---- search ------------------------------------------------------------------------------------


@dataclass(slots=True)
class SearchProgress:
    """How far a search got: frames looked at, of how many, and the matches so far (FrameLog indexes)."""

    done: int
    total: int
    matches: list[int]


def search(session: Session, needle: str, every: int = 2000) -> Iterator[SearchProgress]:
    """Every frame whose headers, payload or decoded gRPC messages hold `needle` (case-insensitive
    for headers and decoded messages, as typed for payload bytes), across all streams, in capture
    order; yields its progress every `every` frames and once at the end."""
    log = session.frames
    blocks = session.header_blocks
    low, raw = needle.lower(), needle.encode()
    raw_low = raw.lower()
    total = len(log)
    found: set[int] = set()
    headers = blocks.headers
    frames_of_blocks = blocks.column("frame")
    for hb in range(blocks.base, len(blocks)):  # (a bounded history keeps the last ones)
        if frames_of_blocks[hb] >= 0 and any(low in n.lower() or low in v.lower() for n, v in headers[hb]):
            found.add(frames_of_blocks[hb])
    calls = session.calls
    for call in calls:
        for m in call.requests + call.responses:
            if m.whole and m.frames and m.frames[0] not in found and m.frames[0] >= log.base:
                try:
                    text = decode_payload(m, call, calls.schema)
                except Exception:  # noqa: BLE001 - a message that cannot be decoded is not a match
                    continue
                if low in text.lower():
                    found.add(m.frames[0])
    types, lengths = log.column("type_code"), log.column("length")
    matches: list[int] = []
    for i in range(log.base, total):
        if i < log.base:  # dropped by a bounded history while the search went on
            continue
        if i in found:
            matches.append(i)
        elif lengths[i] and types[i] == F.FrameType.DATA:
            frame = log[i]
            body = data_body(frame.flags, session.frame_payload(frame))
            if raw in body or raw_low in body.lower():
                matches.append(i)
        if i % every == every - 1:
            yield SearchProgress(i + 1, total, matches)
    yield SearchProgress(total, total, matches)
