"""What the frame views work out over a selection's frames, worked out once per
session and extended as the session grows: the frames of a connection, a
filter's result, the column widths, the connection ladder's lanes, and the
cells of the rows drawn lately.

The list and the ladder share one cache, so switching between them (`l`), or
from a stream to its connection (`c`) and back, costs what the screen shows,
not what the selection holds: a connection of 150,000 frames is read once.
Every result is kept with how many rows it has read, so a live session that
grows is read from where it stopped, never again from the start.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Sequence
from itertools import compress
from typing import Generic, TypeVar

from inspector.http2 import frames as F
from inspector.model import Direction, FrameRecord, Session
from inspector.tui.columns import ContentWidths, content_widths
from inspector.tui.describe import FrameCells
from inspector.tui.lanes import Lanes, LaneTracker

TYPE_FILTERS = (None, "HEADERS", "DATA", "control")  # f cycles through these
DIRECTION_FILTERS = (None, Direction.CLIENT, Direction.SERVER)  # d cycles through these
FLAG_FILTERS = (None, "END_STREAM", "END_HEADERS", "ACK", "PADDED", "PRIORITY")  # e cycles through these

Selection = tuple[int, int | None]  # (conn_index, stream id), or (conn_index, None) for the whole connection
Filters = tuple[int, int, int]  # indexes into TYPE_FILTERS, DIRECTION_FILTERS, FLAG_FILTERS
Describe = Callable[[Session, FrameRecord], FrameCells]

KEPT_RESULTS = 64  # filter results, widths and lanes kept, the most recently used
KEPT_CELLS = 8192  # rows' cells kept: a few screens of every view
#: a connection with this many frames has its frames and column widths worked out when loading ends: a
#: first look at it (Enter on a finding there, say) would otherwise scan every one in the key press
WARM_CONNECTION_FRAMES = 20_000
#: the frame log's columns read over a whole selection (filters, widths, lanes, gaps)
WARM_COLUMNS = ("conn_index", "stream_id", "type_code", "flags", "length", "header_block", "direction", "stream_state",
                "time")

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class _Recent(Generic[_K, _V]):
    """A dict that forgets the least recently used entry beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> _V:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def _filtered(session: Session, rows: Sequence[int], filters: Filters) -> array:
    """The rows (FrameLog indexes) the filters keep, through `compress` over the log's columns."""
    log = session.frames
    kept = array("I", rows)
    type_filter, direction_filter, flag_filter = filters
    wanted_type = TYPE_FILTERS[type_filter]
    if wanted_type is not None:
        types = log.column("type_code")
        codes = {int(F.FrameType.DATA), int(F.FrameType.HEADERS)}
        if wanted_type == "control":
            keep = [types[i] not in codes for i in kept]
        else:
            code = int(F.FrameType[wanted_type])
            keep = list(map(code.__eq__, map(types.__getitem__, kept)))
        kept = array("I", compress(kept, keep))
    wanted_dir = DIRECTION_FILTERS[direction_filter]
    if wanted_dir is not None:
        directions = log.column("direction")
        kept = array("I", compress(kept, map(int(wanted_dir).__eq__, map(directions.__getitem__, kept))))
    wanted_flag = FLAG_FILTERS[flag_filter]
    if wanted_flag is not None:
        types, flags = log.column("type_code"), log.column("flags")
        combos = set(zip(map(types.__getitem__, kept), map(flags.__getitem__, kept), strict=True))
        good = {t << 8 | f for t, f in combos if wanted_flag in F.flag_names(t, f)}
        kept = array("I", compress(kept, [(types[i] << 8 | flags[i]) in good for i in kept]))
    return kept


class _Extended:
    """A result read from the first `done` rows of its source, to be extended from there."""

    __slots__ = ("done", "value")

    def __init__(self, done: int, value: object) -> None:
        self.done = done
        self.value = value


