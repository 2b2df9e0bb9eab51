"""`dump --format jsonl`: one JSON object per HTTP/2 frame (the public contract: docs/ARCHITECTURE.md).

Written for speed: the parts of a line that repeat (connection, type and
flags, a decoded header list) are serialised once and reused.
"""

from __future__ import annotations

import json

from inspector.http2.frames import flag_names, type_name
from inspector.model import Role, Session

# Serialised header lists kept for reuse, by the identity of the decoded tuple: identical
# blocks share one tuple, so a few thousand cover ordinary traffic; a capture where every
# block is unique (a request id in each) only churns it, so it is kept small.
HEADER_CACHE = 4096
_ROLE_JSON = {r: json.dumps(r.label) for r in Role}  # by Role and by its int value
# What a line shows of a frame record (the log skips the other fields unread)
_FIELDS = ("conn_index", "direction", "packet", "time", "stream_id", "type_code", "flags", "length", "header_block")


class JsonlFrames:
    """Formats frames of one session as JSON lines."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._conn_part: dict[int, str] = {}  # conn_index * 2 + direction -> JSON
        self._type_part: dict[int, str] = {}  # type << 8 | flags -> JSON
        self._headers_part: dict[int, str] = {}  # id(header tuple) -> JSON
        self._keep: dict[int, tuple] = {}

    def _conn(self, conn_index: int, direction: int) -> str:
        c = self.session.connection(conn_index)
        client, server = (c.client, c.server) if c else ("", "")
        part = self._conn_part[conn_index * 2 + direction] = (
            f'"conn":{conn_index},"client":{json.dumps(client)},"server":{json.dumps(server)},'
            f'"from":"{"client" if direction == 0 else "server"}"')
        return part

    def _type(self, type_code: int, flags: int) -> str:
        part = self._type_part[type_code << 8 | flags] = (
            f'"type":"{type_name(type_code)}","type_code":{type_code},"flags":{flags},'
            f'"flag_names":{json.dumps(list(flag_names(type_code, flags)))}')
        return part

    def _headers(self, block: int) -> str:
        blocks = self.session.header_blocks
        headers = blocks.headers[block]
        key = id(headers)
        part = self._headers_part.get(key)
        if part is None:
            if len(self._headers_part) > HEADER_CACHE:
                self._headers_part.clear()
                self._keep.clear()
            part = json.dumps([list(h) for h in headers], ensure_ascii=False)
            self._headers_part[key] = part
            self._keep[key] = headers  # id() stays valid while we hold the tuple
        return f',"headers":{part},"role":{_ROLE_JSON[blocks.role_of(block)]}'

    def lines(self, start: int = 0, end: int | None = None,
              stream: int | None = None) -> list[str]:
        """JSON lines for frames [start, end) of the log, optionally of one stream id."""
        log = self.session.frames
        if end is None:
            end = len(log)
        conn_parts, type_parts = self._conn_part, self._type_part
        headers = self._headers
        out: list[str] = []
        add = out.append
        last_packet = -1
        prefix = ""
        # plain lists and arrays of the blocks kept, and the number of the first (a bounded history)
        hb_headers, hb_base = self.session.header_blocks.headers_kept()
        hb_parts = self._headers_part
        hb_roles, _ = self.session.header_blocks.kept("role")
        for conn_index, d, packet, time, sid, type_code, flags, length, hb in log.rows(start, end, _FIELDS):
            if stream is not None and sid != stream:
                continue
            if packet != last_packet:  # a packet belongs to one connection and direction
                last_packet = packet
                part = conn_parts.get(conn_index * 2 + d) or self._conn(conn_index, d)
                prefix = f'{{"packet":{packet},"time":{time!r},{part},"stream_id":'
            tp = type_parts.get(type_code << 8 | flags) or self._type(type_code, flags)
            if hb < 0:
                add(f'{prefix}{sid},{tp},"length":{length}}}\n')
            else:
                hp = hb_parts.get(id(hb_headers[hb - hb_base])) if len(hb_parts) < HEADER_CACHE else None
                if hp is None:
                    add(f'{prefix}{sid},{tp},"length":{length}{headers(hb)}}}\n')
                else:
                    add(f'{prefix}{sid},{tp},"length":{length},"headers":{hp},"role":'
                        f'{_ROLE_JSON[hb_roles[hb - hb_base]]}}}\n')
        return out
