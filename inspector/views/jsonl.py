"""`dump --format jsonl`: one JSON object per HTTP/2 frame (the contract in DESIGN.md).

Written for speed: the parts of a line that repeat (connection, type and
flags, a decoded header list) are serialised once and reused.
"""

from __future__ import annotations

import json
from typing import Iterator

from inspector.http2.frames import flag_names, type_name
from inspector.model import Role, Session

_ROLE_JSON = {r: json.dumps(r.label) for r in Role}


class JsonlFrames:
    """Formats frames of one session as JSON lines."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._conn_part: dict[tuple[int, int], str] = {}
        self._type_part: dict[tuple[int, int], str] = {}
        self._headers_part: dict[int, str] = {}  # id(header tuple) -> JSON

    def _conn(self, conn: int, direction: int) -> str:
        key = (conn, direction)
        part = self._conn_part.get(key)
        if part is None:
            c = self.session.connection(conn)
            client, server = (c.client, c.server) if c else ("", "")
            part = self._conn_part[key] = (
                f'"conn":{conn},"client":{json.dumps(client)},"server":{json.dumps(server)},'
                f'"from":"{"client" if direction == 0 else "server"}"')
        return part

    def _type(self, type_code: int, flags: int) -> str:
        key = (type_code, flags)
        part = self._type_part.get(key)
        if part is None:
            part = self._type_part[key] = (
                f'"type":"{type_name(type_code)}","type_code":{type_code},"flags":{flags},'
                f'"flag_names":{json.dumps(list(flag_names(type_code, flags)))}')
        return part

    def _headers(self, block: int) -> str:
        blocks = self.session.header_blocks
        headers = blocks.headers[block]
        key = id(headers)
        part = self._headers_part.get(key)
        if part is None:
            if len(self._headers_part) > 100_000:
                self._headers_part.clear()
            part = json.dumps([list(h) for h in headers], ensure_ascii=False)
            self._headers_part[key] = part
        return f',"headers":{part},"role":{_ROLE_JSON[Role(blocks.role[block])]}'

    def lines(self, start: int = 0, end: int | None = None,
              stream: int | None = None) -> Iterator[str]:
        """JSON lines for frames [start, end) of the log, optionally of one stream id."""
        log = self.session.frames
        if end is None:
            end = len(log)
        conn_a, dir_a, packet_a, time_a = log.conn, log.direction, log.packet, log.time
        sid_a, type_a, flags_a, len_a, hb_a = (log.stream_id, log.type_code, log.flags, log.length,
                                               log.header_block)
        conn_part, type_part, headers = self._conn, self._type, self._headers
        for i in range(start, end):
            sid = sid_a[i]
            if stream is not None and sid != stream:
                continue
            hb = hb_a[i]
            yield (f'{{"packet":{packet_a[i]},"time":{time_a[i]!r},{conn_part(conn_a[i], dir_a[i])},'
                   f'"stream_id":{sid},{type_part(type_a[i], flags_a[i])},"length":{len_a[i]}'
                   f'{headers(hb) if hb >= 0 else ""}}}\n')
