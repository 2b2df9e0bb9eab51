"""Swimlanes for the connection view: one column per open stream, so concurrency
and interleaving show at a glance, like `git log --graph` draws branches.

A stream takes the leftmost free lane at its first frame and gives it back
after the frame that closes (or resets) it, or after a frame that left it idle
(PRIORITY); lane 0 is the connection itself
(stream 0). Lanes are computed once per view, in one pass over the frames,
and kept as two compact arrays, so drawing a row costs a few string joins.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from heapq import heappop, heappush

from inspector.http2 import frames as F
from inspector.model import FrameLog, StreamState

MAX_LANES = 24  # lane columns drawn; streams beyond share the last one, drawn "+"
OVERFLOW = MAX_LANES - 1

#: one letter per frame type, drawn in the frame's lane (the row names the type in full)
GLYPH: dict[int, str] = {F.FrameType.DATA: "D", F.FrameType.HEADERS: "H", F.FrameType.PRIORITY: "y",
         F.FrameType.RST_STREAM: "R", F.FrameType.SETTINGS: "S", F.FrameType.PUSH_PROMISE: "U",
         F.FrameType.PING: "P", F.FrameType.GOAWAY: "G", F.FrameType.WINDOW_UPDATE: "W",
         F.FrameType.CONTINUATION: "C"}


@dataclass(slots=True)
class Lanes:
    """Per row of a view: the lane of the row's stream, and which lanes hold an open stream."""

    lane: array  # 'b': lane index of the frame's stream
    busy: array  # 'Q': bit n set when lane n holds a stream that is open at this row
    width: int  # lanes in use at some row (at most MAX_LANES)

    def cells(self, row: int, type_code: int) -> str:
        """The lane columns of one row: the frame's glyph in its lane, │ where other streams are open."""
        lane, busy = self.lane[row], self.busy[row]
        glyph = "+" if lane == OVERFLOW else GLYPH.get(type_code, "?")
        return "".join(glyph if n == lane else ("│" if busy >> n & 1 else " ") for n in range(self.width))


class LaneTracker:
    """Assigns lanes row by row and can be extended as a view grows (a live session, a loading capture)."""

    def __init__(self, log: FrameLog) -> None:
        self.log = log
        self.lanes = Lanes(array("b"), array("Q"), 1)
        self.rows = 0  # rows assigned so far
        self._lane_of: dict[int, int] = {0: 0}
        self._free = list(range(1, OVERFLOW))  # a heap: the leftmost free lane first
        self._busy = 1  # lane 0, the connection, is always there

    def extend(self, rows: Sequence[int]) -> Lanes:
        """Assign lanes to the rows not seen yet: `rows` (FrameLog indexes, in time order) is what
        the view shows now, and begins with every row seen before."""
        log = self.log
        stream_ids, states, types = log.column("stream_id"), log.column("stream_state"), log.column("type_code")
        closed, idle, reset = int(StreamState.CLOSED), int(StreamState.IDLE), int(F.FrameType.RST_STREAM)
        lane_of, free, busy, width = self._lane_of, self._free, self._busy, self.lanes.width
        add_lane, add_busy = self.lanes.lane.append, self.lanes.busy.append
        get = lane_of.get
        for i in rows[self.rows:] if self.rows else rows:
            sid = stream_ids[i]
            lane = get(sid)
            if lane is None:
                lane = heappop(free) if free else OVERFLOW
                lane_of[sid] = lane
                busy |= 1 << lane
                if lane >= width:
                    width = lane + 1
            add_lane(lane)
            add_busy(busy)
            if sid and (states[i] == closed or states[i] == idle or types[i] == reset) and lane != OVERFLOW:
                # the stream is done after this frame, or never opened (a PRIORITY frame leaves a stream
                # idle, RFC 9113 §5.3.2): its lane is free from the next row on
                del lane_of[sid]
                busy &= ~(1 << lane)
                heappush(free, lane)
        self._busy = busy
        self.lanes.width = width
        self.rows = len(rows)
        return self.lanes


def assign_lanes(log: FrameLog, rows: Sequence[int]) -> Lanes:
    """Lanes for the frames `rows` (FrameLog indexes, in time order) of one connection."""
    return LaneTracker(log).extend(rows)
