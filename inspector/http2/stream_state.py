"""Stream states (RFC 9113 section 5.1) as a table, seen by an observer.

`TRANSITIONS[(state, sender, event)]` is the next state. An event that is not
in the table is a protocol error for the stream's state: the observer records
it as a finding and keeps the state, because the wire, not the RFC, is what
we report.
"""

from __future__ import annotations

from enum import IntEnum

from inspector.model import Direction, StreamState

C, S = Direction.CLIENT, Direction.SERVER
IDLE, RL, RR = StreamState.IDLE, StreamState.RESERVED_LOCAL, StreamState.RESERVED_REMOTE
OPEN, HCL, HCR, CLOSED = (StreamState.OPEN, StreamState.HALF_CLOSED_LOCAL,
                          StreamState.HALF_CLOSED_REMOTE, StreamState.CLOSED)


class StreamEvent(IntEnum):
    """What a frame does to a stream's state."""

    HEADERS = 0  # HEADERS frame (a field block begins)
    END_STREAM = 1  # END_STREAM flag on HEADERS or DATA
    RST_STREAM = 2
    PUSH_PROMISE = 3  # the promised stream is reserved
    DATA = 4  # DATA without END_STREAM
    CONTROL = 5  # WINDOW_UPDATE, PRIORITY: allowed in most states


E = StreamEvent

TRANSITIONS: dict[tuple[StreamState, Direction, StreamEvent], StreamState] = {
    # idle: the client opens with HEADERS; a PUSH_PROMISE reserves for the server.
    (IDLE, C, E.HEADERS): OPEN,
    (IDLE, S, E.PUSH_PROMISE): RR,
    (IDLE, C, E.CONTROL): IDLE,  # PRIORITY may be sent on an idle stream
    (IDLE, S, E.CONTROL): IDLE,
    # reserved (remote): the server sends the pushed response.
    (RR, S, E.HEADERS): HCL,
    (RR, C, E.RST_STREAM): CLOSED,
    (RR, S, E.RST_STREAM): CLOSED,
    (RR, C, E.CONTROL): RR,
    (RR, S, E.CONTROL): RR,
    # open: both sides send; END_STREAM half-closes the sender's side.
    (OPEN, C, E.HEADERS): OPEN,
    (OPEN, S, E.HEADERS): OPEN,
    (OPEN, C, E.DATA): OPEN,
    (OPEN, S, E.DATA): OPEN,
    (OPEN, C, E.CONTROL): OPEN,
    (OPEN, S, E.CONTROL): OPEN,
    (OPEN, C, E.END_STREAM): HCL,
    (OPEN, S, E.END_STREAM): HCR,
    (OPEN, C, E.RST_STREAM): CLOSED,
    (OPEN, S, E.RST_STREAM): CLOSED,
    (OPEN, S, E.PUSH_PROMISE): OPEN,  # on the associated stream
    # half-closed (local): the client is done; the server goes on.
    (HCL, S, E.HEADERS): HCL,
    (HCL, S, E.DATA): HCL,
    (HCL, S, E.END_STREAM): CLOSED,
    (HCL, C, E.CONTROL): HCL,
    (HCL, S, E.CONTROL): HCL,
    (HCL, C, E.RST_STREAM): CLOSED,
    (HCL, S, E.RST_STREAM): CLOSED,
    (HCL, S, E.PUSH_PROMISE): HCL,
    # half-closed (remote): the server is done; the client goes on.
    (HCR, C, E.HEADERS): HCR,
    (HCR, C, E.DATA): HCR,
    (HCR, C, E.END_STREAM): CLOSED,
    (HCR, C, E.CONTROL): HCR,
    (HCR, S, E.CONTROL): HCR,
    (HCR, C, E.RST_STREAM): CLOSED,
    (HCR, S, E.RST_STREAM): CLOSED,
    # closed: frames in flight may still arrive (RFC 9113 section 5.1, "closed").
    (CLOSED, C, E.CONTROL): CLOSED,
    (CLOSED, S, E.CONTROL): CLOSED,
    (CLOSED, C, E.RST_STREAM): CLOSED,
    (CLOSED, S, E.RST_STREAM): CLOSED,
}


def next_state(state: StreamState, sender: Direction, event: StreamEvent) -> StreamState | None:
    """The state after `event` from `sender`, or None when the RFC does not allow it."""
    return TRANSITIONS.get((state, sender, event))


def assumed_state(sender: Direction, event: StreamEvent) -> StreamState:
    """The state to assume for a stream first seen mid-connection, before applying `event`."""
    if event is StreamEvent.HEADERS and sender is Direction.CLIENT:
        return StreamState.IDLE
    return StreamState.OPEN


def _combined(first: StreamEvent) -> dict[tuple[StreamState, int, int], StreamState]:
    """(state, sender (0 client, 1 server), END_STREAM flag) -> state after a DATA or HEADERS frame, when allowed."""
    table: dict[tuple[StreamState, int, int], StreamState] = {}
    for (state, sender, event), after in TRANSITIONS.items():
        if event is not first:
            continue
        table[(state, sender, 0)] = after
        ended = TRANSITIONS.get((after, sender, StreamEvent.END_STREAM))
        if ended is not None:
            table[(state, sender, 1)] = ended
    return table


def _by_sender(table: dict[tuple[StreamState, int, int], StreamState]) -> tuple[tuple[StreamState | None, ...], ...]:
    """The same table as one tuple per sender, indexed by `state << 1 | end_stream` (None: not allowed):
    a tuple index costs less than building and hashing a key."""
    return tuple(tuple(table.get((StreamState(i >> 1), sender, i & 1)) for i in range(2 * len(StreamState)))
                 for sender in (0, 1))


#: The decoder's hot path: one lookup for a DATA or HEADERS frame and its END_STREAM flag,
#: `AFTER_DATA_FROM[sender][state << 1 | end_stream]`.
AFTER_DATA_FROM = _by_sender(_combined(StreamEvent.DATA))
AFTER_HEADERS_FROM = _by_sender(_combined(StreamEvent.HEADERS))
