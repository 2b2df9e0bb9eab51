"""Checkers of the flow.* rules: zero windows and what released them, PINGs and SETTINGS
never answered, streams still open at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.model import Direction, Stream, StreamState

if TYPE_CHECKING:
    from inspector.findings.engine import ConnectionChecks

SENDING = ({StreamState.OPEN, StreamState.HALF_CLOSED_REMOTE},  # states in which each side may still send
           {StreamState.OPEN, StreamState.HALF_CLOSED_LOCAL})
PENDING_PINGS = 64  # PINGs remembered by payload per side; beyond that they are only counted
_END_STREAM = 0x1


class FlowState:
    """Windows at 0 waiting for a WINDOW_UPDATE, PINGs and SETTINGS waiting for an ACK."""

    def __init__(self, checks: ConnectionChecks) -> None:
        self.checks = checks
        # (sender, stream id; 0 for the connection) -> (frame, time) of the DATA that took the window to 0
        self.blocked: dict[tuple[int, int], tuple[int, float]] = {}
        self.pings: tuple[dict[bytes, int], dict[bytes, int]] = ({}, {})  # sender -> payload -> frame
        self.pings_owed = [0, 0]
        self.settings_owed = [0, 0]
        self.first_unacked: list[int | None] = [None, None]  # frame of the oldest SETTINGS not acknowledged

    # ---- windows --------------------------------------------------------------------

    def data(self, sender: int, stream: Stream | None, sid: int, flags: int, length: int, conn_window: int,
             stream_window: int, frame: int, time: float) -> None:
        if conn_window <= 0 and length:
            self.blocked.setdefault((sender, 0), (frame, time))
        if stream is not None and stream_window <= 0 and length and not flags & _END_STREAM:
            self.blocked.setdefault((sender, sid), (frame, time))

    def window_update(self, sender: int, sid: int, window: int, frame: int, time: float) -> None:
        """The peer of `sender` widened `sender`'s window on `sid` (0: the connection) to `window`."""
        started = self.blocked.pop((sender, sid), None) if self.blocked else None
        if started is None or window <= 0:
            if started is not None:
                self.blocked[(sender, sid)] = started
            return
        first, since = started
        waited = time - since
        which = f"stream {sid}" if sid else "connection"
        checks = self.checks
        checks.report("flow.blocked",
                      f"the {Direction(sender).label} waited {waited * 1000:.1f} ms on a zero {which} window "
                      f"(from frame {first}) until the WINDOW_UPDATE in frame {frame}",
                      stream_id=sid or None, frame=first)
        checks.abuse.zero_window(sender, sid, waited, first, frame)

    # ---- PING and SETTINGS --------------------------------------------------------------

    def ping(self, sender: int, ack: bool, payload: bytes, frame: int, packet: int, time: float) -> None:
        if ack:
            asker = 1 - sender
            self.pings[asker].pop(payload, None)
            if self.pings_owed[asker]:
                self.pings_owed[asker] -= 1
            return
        self.pings_owed[sender] += 1
        pending = self.pings[sender]
        if len(pending) < PENDING_PINGS:
            pending.setdefault(payload, frame)

    def settings(self, sender: int, ack: bool, frame: int) -> None:
        if ack:
            asker = 1 - sender
            if self.settings_owed[asker]:
                self.settings_owed[asker] -= 1
                if not self.settings_owed[asker]:
                    self.first_unacked[asker] = None
            return
        if not self.settings_owed[sender]:
            self.first_unacked[sender] = frame
        self.settings_owed[sender] += 1

    # ---- the end -------------------------------------------------------------------------

    def finish(self) -> None:
        checks = self.checks
        for sender in (0, 1):
            peer = 1 - sender
            who, other = Direction(sender).label, Direction(peer).label
            # Unanswered: the peer went on sending without the ACK, or the asker closed first (it gave up
            # waiting, as a keepalive does). A peer that closes right after a PING was leaving anyway
            # (gRPC's BDP PING beside a last response, the client then closing its channel). A connection
            # joined mid-way may never have found the peer's frames: there closing says nothing.
            asker_closed = not checks.midstream and checks.first_closed == sender
            for payload, frame in self.pings[sender].items():
                if asker_closed or checks.last_frame_from(peer, frame) is not None:
                    checks.report("flow.ping-unanswered",
                                  f"the {other} never answered the {who}'s PING {payload.hex()}", frame=frame)
            first = self.first_unacked[sender]
            if first is not None and self.settings_owed[sender] and \
                    checks.last_frame_from(peer, first) is not None:
                checks.report("h2.settings-unacked",
                              f"the {other} never acknowledged {self.settings_owed[sender]} SETTINGS from the {who}",
                              frame=first)
        conn = checks.conn
        for (sender, sid), (frame, since) in list(self.blocked.items()):
            stream = conn.streams.get(sid) if sid else None
            if stream is not None:
                if stream.state not in SENDING[sender] or stream.reset_code is not None:
                    continue
                window = conn.stream_windows(stream)[sender]
            else:
                if not any(True for _ in checks.streams_sending(sender)):
                    continue
                window = conn.window_server if sender else conn.window_client
            if window > 0:
                continue
            which = f"stream {sid}" if sid else "connection"
            checks.report("flow.window-never-reopens",
                          f"the {Direction(sender).label}'s {which} window stayed at {window} from frame {frame} "
                          "to the end, with a stream still to finish", stream_id=sid or None, frame=frame)
            log = checks.engine.session.frames
            end = log[len(log) - 1].time if len(log) else since
            checks.abuse.zero_window(sender, sid, end - since, frame, None)
        self._open_streams()

    def _open_streams(self) -> None:
        checks = self.checks
        closed = any(checks.closed_by)
        rule = "flow.stream-open-at-close" if closed else "flow.stream-open-at-end"
        how = " when the connection closed" if closed else " at the end of the capture"
        for stream in checks.conn.streams.values():
            state = stream.state
            if state in (StreamState.CLOSED, StreamState.IDLE) or stream.reset_code is not None:
                continue
            if checks.midstream and not stream.seen & Stream.REQUEST_SEEN \
                    and state is not StreamState.HALF_CLOSED_LOCAL:
                continue  # a stream under way before the capture: its client may have ended it, unseen
            frames = stream.frames
            if state is StreamState.RESERVED_REMOTE or state is StreamState.RESERVED_LOCAL:
                what = "promised but never sent"
            elif state is StreamState.OPEN:
                what = "open both ways"
            elif state is StreamState.HALF_CLOSED_LOCAL:
                what = "waiting for the server's END_STREAM"
            else:
                what = "waiting for the client's END_STREAM"
            checks.report(rule, f"stream {stream.stream_id} was {what}{how}", stream_id=stream.stream_id,
                          frame=frames[-1] if len(frames) else None)
