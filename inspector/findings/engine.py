"""The findings engine: rules report, the engine groups, `session.findings` shows.

`FindingsEngine` belongs to a session (`session.findings_engine`). Checkers call
`report(rule id, message, where)`; a rule that fires again on the same
connection and stream adds to one group (count, first and last frame) instead
of a new finding, so a flood of a million frames is one record. Groups for
one rule on one connection are kept for at most `STREAM_GROUPS` streams; the
rest fold into one group for the connection. Counts reach `session.findings`
when the engine is flushed (every `Session.notify`, and at the end).

`ConnectionChecks` is what one connection's decoder feeds, frame by frame,
with the facts it already has (frame index, record fields, parsed payload):
no payload is read twice, and DATA and plain HEADERS, nearly all of any
capture, reach it only when something is unusual (see the decoder's fast path).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from inspector.findings import abuse, flow
from inspector.findings.h2 import NO_LENGTH, BlockLint, has_no_content, lint_block
from inspector.findings.presets import Limits
from inspector.findings.rules import RULES
from inspector.http2.frames import END_STREAM, ErrorCode, Setting, error_name
from inspector.model import Connection, Direction, Finding, Role, Session, Stream

if TYPE_CHECKING:
    from collections.abc import Iterable

STREAM_GROUPS = 16  # streams one rule keeps groups for, per connection; then one group for the rest
# Header tuples whose lint is kept (then all dropped): identical blocks share a tuple, so a few
# thousand cover ordinary traffic, and unique ones (a request id each) must not each keep one.
LINT_CACHE = 4096
_OVERFLOW = -1
C, S = Direction.CLIENT, Direction.SERVER


class _Group:
    """A finding that fired more than once: where in session.findings, and how far it went."""

    __slots__ = ("index", "count", "last_frame", "last_packet", "last_time")

    def __init__(self, index: int) -> None:
        self.index = index
        self.count = 1
        self.last_frame: int | None = None
        self.last_packet: int | None = None
        self.last_time: float | None = None


class FindingsEngine:
    """Groups what the checkers report into `session.findings`."""

    def __init__(self, session: Session, limits: Limits | None = None) -> None:
        self.session = session
        self.limits = limits or Limits()
        self.groups: dict[tuple[str, int | None, int | None], _Group] = {}
        self._streams_of: dict[tuple[str, int | None], int] = {}
        self._dirty: set[_Group] = set()
        self.lint_cache: dict[int, tuple] = {}  # id(headers) << 3 | role -> ConnectionChecks.lint's tuple
        self.connections: list[ConnectionChecks] = []
        # A gRPC call may be in the session: a request said application/grpc, or a connection was seen
        # mid-way or with a gap (its requests' content-type may be unknown). Without one, the call log
        # (and the grpc.* rules it feeds) has nothing to do.
        self.maybe_grpc = False

    def use_limits(self, limits: Limits) -> None:
        """Abuse limits from now on (set before decoding starts)."""
        self.limits = limits
        for checks in self.connections:
            checks.limits_changed()

    def connection(self, conn: Connection, *, midstream: bool = False) -> ConnectionChecks:
        """The checks one connection's decoder feeds."""
        checks = ConnectionChecks(self, conn, midstream)
        self.maybe_grpc |= midstream
        self.connections.append(checks)
        return checks

    # ---- reporting ---------------------------------------------------------------

    def report(self, rule_id: str, message: str, *, conn_index: int | None = None, stream_id: int | None = None,
               frame: int | None = None, packet: int | None = None, time: float | None = None,
               threshold: tuple[str, float, str] | None = None) -> None:
        """One occurrence of a rule: a new finding, or one more of its group."""
        if rule_id == "capture.gap":
            self.maybe_grpc = True
        key = (rule_id, conn_index, stream_id)
        group = self.groups.get(key)
        if group is None and stream_id is not None:
            per_rule = (rule_id, conn_index)
            seen = self._streams_of.get(per_rule, 0)
            if seen >= STREAM_GROUPS:
                key = (rule_id, conn_index, _OVERFLOW)
                group = self.groups.get(key)
                if group is None:
                    message = f"{message} (and the same on more streams: the first {STREAM_GROUPS} are listed apart)"
                    stream_id = None
            else:
                self._streams_of[per_rule] = seen + 1
        if packet is None and frame is not None and self.session.frames.base <= frame < len(self.session.frames):
            record = self.session.frames[frame]
            packet, time = record.packet, record.time
        if group is not None:
            group.count += 1
            if frame is not None:
                group.last_frame = frame
            group.last_packet, group.last_time = packet, time
            self._dirty.add(group)
            return
        rule = RULES[rule_id]
        findings = self.session.findings
        self.groups[key] = _Group(len(findings))
        findings.append(Finding(rule.severity, message, rule.reference, conn_index, stream_id, packet, frame, rule_id,
                                time, threshold=threshold))

    def before_drop(self, cut: int) -> None:
        """A bounded history is about to drop the frames before `cut`: what a check still had to
        read of them is read now (the server's DATA frames an abuse rule counts lazily)."""
        behind = {c.conn.index: c.abuse for c in self.connections if c.abuse.counts_data and c.abuse.data_scanned < cut}
        if not behind:
            return
        # (a connection that began after frames were dropped has nothing of its own before them)
        start = max(min(a.data_scanned for a in behind.values()), self.session.frames.base)
        for i, row in enumerate(self.session.frames.rows(start, cut), start):  # one pass for every connection
            abuse = behind.get(row[0])
            if abuse is not None and row[5] == 0 and row[1] == 1 and i >= abuse.data_scanned:
                abuse.server_data += 1
        for abuse in behind.values():
            abuse.data_scanned = cut

    def flush(self) -> None:
        """Write the groups' counts and last frames into their findings."""
        if not self._dirty:
            return
        findings = self.session.findings
        for group in self._dirty:
            findings[group.index] = replace(findings[group.index], count=group.count, last_frame=group.last_frame,
                                            last_packet=group.last_packet, last_time=group.last_time)
        self._dirty.clear()

    def finish(self) -> None:
        """The source ended: checks that wait for the end, then the counts."""
        for checks in self.connections:
            checks.finish()
        self.flush()


