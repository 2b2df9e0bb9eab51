"""The h2inspect TUI: streams on the left, the chosen stream's timeline and the
chosen frame's detail on the right.

It reads the model and is told nothing about where it came from: a capture
loads in the background (`loader`), a live proxy session just grows; either
way the views pick up new frames as they appear.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import App as TextualApp
from textual.app import ComposeResult, CSSPathType, ScreenStackError
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from inspector.capture.load import CaptureLoader
from inspector.http2 import frames as F
from inspector.model import Direction, Session, Severity
from inspector.tui.describe import StreamSummary, frame_detail, frame_row, summarize
from inspector.tui.detail_words import WORDS
from inspector.tui.lanes import Lanes, LaneTracker
from inspector.tui.widgets.row_list import RowList

TYPE_FILTERS = (None, "HEADERS", "DATA", "control")  # f cycles through these
DIRECTION_FILTERS = (None, Direction.CLIENT, Direction.SERVER)  # d cycles through these
FLAG_FILTERS = (None, "END_STREAM", "END_HEADERS", "ACK", "PADDED", "PRIORITY")  # e cycles through these
SORTS = ("stream id", "frames", "bytes", "duration")  # s cycles through these
DETAIL_SETTLE = 0.03  # seconds between cursor moves that make them one burst
_TYPE_STYLE = {"HEADERS": "bold green", "DATA": "bold cyan", "RST_STREAM": "bold red", "GOAWAY": "bold red",
               "SETTINGS": "yellow", "WINDOW_UPDATE": "yellow", "PING": "yellow", "PUSH_PROMISE": "bold magenta",
               "CONTINUATION": "green"}

HELP = """\
h2inspect — keys

  ↑ ↓  j k        move in the focused list        PgUp PgDn  a page
  g G  Home End   first / last row                Enter      open the stream / frame
  Tab  Shift+Tab  next / previous pane            mouse      click to select, scroll
  c               connection view: every frame of the connection, a lane per open stream
  /               search headers and payloads in the timeline; n / N next / previous match
  f               filter the timeline by type: all, HEADERS, DATA, control (stream 0 and others)
  d               filter the timeline by direction: all, client, server
  e               filter the timeline by flag: END_STREAM, END_HEADERS, ACK, PADDED, PRIORITY
  s               sort streams: id, frames, bytes, duration
  type in the box above the streams to filter them (method, path, status, state)
  Esc             clear search and filters
  ?               this help                       q          quit

Words always say what a frame is; colour only helps. An HTTP/2 stream is not a
gRPC stream: every call, unary too, is one HTTP/2 stream.
"""


class HelpScreen(ModalScreen[None]):
    """Every binding, in one place."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help")


