"""`proxy --headless`: frames on stdout as they are decoded, events on stderr.

Frames use the same views as `dump` (text like `nghttp -v`, or the JSONL
contract), so a script reads a live proxy like a capture. Output is written
and flushed once per decoded batch.
"""

from __future__ import annotations

from typing import TextIO

from inspector.model import Connection, Session
from inspector.views.jsonl import JsonlFrames
from inspector.views.text import TextFrames

PREFIX = "h2inspect: proxy: "


class HeadlessPrinter:
    """Prints what the live session gained since the last call: frames, connections, findings."""

    def __init__(self, session: Session, fmt: str, out: TextIO, err: TextIO) -> None:
        self.session = session
        self.view = JsonlFrames(session) if fmt == "jsonl" else TextFrames(session)
        self.out = out
        self.err = err
        self.frames = 0
        self.connections = 0
        self.findings = 0
        session.listeners.append(self.update)

    def update(self, session: Session) -> None:
        """A Session listener: print what is new."""
        notes = []
        session.calls.update()  # the grpc.* rules see each call as it ends
        session.flush_findings()
        for conn in session.connections[self.connections:]:
            notes.append(f"{PREFIX}conn {conn.index}: {conn.client} → {_server(conn)}: {conn.protocol}\n")
        self.connections = len(session.connections)
        for finding in session.findings[self.findings:]:
            notes.append(f"{PREFIX}{finding.one_line()}\n")
        self.findings = len(session.findings)
        if notes:
            self.err.write("".join(notes))
            self.err.flush()
        end = len(session.frames)
        if end > self.frames:
            self.out.write("".join(self.view.lines(self.frames, end)))
            self.frames = end
            self.out.flush()


def _server(conn: Connection) -> str:
    """The server as the client named it (forward mode: the CONNECT target) and where it is."""
    return f"{conn.target} ({conn.server})" if conn.target else conn.server