class ViewCache:
    """One session's frame-view results, shared by its list and its ladder."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._start()

    def _start(self) -> None:
        # Made again whenever a bounded history drops frames: what was worked out names them.
        self._base = self.session.frames.base
        self._connections: dict[int, _Extended] = {}  # conn_index -> its frames (array), log rows read
        self._filtered: _Recent[tuple[Selection, Filters], _Extended] = _Recent(KEPT_RESULTS)
        self._widths: _Recent[tuple[Selection, Filters], _Extended] = _Recent(KEPT_RESULTS)
        #: the widths of whole connections, unfiltered: never forgotten (a few ints each), so the big
        #: connections warmed at the end of loading stay warm however many other views were seen
        self._connection_widths: dict[int, _Extended] = {}
        self._lanes: _Recent[int, LaneTracker] = _Recent(KEPT_RESULTS)
        self._cells: dict[Describe, dict[int, FrameCells]] = {}
        self._cells_for = (0, False)  # (frames, complete) of the session the cells were made from

    def _current(self) -> None:
        """Start again if a live session's bounded history dropped frames since the last look."""
        if self.session.frames.base != self._base:
            self._start()

    def warm(self) -> None:
        """Extend the log's columns the views read over many rows to the frames decoded so far: called
        between loading batches, so the first view of a connection does not build them whole."""
        log = self.session.frames
        for name in WARM_COLUMNS:
            log.column(name)
        self.session.header_blocks.column("role")

    def warm_connections(self, min_frames: int = WARM_CONNECTION_FRAMES) -> list[int]:
        """Work out the frames and column widths of every connection with at least `min_frames` frames
        (a capture that is complete), in one pass over the log whatever their number; returns them."""
        self._current()
        log = self.session.frames
        start, n = log.base, len(log)
        conns = log.column("conn_index")[start:n]
        big = [c for c, count in Counter(conns).items() if count >= min_frames and c not in self._connections]
        if big:
            kept = {c: array("I") for c in big}
            for i, c in enumerate(conns, start):
                frames = kept.get(c)
                if frames is not None:
                    frames.append(i)
            for c, frames in kept.items():
                self._connections[c] = _Extended(n, frames)
        for c in big:
            self.widths((c, None), (0, 0, 0), self.connection_frames(c))
        return big

    # ---- the frames of a selection --------------------------------------------------------------

    def connection_frames(self, conn_index: int) -> array:
        """FrameLog indexes of every frame of a connection, in capture order."""
        self._current()
        log = self.session.frames
        entry = self._connections.get(conn_index)
        if entry is None:
            entry = self._connections[conn_index] = _Extended(log.base, array("I"))
        n = len(log)
        if entry.done < n:
            conns = log.column("conn_index")
            frames = entry.value
            assert isinstance(frames, array)
            start = entry.done
            frames.extend(compress(range(start, n), map(conn_index.__eq__, conns[start:n])))
            entry.done = n
        assert isinstance(entry.value, array)
        return entry.value

    def frames(self, selection: Selection | None) -> Sequence[int]:
        """The frames of a stream or a connection, before the filters."""
        self._current()
        if selection is None:
            return array("I")
        conn_index, sid = selection
        if sid is None:
            return self.connection_frames(conn_index)
        return self.session.stream_frames.of(conn_index, sid)

    def filtered(self, selection: Selection | None, filters: Filters) -> Sequence[int]:
        """The frames of a selection that the filters keep."""
        rows = self.frames(selection)  # (made current)
        if selection is None or filters == (0, 0, 0):
            return rows
        key = (selection, filters)
        entry = self._filtered.get(key)
        if entry is None:
            entry = self._filtered.put(key, _Extended(0, array("I")))
        if entry.done < len(rows):
            kept = entry.value
            assert isinstance(kept, array)
            kept.extend(_filtered(self.session, rows[entry.done:], filters))
            entry.done = len(rows)
        assert isinstance(entry.value, array)
        return entry.value

    # ---- what the rows need ---------------------------------------------------------------------

    def widths(self, selection: Selection | None, filters: Filters, rows: Sequence[int]) -> ContentWidths:
        """The column widths of the rows a selection shows (`rows`: what `filtered` gave)."""
        session = self.session
        if selection is None:
            return content_widths(session.frames, session.header_blocks, rows)
        key = (selection, filters)
        whole = selection[1] is None and filters == (0, 0, 0)
        entry = self._connection_widths.get(selection[0]) if whole else self._widths.get(key)
        if entry is None or entry.done > len(rows):
            entry = _Extended(0, ContentWidths())
            if whole:
                self._connection_widths[selection[0]] = entry
            else:
                self._widths.put(key, entry)
        if entry.done < len(rows):
            more = content_widths(session.frames, session.header_blocks, rows[entry.done:])
            old = entry.value
            assert isinstance(old, ContentWidths)
            entry.value = more if entry.done == 0 else old.merge(more)
            entry.done = len(rows)
        assert isinstance(entry.value, ContentWidths)
        return entry.value

    def lanes(self, conn_index: int) -> Lanes:
        """The connection ladder's lanes, a row per frame of the connection (filters never hide a
        stream's end from them)."""
        self._current()
        tracker = self._lanes.get(conn_index)
        if tracker is None:
            tracker = self._lanes.put(conn_index, LaneTracker(self.session.frames))
        return tracker.extend(self.connection_frames(conn_index))

    def cells(self, describe: Describe, index: int) -> FrameCells:
        """The cells of frame `index`, made once while the session stays as it is (a frame's words can
        change while its session grows: a gRPC message that 'starts' here later 'ends' elsewhere)."""
        self._current()
        session = self.session
        now = (len(session.frames), session.complete)
        if now != self._cells_for:
            self._cells.clear()
            self._cells_for = now
        made = self._cells.get(describe)
        if made is None:
            made = self._cells[describe] = {}
        cells = made.get(index)
        if cells is None:
            if len(made) >= KEPT_CELLS:
                made.clear()
            cells = made[index] = describe(session, session.frames[index])
        return cells


def position(rows: Sequence[int], frame: int) -> int | None:
    """Where `frame` is in `rows` (sorted FrameLog indexes), if it is there."""
    at = bisect_left(rows, frame)
    return at if at < len(rows) and rows[at] == frame else None