class App(TextualApp[None]):
    """h2inspect on one session (a capture, or a live proxy run)."""

    CSS_PATH: ClassVar[CSSPathType | None] = "styles.tcss"
    TITLE = "h2inspect"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("c", "connection_view", "Connection view"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match(1)", "Next", show=False),
        Binding("N", "next_match(-1)", "Prev", show=False),
        Binding("f", "type_filter", "Type filter"),
        Binding("d", "direction_filter", "Direction"),
        Binding("e", "flag_filter", "Flag filter"),
        Binding("s", "sort", "Sort"),
        Binding("escape", "clear", "Clear", show=False),
    ]

    def __init__(self, session: Session, loader: CaptureLoader | None = None, title: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.loader = loader
        self.sub_title = title or session.name
        self.entries: list[tuple[int, int | None]] = []  # (conn, stream id) or (conn, None) for a connection
        self.selected: tuple[int, int | None] | None = None  # what the timeline shows
        self.timeline: list[int] = []  # FrameLog indexes on screen
        self.type_filter = 0
        self.direction_filter = 0
        self.flag_filter = 0
        self.sort = 0
        self.filter_text = ""
        self.matches: list[int] = []  # timeline rows that match the search
        self._matched: set[int] = set()
        self.search_text = ""
        self.loaded = loader is None
        self.detail: list[str] = []
        self.detail_lang = "en"  # the frame detail's language (the tutorial's Japanese mode sets "ja")
        self._detail_timer: Timer | None = None
        self._last_move = 0.0  # when the timeline cursor last moved (time.monotonic)
        self._seen = (-1, -1)
        self._status = ""
        self._summaries: dict[tuple[int, int], StreamSummary] = {}
        self._lanes: Lanes | None = None  # the connection view's swimlanes, by unfiltered row
        self._lane_tracker: LaneTracker | None = None
        self._lane_rows: list[int] = []  # the unfiltered rows the tracker has seen
        self._lane_pos: dict[int, int] | None = None  # frame -> unfiltered row, when a filter hides some

    # ---- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal():
            with Vertical(id="left"):
                yield Input(placeholder="type to filter streams", id="filter")
                yield RowList(id="streams")
            with Vertical(id="right"):
                yield Static(id="timeline-title")
                yield RowList(id="timeline")
                yield RowList(id="detail")
        yield Input(placeholder="search headers and payloads (Enter)", id="search")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#streams", RowList).focus()
        self.query_one("#timeline", RowList).follow = self._follow_cursor
        self._refresh()
        if self.loader is not None:
            self.run_worker(self._load(), exclusive=True)
        self.set_interval(0.5, self._refresh)  # a live session grows on its own

    async def _load(self) -> None:
        """Decode the capture in small batches, letting the screen breathe between them."""
        assert self.loader is not None
        started = time.monotonic()
        last = started - 1.0  # the first batch shows at once
        for _ in self.loader.batches(batch=200):
            now = time.monotonic()
            # Often at first, so the screen fills at once; then once a second, since
            # rebuilding a list of 100,000 streams is work the loading could be doing.
            if now - last > (0.25 if now - started < 2 else 1.0):
                last = now
                self._refresh()
            await asyncio.sleep(0)
        self.loaded = True
        # The model is complete and lives as long as the app. Left to the collector, each of
        # its full passes walks every object in it, 100 ms and more on bench/big.pcap, in the
        # middle of whichever key press set it off; frozen objects are left out of them.
        gc.freeze()
        self._refresh()

    def on_unmount(self) -> None:
        gc.unfreeze()  # a process that goes on (a test run) gets the memory of its cycles back

    # ---- keeping the views in step with the model -------------------------------

    def _progress(self) -> str:
        if self.loaded:
            return "loaded"
        reader = self.loader.reader if self.loader else None
        if reader is None or not reader.packet_ends:
            return "loading"
        return f"loading {100 * reader.packet_ends[-1] / max(1, reader.size):.0f}%"

    def _alive(self) -> bool:
        """The screen is still there (while the app shuts down, a timer may still fire once)."""
        try:
            self.query_one("#status")
        except (NoMatches, ScreenStackError):
            return False
        return True

    def _refresh(self) -> None:
        if not self._alive():
            return
        session = self.session
        errors = sum(1 for f in session.findings if f.severity is Severity.ERROR)
        warnings = sum(1 for f in session.findings if f.severity is Severity.WARNING)
        self._set_status(
            f" {session.name}   {len(session.connections)} connections   {len(session.frames)} frames   "
            f"{errors} error{'s' if errors != 1 else ''}   {warnings} warning{'s' if warnings != 1 else ''}   "
            f"{self._progress()}"
            + (f"   sort: {SORTS[self.sort]}" if self.sort else ""))
        streams = sum(len(c.streams) for c in session.connections) + len(session.connections)
        state = (streams, len(session.frames))
        if state == self._seen:
            return
        self._seen = state
        self._summaries.clear()
        self._rebuild_streams()
        if self.selected is None and self.entries:
            first = next((e for e in self.entries if e[1] is not None), self.entries[0])
            self._show(first)
        else:
            self._rebuild_timeline(keep=True)

    def _set_status(self, words: str) -> None:
        # A timer asks twice a second: the same words are not drawn again, and new ones
        # need no layout, since the stylesheet fixes the line's size (a layout would
        # also repaint every scrollbar on screen, in the middle of someone's key press).
        if words != self._status:
            self._status = words
            self.query_one("#status", Static).update(Text(words), layout=False)

    def _summary(self, conn_index: int, stream_id: int) -> StreamSummary:
        key = (conn_index, stream_id)
        summary = self._summaries.get(key)
        if summary is None:
            stream = self.session.stream(conn_index, stream_id)
            assert stream is not None, "a listed stream is in the model"
            summary = self._summaries[key] = summarize(self.session, stream)
        return summary

    def _rebuild_streams(self) -> None:
        entries: list[tuple[int, int | None]] = []
        needle = self.filter_text.lower()
        for conn in self.session.connections:
            ids = [sid for sid in conn.streams if sid]
            if needle:
                ids = [sid for sid in ids if needle in self._summary(conn.index, sid).text().lower()]
            if self.sort:
                key = {1: lambda s: -s.frames, 2: lambda s: -s.data_bytes, 3: lambda s: -s.duration}[self.sort]
                ids.sort(key=lambda sid: key(self._summary(conn.index, sid)))
            else:
                ids.sort()
            if ids or not needle:
                entries.append((conn.index, None))
                entries += [(conn.index, sid) for sid in ids]
        self.entries = entries
        self.query_one("#streams", RowList).set_rows(len(entries), self._stream_row, width=160)

    def _stream_row(self, i: int) -> list[tuple[str, str]]:
        conn_index, sid = self.entries[i]
        conn = self.session.connection(conn_index)
        assert conn is not None, "a listed connection is in the model"
        if sid is None:
            return [(f"conn {conn_index}  {conn.client} → {conn.server}  {conn.protocol}  "
                     f"{conn.frame_count} frames  {len(conn.streams)} streams", "bold")]
        s = self._summary(conn_index, sid)
        status_style = "red" if any(w in s.status for w in ("grpc ", ":status 4", ":status 5")) and \
            "OK" not in s.status else "green"
        return [(f"{s.stream_id:>6} ", ""), (f"{s.what[-34:]:<34}", "bold"), (f" {s.status:<13}", status_style),
                (f" {s.style:<17}", "magenta"), (f" {s.state:<18}", "dim"),
                (f" {s.frames:>5} fr {s.data_bytes:>8} B", "")]

    # ---- the timeline -------------------------------------------------------------

    def _show(self, entry: tuple[int, int | None]) -> None:
        self.selected = entry
        self._rebuild_timeline(keep=False)

    def _frames_of_selection(self) -> list[int]:
        if self.selected is None:
            return []
        conn_index, sid = self.selected
        if sid is None:  # the connection view: every frame of the connection, all streams
            conns = self.session.frames.column("conn")
            return [i for i in range(len(conns)) if conns[i] == conn_index]
        return list(self.session.stream_frames.of(conn_index, sid))

    def _swimlanes(self, rows: list[int], shown: list[int]) -> None:
        """Lanes over every frame of the connection (a filter must not hide a stream's end), extended
        as the view grows rather than redone."""
        tracker = self._lane_tracker
        if tracker is None or tracker.rows > len(rows) or rows[:tracker.rows] != self._lane_rows[:tracker.rows] \
                or (rows and tracker.rows and self.session.frames.conn[rows[0]] !=
                    self.session.frames.conn[self._lane_rows[0]]):
            tracker = self._lane_tracker = LaneTracker(self.session.frames)
        self._lane_rows = rows
        self._lanes = tracker.extend(rows)
        self._lane_pos = None if len(shown) == len(rows) else {frame: pos for pos, frame in enumerate(rows)}

    def _rebuild_timeline(self, keep: bool) -> None:
        indexes = self._frames_of_selection()
        unfiltered = indexes
        log = self.session.frames
        wanted_type = TYPE_FILTERS[self.type_filter]
        if wanted_type == "control":
            indexes = [i for i in indexes if log.type_code[i] not in (F.FrameType.DATA, F.FrameType.HEADERS)]
        elif wanted_type is not None:
            code = F.FrameType[wanted_type]
            indexes = [i for i in indexes if log.type_code[i] == code]
        wanted_dir = DIRECTION_FILTERS[self.direction_filter]
        if wanted_dir is not None:
            indexes = [i for i in indexes if log.direction[i] == wanted_dir]
        wanted_flag = FLAG_FILTERS[self.flag_filter]
        if wanted_flag is not None:
            types, flags = log.type_code, log.flags
            indexes = [i for i in indexes if wanted_flag in F.flag_names(types[i], flags[i])]
        self.timeline = indexes
        if self.selected is not None and self.selected[1] is None:
            self._swimlanes(unfiltered, indexes)
        else:
            self._lanes = None
        origin = log.time[indexes[0]] if indexes else 0.0
        if self.selected is not None and self.selected[1] is not None:
            all_frames = self.session.stream_frames.of(*self.selected)  # type: ignore[arg-type]
            origin = log.time[all_frames[0]] if len(all_frames) else origin
        self._origin = origin
        timeline = self.query_one("#timeline", RowList)
        timeline.set_rows(len(indexes), self._timeline_row, keep_cursor=keep, width=220)
        self._title()
        if indexes:
            self._detail(indexes[min(timeline.cursor, len(indexes) - 1)])
        else:
            self._detail_lines([WORDS[self.detail_lang]["no_frames"]])

    def _title(self) -> None:
        if self.selected is None:
            return
        conn_index, sid = self.selected
        what = f"connection {conn_index}: all streams on one time axis, a lane each (first lane: stream 0)" \
            if sid is None else \
            f"stream {sid} of connection {conn_index}"
        direction = DIRECTION_FILTERS[self.direction_filter]  # Direction.CLIENT is 0: test for None, not truth
        filters = [x for x in (TYPE_FILTERS[self.type_filter],
                               f"from {direction.label}" if direction is not None else None,
                               FLAG_FILTERS[self.flag_filter] and f"flag {FLAG_FILTERS[self.flag_filter]}") if x]
        search = f"   search '{self.search_text}': {len(self.matches)} matches" if self.search_text else ""
        self.query_one("#timeline-title", Static).update(Text(
            f" {what}   {len(self.timeline)} frames" + (f"   filter: {', '.join(filters)}" if filters else "")
            + search + "   (client ──▶ on the left, ◀── server on the right)", style="bold"),
            layout=False)  # one line, sized by the stylesheet

    def _timeline_row(self, i: int) -> list[tuple[str, str]]:
        frame = self.session.frames[self.timeline[i]]
        connection_view = self.selected is not None and self.selected[1] is None
        when, arrow, rest = frame_row(self.session, frame, self._origin, with_stream=connection_view)
        mark = "●" if i in self._matched else " "
        lane = (f"{arrow:<13}", "cyan") if frame.direction is Direction.CLIENT else \
            (f"{arrow:>13}", "magenta")
        type_name, rest_words = rest[:13], rest[13:]
        swimlanes = []
        if self._lanes is not None:
            pos = i if self._lane_pos is None else self._lane_pos[self.timeline[i]]
            swimlanes = [(self._lanes.cells(pos, frame.type_code) + " ", "green")]
        return [(mark, "bold yellow"), (when, "dim"), (" ", ""), *swimlanes, lane, (" ", ""),
                (type_name, _TYPE_STYLE.get(frame.type_name, "bold")), (rest_words, "")]

    def _detail(self, index: int) -> None:
        self._detail_lines(frame_detail(self.session, self.session.frames[index], self.detail_lang))

    def _detail_lines(self, lines: list[str]) -> None:
        # A line-API list, not a Static: a new frame's detail repaints without a layout pass.
        self.detail = lines
        self.query_one("#detail", RowList).set_rows(len(lines), lambda i: [(lines[i], "")], keep_cursor=False,
                                                    width=max(map(len, lines)) + 1)

    def detail_text(self) -> str:
        """The frame detail as shown (for tests and the tutorial)."""
        return "\n".join(self.detail)

    # ---- events and actions -----------------------------------------------------------

    def _follow_cursor(self, row: int) -> None:
        # A lone move (G, a click, one j) draws the detail in the same screen update as
        # the timeline: one compositor pass per key. In a burst (holding j) the detail is
        # drawn once, when the keys settle, so the timeline keeps up with the keys.
        if row >= len(self.timeline):
            return
        index = self.timeline[row]
        now = time.monotonic()
        in_burst = now - self._last_move < DETAIL_SETTLE
        self._last_move = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if in_burst:
            self._detail_timer = self.set_timer(DETAIL_SETTLE, lambda: self._detail(index))
        else:
            self._detail(index)

    @on(RowList.Highlighted, "#streams")
    @on(RowList.Chosen, "#streams")
    def _stream_chosen(self, event: RowList.Highlighted) -> None:
        if event.index < len(self.entries):
            self._show(self.entries[event.index])
            if isinstance(event, RowList.Chosen):
                self.query_one("#timeline", RowList).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._rebuild_streams()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.search_text = event.value
        event.input.display = False
        self._find(event.value)
        self.query_one("#timeline", RowList).focus()
        if self.matches:
            self.query_one("#timeline", RowList).move_to(self.matches[0])

    def _find(self, needle: str) -> None:
        session, log = self.session, self.session.frames
        self.matches = []
        if needle:
            low, raw = needle.lower(), needle.encode()
            for row, index in enumerate(self.timeline):
                hb = log.header_block[index]
                if hb >= 0 and any(low in n.lower() or low in v.lower()
                                   for n, v in session.header_blocks.headers[hb]):
                    self.matches.append(row)
                elif log.length[index] and raw in session.frame_payload(log[index]):
                    self.matches.append(row)
        self._matched = set(self.matches)
        timeline = self.query_one("#timeline", RowList)
        timeline.set_rows(len(self.timeline), self._timeline_row, width=220)
        self._title()

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            return
        timeline = self.query_one("#timeline", RowList)
        if step > 0:
            target = next((m for m in self.matches if m > timeline.cursor), self.matches[0])
        else:
            target = next((m for m in reversed(self.matches) if m < timeline.cursor), self.matches[-1])
        timeline.focus()
        timeline.move_to(target)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_connection_view(self) -> None:
        if self.selected is None:
            return
        conn_index, sid = self.selected
        if sid is None:
            stream = next((e for e in self.entries if e[0] == conn_index and e[1] is not None), None)
            if stream is not None:
                self._show(stream)
        else:
            self._show((conn_index, None))

    def action_type_filter(self) -> None:
        self.type_filter = (self.type_filter + 1) % len(TYPE_FILTERS)
        self._rebuild_timeline(keep=False)

    def action_direction_filter(self) -> None:
        self.direction_filter = (self.direction_filter + 1) % len(DIRECTION_FILTERS)
        self._rebuild_timeline(keep=False)

    def action_flag_filter(self) -> None:
        self.flag_filter = (self.flag_filter + 1) % len(FLAG_FILTERS)
        self._rebuild_timeline(keep=False)

    def action_sort(self) -> None:
        self.sort = (self.sort + 1) % len(SORTS)
        self._rebuild_streams()
        self._refresh()

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.display:
            search.display = False
        self.type_filter = self.direction_filter = self.flag_filter = 0
        self.search_text, self.matches, self._matched = "", [], set()
        self._rebuild_timeline(keep=False)