class ConnectionChecks:
    """The state the rules keep for one connection, fed by its decoder."""

    __slots__ = ("engine", "conn", "midstream", "lint_cache", "content_left", "head_streams", "active",
                 "streams_opened", "last_client", "last_server", "max_active", "quick_open", "open_limit",
                 "closed_by", "first_closed", "flow", "abuse", "provoked", "size_check")

    def __init__(self, engine: FindingsEngine, conn: Connection, midstream: bool) -> None:
        self.engine = engine
        self.conn = conn
        self.midstream = midstream
        self.lint_cache = engine.lint_cache
        # content-length still expected: stream id << 1 | direction -> bytes left
        self.content_left: dict[int, int] = {}
        self.head_streams: set[int] = set()
        # The decoder's fast path counts a client's new stream itself when these say nothing needs a look.
        self.active = 0  # streams the client opened that are not closed (RFC 9113 §5.1.2)
        self.streams_opened = 0  # streams the client opened
        self.last_client = 0  # highest stream id the client opened
        self.last_server = 0  # highest the server promised
        self.max_active = 1 << 31  # the server's SETTINGS_MAX_CONCURRENT_STREAMS
        self.quick_open = not midstream  # no rule in force needs to see each new stream
        self.open_limit = 0  # the fast path counts a new stream itself while fewer are open: see settings_changed
        self.closed_by: list[str | None] = [None, None]  # "FIN"/"RST" once a TCP side closed
        self.first_closed: int | None = None  # the direction whose side closed first
        self.flow = flow.FlowState(self)
        self.abuse = abuse.AbuseState(self)
        self.provoked: dict[int, int] = {}  # stream -> frame of an invalid client frame on it (MadeYouReset)
        self.size_check = 0
        self.limits_changed()

    def limits_changed(self) -> None:
        """The engine's limits were set (before decoding)."""
        self.abuse.configure(self.engine.limits)
        self.quick_open = not self.midstream and not self.abuse.tracks_opens
        self.settings_changed()

    def settings_changed(self) -> None:
        """A side's SETTINGS moved a limit a check compares against."""
        limits = self.engine.limits
        limit = self.conn.settings_server.get(Setting.MAX_CONCURRENT_STREAMS)
        self.max_active = limit if limit is not None else 1 << 31
        # 0 sends every new stream to `opened`: a rule needs each one, or a GOAWAY was seen
        self.open_limit = self.max_active if self.quick_open and not self.conn.goaways else 0
        value = limits["header_list_bytes"]
        own = [self.conn.settings_client.get(Setting.MAX_HEADER_LIST_SIZE),
               self.conn.settings_server.get(Setting.MAX_HEADER_LIST_SIZE)]
        # blocks smaller than this are never an HPACK bomb, whatever the receiver said
        self.size_check = min(int(v) for v in (value, *own, 1 << 30) if v is not None)

    # ---- reporting, for the checkers ----------------------------------------------

    def report(self, rule_id: str, message: str, *, stream_id: int | None = None, frame: int | None = None,
               packet: int | None = None, time: float | None = None,
               threshold: tuple[str, float, str] | None = None) -> None:
        self.engine.report(rule_id, message, conn_index=self.conn.index, stream_id=stream_id, frame=frame,
                           packet=packet, time=time, threshold=threshold)

    def violation(self, rule_id: str, message: str, direction: int, sid: int | None, frame: int | None,
                  packet: int | None = None, time: float | None = None) -> None:
        """A frame that breaks an h2.* rule; one from the client on a stream may provoke a reset."""
        self.report(rule_id, message, stream_id=sid or None, frame=frame, packet=packet, time=time)
        if direction == C and sid and frame is not None:
            provoked = self.provoked
            if len(provoked) > 4096:
                provoked.clear()
            provoked.setdefault(sid, frame)

    # ---- streams -------------------------------------------------------------------

    def opened(self, stream: Stream, direction: int, frame: int, packet: int, time: float) -> None:
        """`direction` opened (HEADERS) or reserved (PUSH_PROMISE) a stream."""
        sid = stream.stream_id
        d = direction
        last = self.last_server if d else self.last_client
        if sid % 2 != (1 if d == C else 0):
            self.violation("h2.stream-id-parity",
                           f"the {Direction(d).label} opened stream {sid}, "
                           f"{'an even' if sid % 2 == 0 else 'an odd'} id", d, sid, frame, packet, time)
        elif sid < last and not self.midstream:
            self.violation("h2.stream-id-backwards", f"stream {sid} opened after stream {last}",
                           d, sid, frame, packet, time)
        if sid > last:
            if d:
                self.last_server = sid
            else:
                self.last_client = sid
        for goaway in self.conn.goaways:
            if goaway.direction != d and sid > goaway.last_stream_id:
                self.report("h2.stream-after-goaway",
                            f"the {Direction(d).label} opened stream {sid} after the peer's GOAWAY "
                            f"(last stream id {goaway.last_stream_id}, frame {goaway.frame})",
                            stream_id=sid, frame=frame, packet=packet, time=time)
                break
        if d == C and not self.midstream:
            self.active += 1
            self.streams_opened += 1
            stream.seen |= Stream.COUNTED
            limit = self.conn.settings_server.get(Setting.MAX_CONCURRENT_STREAMS)
            if limit is not None and self.active > limit:
                self.violation("h2.max-concurrent-streams",
                               f"the client has {self.active} streams open; the server's "
                               f"SETTINGS_MAX_CONCURRENT_STREAMS is {limit}", d, sid, frame, packet, time)
            self.abuse.opened(stream, frame, time)

    def closed(self, stream: Stream) -> None:
        """A counted stream reached closed."""
        if stream.seen & Stream.COUNTED:
            stream.seen &= ~Stream.COUNTED
            self.active -= 1

    # ---- header blocks ---------------------------------------------------------------

    def lint(self, headers: tuple, role: int) -> tuple:
        """(attention, content length, size, lint, headers) of a header list in a role, computed once per tuple."""
        cache = self.lint_cache
        key = id(headers) << 3 | role
        entry = cache.get(key)
        if entry is None:
            lint = lint_block(headers, Role(role))
            if lint.grpc:
                self.engine.maybe_grpc = True
            attention = bool(lint.problems) or lint.size >= 4096 or lint.method == "HEAD" or \
                (lint.content_length >= 0 and has_no_content(lint.status)) or lint.content_length < NO_LENGTH
            if len(cache) >= LINT_CACHE:
                cache.clear()
            length = lint.content_length if role in (Role.REQUEST, Role.RESPONSE) else NO_LENGTH
            entry = cache[key] = (attention, length, lint.size, lint, headers)  # headers kept: id() stays theirs
        return entry

    def header_block(self, direction: int, sid: int, role: int, headers: tuple, end_stream: int,
                     encoded: int, frame: int, packet: int, time: float, list_size: int = 0) -> None:
        """A decoded header block (the decoder's fast path does the same inline for clean blocks);
        `list_size` is the whole list's size when the decoder kept only part of it."""
        attention, length, size, lint, _ = self.lint(headers, role)
        if attention or max(size, list_size) >= self.size_check:
            self._attention(direction, sid, role, lint, encoded, frame, packet, time, list_size)
        key = sid << 1 | direction
        if end_stream:
            left = self.content_left.pop(key, None) if self.content_left else None
            if left:
                self.content_mismatch(direction, sid, left, frame, packet, time)
        elif length >= 0 and not attention:
            self.content_left[key] = length

    def _attention(self, direction: int, sid: int, role: int, lint: BlockLint, encoded: int, frame: int,
                   packet: int, time: float, list_size: int = 0) -> None:
        for rule_id, message in lint.problems:
            self.violation(rule_id, message, direction, sid, frame, packet, time)
        if lint.method == "HEAD":
            if len(self.head_streams) > 4096:
                self.head_streams.clear()
            self.head_streams.add(sid)
        self.abuse.header_list(direction, sid, max(lint.size, list_size), encoded, frame, packet, time)

    def count_down(self, direction: int, sid: int, flags: int, length: int, frame: int, packet: int,
                   time: float) -> None:
        """A DATA frame against its stream's declared content-length (RFC 9113 §8.1.1)."""
        key = sid << 1 | direction
        content_left = self.content_left
        left = content_left.get(key)
        if left is None:
            return
        left -= length
        if flags & END_STREAM or left < 0:
            del content_left[key]
            if left:
                self.content_mismatch(direction, sid, left, frame, packet, time)
        else:
            content_left[key] = left

    def content_mismatch(self, direction: int, sid: int, left: int, frame: int, packet: int | None = None,
                         time: float | None = None) -> None:
        """A message's DATA did not add up to its content-length (`left` bytes short, or over if negative)."""
        if sid in self.head_streams and direction == S:
            return
        how = f"{left} bytes fewer" if left > 0 else f"{-left} bytes more"
        self.violation("h2.content-length", f"the {Direction(direction).label} sent {how} DATA on stream {sid} "
                       "than its content-length said", direction, sid, frame, packet, time)

    # ---- frames the fast path leaves to the handlers --------------------------------------

    def data(self, direction: int, stream: Stream | None, sid: int, flags: int, length: int, conn_window: int,
             stream_window: int, frame: int, packet: int, time: float) -> None:
        """A DATA frame that is unusual: empty, or that took a window to 0 or below."""
        d = direction
        if self.midstream:
            # The windows of a connection that began before the capture are not known (its SETTINGS and
            # WINDOW_UPDATEs came before): no window can be said to be exceeded or to be at 0.
            if not length:
                self.abuse.empty_data(d, stream, sid, flags, frame, packet, time)
            return
        if length and (conn_window < 0 or stream_window < 0):
            which = "connection" if conn_window < 0 else f"stream {sid}"
            over = -min(conn_window, stream_window)
            self.violation("h2.data-beyond-window",
                           f"the {Direction(d).label} sent {over} bytes beyond the {which} window", d, sid, frame,
                           packet, time)
        self.flow.data(d, stream, sid, flags, length, conn_window, stream_window, frame, time)
        if not length:
            self.abuse.empty_data(d, stream, sid, flags, frame, packet, time)

    def window_update(self, direction: int, sid: int, increment: int, window: int, frame: int, packet: int,
                      time: float) -> None:
        """A WINDOW_UPDATE from `direction`: `window` is the peer's send window after it."""
        if window > 2**31 - 1 and not self.midstream:  # (midstream: the window before the capture is unknown)
            which = f"stream {sid}" if sid else "connection"
            self.violation("h2.window-overflow", f"WINDOW_UPDATE of {increment} takes the {which} window to "
                           f"{window}, past 2^31-1", direction, sid, frame, packet, time)
        self.flow.window_update(1 - direction, sid, window, frame, time)
        self.abuse.window_update(direction, frame, packet, time)

    def rst_stream(self, direction: int, stream: Stream, code: int, frame: int, packet: int, time: float) -> None:
        sid = stream.stream_id
        if self.content_left:
            self.content_left.pop(sid << 1, None)
            self.content_left.pop(sid << 1 | 1, None)
        if direction == S and code == ErrorCode.REFUSED_STREAM:
            limit = self.conn.settings_server.get(Setting.MAX_CONCURRENT_STREAMS)
            self.report("flow.refused-stream",
                        f"the server refused stream {sid} with {self.active} other client stream"
                        f"{'s' if self.active != 1 else ''} open"
                        + (f" (its SETTINGS_MAX_CONCURRENT_STREAMS is {limit})" if limit is not None else ""),
                        stream_id=sid, frame=frame, packet=packet, time=time)
        if direction == C:
            self.abuse.client_reset(stream, frame, packet, time)
        elif code not in (ErrorCode.NO_ERROR, ErrorCode.CANCEL, ErrorCode.REFUSED_STREAM):
            provoked = self.provoked.pop(sid, None)
            if provoked is not None:
                self.abuse.provoked_reset(sid, error_name(code), provoked, frame, packet, time)

    def ping(self, direction: int, ack: bool, payload: bytes, frame: int, packet: int, time: float) -> None:
        self.flow.ping(direction, ack, payload, frame, packet, time)
        if not ack:
            self.abuse.owed("ping", direction, self.flow.pings_owed[direction], frame, packet, time)

    def settings(self, direction: int, ack: bool, count: int, frame: int, packet: int, time: float) -> None:
        self.flow.settings(direction, ack, frame)
        if not ack:
            self.abuse.owed("settings", direction, self.flow.settings_owed[direction], frame, packet, time)
            self.abuse.settings_count(direction, count, frame, packet, time)
            self.settings_changed()  # MAX_HEADER_LIST_SIZE moves the size check, MAX_CONCURRENT_STREAMS the count

    def priority(self, direction: int, sid: int, dependency: int | None, frame: int, packet: int,
                 time: float, *, frame_type: str = "PRIORITY") -> None:
        if dependency == sid and sid:
            self.violation("h2.priority-self", f"{frame_type} makes stream {sid} depend on itself", direction, sid,
                           frame, packet, time)
        if frame_type == "PRIORITY":
            self.abuse.priority(direction, frame, packet, time)

    def fragment(self, direction: int, sid: int, fragments: int, size: int, ended: bool, frame: int, packet: int,
                 time: float) -> None:
        """One more CONTINUATION of a header block of `fragments` fragments and `size` bytes so far."""
        self.abuse.fragment(direction, sid, fragments, size, ended, frame, packet, time)

    def tcp_closed(self, direction: int, how: str, pending_block: tuple[int, int] | None, packet: int) -> None:
        """A TCP side ended; `pending_block` is (stream, fragments) of a header block it left unfinished."""
        self.closed_by[direction] = how
        if self.first_closed is None:
            self.first_closed = direction
        if pending_block is not None:
            sid, fragments = pending_block
            self.report("abuse.header-block-unterminated",
                        f"the {Direction(direction).label} closed with the header block of stream {sid} still open "
                        f"after {fragments} fragments (no END_HEADERS)", stream_id=sid, packet=packet)

    # ---- the end ------------------------------------------------------------------------

    def finish(self) -> None:
        """The capture or session ended: what was still waiting."""
        self.flow.finish()
        self.abuse.finish()

    def last_frame_from(self, direction: int, after: int) -> int | None:
        """The index of the last frame `direction` sent on this connection after frame `after`, if any."""
        log = self.engine.session.frames
        conn = self.conn.index
        conns, directions = log.conn_index, log.direction
        for i in range(len(log) - 1, max(after, log.base - 1), -1):
            if conns[i] == conn and directions[i] == direction:
                return i
        dropped = self.conn.last_dropped[direction]  # a bounded history dropped the frames before `base`
        return dropped if dropped > after else None

    def streams_sending(self, direction: int) -> Iterable[Stream]:
        """Streams on which `direction` may still send."""
        states = flow.SENDING[direction]
        return (s for s in self.conn.streams.values() if s.state in states and s.reset_code is None)

