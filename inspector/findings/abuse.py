"""Checkers of the abuse.* rules: denial-of-service patterns, each counted the way the
server whose limit is in force counts it (presets.py). A rule whose limits are off
under the preset costs nothing."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from inspector.findings.presets import Limits
from inspector.http2.frames import Setting
from inspector.model import Direction, Stream

if TYPE_CHECKING:
    from inspector.findings.engine import ConnectionChecks

C, S = Direction.CLIENT, Direction.SERVER
GO_DEFAULT_MAX_STREAMS = 250  # x/net/http2's MAX_CONCURRENT_STREAMS when the server said none
GO_HANDLER_SECONDS = 1.0  # how long a reset stream's handler is taken to keep running
_END_STREAM = 0x1


class TokenBucket:
    """nghttp2's rate limit: `burst` tokens, refilled at `rate` a second; each event takes one."""

    __slots__ = ("burst", "rate", "tokens", "last")

    def __init__(self, burst: float, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.last: float | None = None

    def take(self, time: float) -> bool:
        """One event at `time`; False when the bucket was empty."""
        if self.last is not None and time > self.last:
            self.tokens = min(self.burst, self.tokens + (time - self.last) * self.rate)
        self.last = time if self.last is None else max(self.last, time)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class AbuseState:
    """What the abuse rules count on one connection."""

    def __init__(self, checks: ConnectionChecks) -> None:
        self.checks = checks
        self.limits = Limits()
        self.resets: TokenBucket | None = None
        self.provoked: TokenBucket | None = None
        self.tracks_opens = False  # Envoy's premature resets need each stream's opening time
        self.premature = 0
        self.open_times: dict[int, float] = {}  # Envoy: stream -> when it opened, for the last few seconds
        self.open_order: deque[tuple[float, int]] = deque()
        self.unanswered_resets: deque[float] = deque()  # Go: times of resets of streams not yet answered
        self.empty: dict[tuple[int, int], tuple[int, int]] = {}  # (sender, stream) -> (run, window offset)
        self.priorities = 0
        self.window_updates = 0
        self.server_data = 0
        self.data_scanned = 0
        self.small_reported: list[int] = [-1, -1]  # stream whose block was reported as small fragments
        self.flood_reported: list[int] = [-1, -1]

    def configure(self, limits: Limits) -> None:
        self.limits = limits
        burst, rate = limits["rst_burst"], limits["rst_rate"]
        self.resets = TokenBucket(burst, rate) if burst is not None and rate is not None else None
        burst, rate = limits["made_reset_burst"], limits["made_reset_rate"]
        self.provoked = TokenBucket(burst, rate) if burst is not None and rate is not None else None
        self.tracks_opens = limits["premature_reset_seconds"] is not None and \
            limits["premature_reset_streams"] is not None

    def _report(self, rule_id: str, message: str, limit: str, frame: int | None, packet: int | None,
                time: float | None, stream_id: int | None = None) -> None:
        self.checks.report(rule_id, message, stream_id=stream_id, frame=frame, packet=packet, time=time,
                           threshold=self.limits.threshold(limit))

    # ---- rapid reset and MadeYouReset ------------------------------------------------

    def opened(self, stream: Stream, frame: int, time: float) -> None:
        seconds = self.limits["premature_reset_seconds"]
        if seconds is not None and self.tracks_opens:
            order = self.open_order
            while order and order[0][0] < time - seconds:
                self.open_times.pop(order.popleft()[1], None)
            order.append((time, stream.stream_id))
            self.open_times[stream.stream_id] = time

    def client_reset(self, stream: Stream, frame: int, packet: int, time: float) -> None:
        sid = stream.stream_id
        limits = self.limits
        if self.resets is not None and not self.resets.take(time):
            self._report("abuse.rapid-reset",
                         f"the client reset streams faster than a bucket of {limits['rst_burst']:g} "
                         f"refilled at {limits['rst_rate']:g} a second allows (stream {sid})", "rst_burst",
                         frame, packet, time)
        minimum, ratio, seconds = (limits["premature_reset_streams"], limits["premature_reset_ratio"],
                                   limits["premature_reset_seconds"])
        if minimum is not None and ratio is not None and seconds is not None:
            opened = self.open_times.pop(sid, None)
            if opened is not None and time - opened <= seconds:
                self.premature += 1
            if self.checks.streams_opened >= minimum and self.premature > ratio * self.checks.streams_opened:
                self._report("abuse.rapid-reset",
                             f"the client reset {self.premature} of {self.checks.streams_opened} streams within "
                             f"{seconds:g} s of opening them (more than {ratio:.0%} of at least {minimum:g})",
                             "premature_reset_streams", frame, packet, time)
        factor = limits["queued_streams_factor"]
        if factor is not None:
            recent = self.unanswered_resets
            if not stream.seen & Stream.RESPONSE_SEEN:
                recent.append(time)
            while recent and recent[0] < time - GO_HANDLER_SECONDS:
                recent.popleft()
            limit = self.checks.conn.settings_server.get(Setting.MAX_CONCURRENT_STREAMS, GO_DEFAULT_MAX_STREAMS)
            running = self.checks.active + len(recent)
            if running > factor * limit:
                self._report("abuse.rapid-reset",
                             f"{running} client streams would still be running (open, or reset before an answer "
                             f"in the last second), over {factor:g} x MAX_CONCURRENT_STREAMS {limit}",
                             "queued_streams_factor", frame, packet, time)

    def provoked_reset(self, sid: int, code: str, cause: int, frame: int, packet: int, time: float) -> None:
        if self.provoked is not None and not self.provoked.take(time):
            limits = self.limits
            self._report("abuse.made-you-reset",
                         f"the server reset stream {sid} ({code}) after the client's invalid frame {cause}, more "
                         f"often than a bucket of {limits['made_reset_burst']:g} refilled at "
                         f"{limits['made_reset_rate']:g} a second allows", "made_reset_burst", frame, packet, time)

    # ---- header blocks ------------------------------------------------------------------

    def fragment(self, sender: int, sid: int, fragments: int, size: int, ended: bool, frame: int, packet: int,
                 time: float) -> None:
        """Counts and sizes, not the fragments: a flood of a million must cost the same per fragment."""
        limits = self.limits
        continuations = fragments - 1
        if continuations == 1:
            self.small_reported[sender] = self.flood_reported[sender] = -1  # a new block
        most = limits["continuation_frames"]
        if most is not None and continuations > most:
            self._report("abuse.continuation-flood",
                         f"the header block of stream {sid} has more than {most:g} CONTINUATION frames",
                         "continuation_frames", frame, packet, time, sid)
        count, small = limits["small_fragments"], limits["small_fragment_bytes"]
        if count is not None and small is not None and fragments > count and \
                self.small_reported[sender] != sid:
            average = size / fragments
            if average < small:
                self.small_reported[sender] = sid
                self._report("abuse.continuation-small-fragments",
                             f"the header block of stream {sid} came in more than {count:g} fragments averaging "
                             f"{average:.0f} bytes (under {small:g})", "small_fragments", frame, packet, time, sid)

    def header_list(self, sender: int, sid: int, size: int, encoded: int, frame: int, packet: int,
                    time: float) -> None:
        conn = self.checks.conn
        setting = (conn.settings_server if sender == C else conn.settings_client).get(Setting.MAX_HEADER_LIST_SIZE)
        receiver = Direction(1 - sender).label
        threshold: tuple[str, float, str] | None
        if setting is not None:
            limit: float | None = setting
            threshold = ("SETTINGS_MAX_HEADER_LIST_SIZE", float(setting), f"the {receiver}'s SETTINGS")
        else:
            limit = self.limits["header_list_bytes"]
            threshold = self.limits.threshold("header_list_bytes") if limit is not None else None
        if limit is None or size <= limit:
            return
        ratio = size / max(1, encoded)
        self.checks.report("abuse.hpack-bomb",
                           f"a field block of {encoded} bytes decodes to a header list of {size} bytes ({ratio:.0f}x), "
                           f"above the {receiver}'s limit of {limit:g}", stream_id=sid, frame=frame, packet=packet,
                           time=time, threshold=threshold)

    # ---- control frames ------------------------------------------------------------------

    def owed(self, kind: str, sender: int, owed: int, frame: int, packet: int, time: float) -> None:
        limit = self.limits["control_acks_owed"]
        if limit is not None and owed > limit:
            name = kind.upper()
            self._report(f"abuse.{kind}-flood",
                         f"the {Direction(1 - sender).label} owes {owed} {name} ACKs to the {Direction(sender).label} "
                         f"(limit {limit:g})", "control_acks_owed", frame, packet, time)

    def settings_count(self, sender: int, count: int, frame: int, packet: int, time: float) -> None:
        limit = self.limits["settings_per_frame"]
        if limit is not None and count > limit:
            self._report("abuse.settings-count", f"a SETTINGS frame from the {Direction(sender).label} carries "
                         f"{count} parameters (limit {limit:g})", "settings_per_frame", frame, packet, time)

    def empty_data(self, sender: int, stream: Stream | None, sid: int, flags: int, frame: int, packet: int,
                   time: float) -> None:
        key = (sender, sid)
        if flags & _END_STREAM or stream is None:
            self.empty.pop(key, None)
            return
        marker = stream.window_offset_server if sender else stream.window_offset_client
        run, last = self.empty.get(key, (0, marker))
        run = run + 1 if last == marker else 1  # a DATA with payload in between moved the window
        if len(self.empty) > 4096:
            self.empty.clear()
        self.empty[key] = (run, marker)
        limit = self.limits["empty_data_frames"]
        if limit is not None and run > limit:
            self._report("abuse.empty-data",
                         f"{run} DATA frames in a row from the {Direction(sender).label} on stream {sid} carry no "
                         f"payload and no END_STREAM (limit {limit:g})", "empty_data_frames", frame, packet, time, sid)

    def priority(self, sender: int, frame: int, packet: int, time: float) -> None:
        # Envoy counts from the connection's start: a capture that joined it mid-way cannot.
        if sender != C or self.checks.midstream:
            return
        self.priorities += 1
        per_stream = self.limits["priority_per_stream"]
        streams = self.checks.streams_opened
        if per_stream is not None and self.priorities > per_stream * (1 + streams):
            self._report("abuse.priority-flood",
                         f"{self.priorities} PRIORITY frames from the client for {streams} streams "
                         f"(limit {per_stream:g} per stream, plus one stream)", "priority_per_stream", frame, packet,
                         time)

    def count_data(self, end: int) -> None:
        """Count the server's DATA frames on this connection up to frame `end` (for the WINDOW_UPDATE
        flood; a bounded history has it done before it drops frames not counted yet)."""
        if end <= self.data_scanned:
            return
        log = self.checks.engine.session.frames
        conn = self.checks.conn.index
        # (a connection that began after a bounded history dropped frames has none before `base`)
        self.server_data += sum(1 for row in log.rows(max(self.data_scanned, log.base), end)
                                if row[5] == 0 and row[1] == 1 and row[0] == conn)
        self.data_scanned = end

    @property
    def counts_data(self) -> bool:
        """Whether the WINDOW_UPDATE flood rule counts this connection's DATA frames."""
        return self.limits["window_updates_per_data"] is not None and not self.checks.midstream

    def window_update(self, sender: int, frame: int, packet: int, time: float) -> None:
        if sender != C or self.checks.midstream:  # (counted from the connection's start, as priority)
            return
        self.window_updates += 1
        per_data = self.limits["window_updates_per_data"]
        streams = self.checks.streams_opened
        if per_data is None or self.window_updates <= 1 + 2 * streams:
            return
        # DATA frames the server sent so far, counted only when the WINDOW_UPDATEs come close to the limit
        self.count_data(len(self.checks.engine.session.frames))
        if self.window_updates > 1 + 2 * (streams + per_data * self.server_data):
            self._report("abuse.window-update-flood",
                         f"{self.window_updates} WINDOW_UPDATE frames from the client for {self.server_data} DATA "
                         f"frames and {streams} streams (limit {per_data:g} per DATA frame)",
                         "window_updates_per_data", frame, packet, time)

    def zero_window(self, sender: int, sid: int, waited: float, first: int, released: int | None) -> None:
        limit = self.limits["zero_window_seconds"]
        if sender != S or limit is None or waited <= limit:
            return
        which = f"stream {sid}" if sid else "connection"
        until = f"until frame {released}" if released is not None else "to the end"
        self._report("abuse.slow-read", f"the client held the server's {which} window at 0 for {waited:.1f} s "
                     f"(from frame {first} {until})", "zero_window_seconds", first, None, None)

    def finish(self) -> None:
        """Nothing waits for the end here: every count is checked as it grows."""
