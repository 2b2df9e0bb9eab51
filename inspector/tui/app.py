"""The h2inspect TUI: streams on the left, the chosen stream's frames (a list or
a ladder) and the chosen frame's detail on the right, the findings a key away.

The app composes the widgets (`tui/widgets/`) and routes their messages; each
widget keeps its own state (the stream list its filter and sort, a frame view
its selection, filters and clock, the detail its frame). The app is told
nothing about where the session came from: a capture loads in the background
(`loader`), a live proxy session just grows; either way the views pick up new
frames and findings as they appear.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeVar, Unpack

from textual import on, work
from textual.actions import SkipAction
from textual.app import App as TextualApp
from textual.app import ComposeResult, CSSPathType, ScreenStackError
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from inspector.capture.live import PacketQueue
from inspector.capture.load import SECRETS_POLL, CaptureLoader
from inspector.model import Finding, Session
from inspector.rpc.schema import Schema
from inspector.tui.columns import TIME_MODES, cut
from inspector.tui.describe import finding_message
from inspector.tui.fact_line import Fact, FactLine, fact, fit_facts, longest
from inspector.tui.finding_index import FindingIndex
from inspector.tui.query import GotoError, SearchProgress, goto, search
from inspector.tui.said import said
from inspector.tui.save import SaveError, Scope, format_of, save
from inspector.tui.view_cache import ViewCache
from inspector.tui.widgets.boxes import Box, SaveScreen
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.frame_detail import FrameDetail
from inspector.tui.widgets.frame_rows import (
    DIRECTION_FILTERS,
    FLAG_FILTERS,
    TYPE_FILTERS,
    FrameRows,
    Selection,
    StateChange,
)
from inspector.tui.widgets.help import HelpScreen
from inspector.tui.widgets.problems import ProblemsScreen
from inspector.tui.widgets.stream_list import SORTS, StreamList

DETAIL_SETTLE = 0.03  # seconds between cursor moves that make them one burst
STACKED_BELOW = 100  # columns: below this the stream list sits above the timeline
COMPACT_BELOW = 140  # columns: below this the stream list shows id, method and status only
THEMES = ("textual-dark", "textual-light", "nord", "gruvbox", "solarized-light")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: what a key says that the screen shows anyway (the finding it went to is in the frame detail):
#: cut on the status line, it is not shown whole beside it
SHOWN_ELSEWHERE = frozenset({"at_frame"})
FILTER_PLACEHOLDER = "filter streams (F): words or grpc-status!=0"
# A loading batch ends after this many packets or bytes, whichever comes first: the keys and
# the screen wait for a batch, and bytes, not packets, bound its work (a flood of small frames).
LOAD_PACKETS, LOAD_BYTES = 200, 64 * 1024
# Between batches the loop gets one turn, but a key passes through many message pumps (the
# driver, the screen, the focused widget, the bindings), a turn each: after LOAD_SLICE seconds of
# decoding the loading rests LOAD_REST seconds, so a key (q) and a repaint go all the way through.
LOAD_SLICE, LOAD_REST = 0.1, 0.01
SETTLE_EVERY = 1.0  # seconds between freezes of what the views made, once a capture is loaded

#: the actions of the main screen's keys: on a screen above it (problems, help), they go back first
MAIN_SCREEN_ACTIONS = frozenset({
    "toggle_ladder", "connection_view", "zoom", "search", "next_match", "goto", "focus_filter", "type_filter",
    "direction_filter", "flag_filter", "sort", "time_mode", "save", "copy_detail", "copy_value", "clear",
    "follow_newest"})

__all__ = ["App", "DIRECTION_FILTERS", "FLAG_FILTERS", "SORTS", "TYPE_FILTERS"]

_W = TypeVar("_W", bound=Widget)
_S = TypeVar("_S", bound=Screen[Any])


@dataclass(slots=True)
class SearchState:
    """The search across every stream: what was asked, the matches so far, how far it got."""

    needle: str = ""
    matches: list[int] = field(default_factory=list)  # FrameLog indexes, in capture order
    done: int = 0
    total: int = 0
    running: bool = False
    position: int = -1  # which match the cursor is on (-1: none yet)


async def _breathe(now: float, rest_at: float) -> float:
    """Between two loading batches: one turn of the loop, or a rest once LOAD_SLICE has passed
    since the last (see LOAD_REST). Returns when the next rest is due."""
    if now < rest_at:
        await asyncio.sleep(0)
        return rest_at
    await asyncio.sleep(LOAD_REST)
    return time.monotonic() + LOAD_SLICE


class App(TextualApp[None]):
    """h2inspect on one session (a capture, or a live proxy run)."""

    CSS_PATH: ClassVar[CSSPathType | None] = "styles.tcss"
    TITLE = "h2inspect"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("l", "toggle_ladder", "List/ladder"),
        Binding("c", "connection_view", "Connection"),
        Binding("z", "zoom", "Zoom"),
        Binding("p,exclamation_mark", "problems", "Problems"),
        # Priority: run at once, before the next key is handed on, so the text typed right after
        # / or : goes into the box (see action_search); in a box they are typed as themselves.
        Binding("slash", "search", "Search", priority=True),
        Binding("n", "next_match(1)", "Next", show=False),
        Binding("N", "next_match(-1)", "Prev", show=False),
        Binding("colon", "goto", "Go to", priority=True),
        Binding("F", "focus_filter", "Filter streams", show=False, priority=True),
        Binding("f", "type_filter", "Type", show=False),
        Binding("d", "direction_filter", "Direction", show=False),
        Binding("e", "flag_filter", "Flag", show=False),
        Binding("s", "sort", "Sort", show=False),
        Binding("t", "time_mode", "Time"),
        Binding("w", "save(0)", "Save"),
        Binding("W", "save(1)", "Save session", show=False),
        Binding("y", "copy_detail", "Copy", show=False),
        Binding("Y", "copy_value", "Copy value", show=False),
        Binding("T", "next_theme", "Theme", show=False),
        Binding("escape", "clear", "Clear", show=False),
        Binding("a", "follow_newest", "Follow newest", show=False),
    ]

    def __init__(self, session: Session, loader: CaptureLoader | None = None, title: str | None = None,
                 schema: Schema | None = None) -> None:
        super().__init__()
        self.session = session
        self.loader = loader
        if schema is not None:
            session.calls.use_schema(schema)
        self.sub_title = title or session.name
        self.loaded = loader is None
        self.search_state = SearchState()
        self.view_cache = ViewCache(session)  # the list's and the ladder's rows, worked out once for both
        self.message = ""  # what the last key did, when it says so in the status line
        self.lang = "en"  # the language of what the keys say (tui/said.py); the tutorial's may be "ja"
        self._detail_timer: Timer | None = None
        self._spinner: Timer | None = None
        self._last_move = 0.0  # when a frame view's cursor last moved (time.monotonic)
        self._seen = (-1, -1, 0)  # (streams, frames, frames dropped) when the views were last made
        self._status = ""
        self._title_text = ""
        #: the findings read once as they come: row marks, the detail's, the status line's counts, the
        #: problems view's groups
        self.finding_index = FindingIndex(session)
        # A live source (-i, -, --follow): its packets read on a thread, decoded here.
        self.live = loader is not None and loader.live is not None
        self.following = False  # the cursor goes to the newest frame as frames arrive (a)
        self._live_batches: Iterator[Session] | None = None
        self._rate = (time.monotonic(), 0, 0.0)  # (when, frames then, frames per second)
        # A bounded history (the proxy's, a live capture's) drops frames in `notify`, on this loop:
        # the views are made again at once, before the screen draws rows that name them.
        session.listeners.append(self._history_moved)

    # ---- layout: the tutorial composes the parts it needs ------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.status_bar()
        with Horizontal(id="main"):
            yield from self.stream_pane()
            yield from self.frame_pane()
        yield from self.boxes()
        yield KeyFooter()

    def status_bar(self) -> Iterator[Widget]:
        yield FactLine(id="status")

    def stream_pane(self) -> Iterator[Widget]:
        with Vertical(id="left"):
            yield FactLine(id="streams-title")
            yield Box(placeholder=FILTER_PLACEHOLDER, id="filter")
            yield StreamList(self.session, id="streams")

    def frame_pane(self) -> Iterator[Widget]:
        with Vertical(id="right"):
            yield FactLine(id="timeline-title")
            yield FrameRows(self.session, cache=self.view_cache, id="frames")
            yield FrameDetail(self.session, id="detail")

    def boxes(self) -> Iterator[Widget]:
        yield Box(placeholder="search all streams: headers, payloads, gRPC messages (Enter; Esc leaves)",
                  id="search", classes="popup")
        yield Box(placeholder="go to: a stream (12 or s12), a frame (f40), a packet (p7); Esc leaves",
                  id="goto", classes="popup")

    def focus_now(self, widget: Widget) -> None:
        """Move the focus before the next key is read. `Widget.focus` moves it a turn later: the
        keys typed at once after `/`, `:` or Esc (a fast typist, a paste, tmux send-keys) would go
        to the list or the box being left."""
        self.screen.set_focus(widget)

    def _widget(self, selector: str, kind: type[_W]) -> _W | None:
        try:
            return self.query_one(selector, kind)
        except (NoMatches, ScreenStackError):
            return None

    @property
    def streams(self) -> StreamList | None:
        return self._widget("#streams", StreamList)

    @property
    def timeline_view(self) -> FrameRows:
        """The frame view (the list or the ladder: one widget, two shapes)."""
        return self.query_one("#frames", FrameRows)

    @property
    def frame_view(self) -> FrameRows:
        """The frame view on screen, drawn as a list or as a ladder."""
        return self.timeline_view

    @property
    def ladder(self) -> bool:
        """The frames show as a ladder (else as a list)."""
        view = self._widget("#frames", FrameRows)
        return view is not None and view.ladder

    @property
    def detail_view(self) -> FrameDetail:
        return self.query_one("#detail", FrameDetail)

    @property
    def selected(self) -> Selection | None:
        """The stream or connection the frame view shows."""
        return self.frame_view.state.selection

    @property
    def detail(self) -> list[str]:
        """The frame detail's lines (for tests and the tutorial)."""
        return self.detail_view.detail.lines()

    def detail_text(self) -> str:
        """The frame detail as shown (for tests and the tutorial)."""
        return self.detail_view.text()

    def on_mount(self) -> None:
        for box in self.query(".popup"):
            box.display = False
        for view in self._frame_views():
            view.follow = self._follower(view)
        self.detail_view.findings_of = self.finding_index.findings_of
        streams = self.streams
        (streams or self.timeline_view).focus()
        self._layout_for(self.size.width)
        self._refresh()
        if self.loader is not None:
            self.run_worker(self._load(), exclusive=True, group="load")
        self.set_interval(0.5, self._refresh)  # a live session grows on its own

    def _follower(self, view: FrameRows) -> Callable[[int], None]:
        return lambda row: self._follow_cursor(view, row)

    def _frame_views(self) -> list[FrameRows]:
        view = self._widget("#frames", FrameRows)
        return [view] if view is not None else []

    def on_resize(self, event: Resize) -> None:
        self._layout_for(event.size.width)

    def _layout_for(self, width: int) -> None:
        """Stacked below STACKED_BELOW columns, a narrow stream list below COMPACT_BELOW."""
        self.screen.set_class(width < STACKED_BELOW, "-stacked")
        self.screen.set_class(STACKED_BELOW <= width < COMPACT_BELOW, "-compact")
        streams = self.streams
        if streams is not None:
            streams.compact = width < COMPACT_BELOW
            self._size_stream_pane(width)
        if self._alive():
            self._set_status()  # stacked, the stream list's filter and sort move to the status line

    def _size_stream_pane(self, width: int | None = None) -> None:
        """The stream list as wide as its rows need, up to 46% of the screen (30% narrowed),
        so the timeline gets the rest."""
        streams, left = self.streams, self._widget("#left", Vertical)
        if streams is None or left is None:
            return
        width = width or self.size.width
        box = self._widget("#filter", Box)
        if width < STACKED_BELOW:
            left.styles.width = "100%"
            pane = width
        else:
            most = width * 46 // 100
            share = min(most, max(width * 30 // 100, streams.least_width())) if streams.compact else most
            pane = max(30, min(share, streams.wanted_width() + 1))
            left.styles.width = pane
        if box is not None:  # the box's hint, cut with an ellipsis to the pane (2 cells of padding, 1 of border)
            box.placeholder = cut(FILTER_PLACEHOLDER, pane - 3)

    async def _load_live(self) -> None:
        """A live source: packets read on a thread (reading blocks), decoded on this loop as they come."""
        assert self.loader is not None
        loader = self.loader
        packets = PacketQueue(loader.reader)
        # A connection waiting for its secrets in a key log: the loader yields at each look
        # instead of sleeping, and the waiting is done here, where the screen goes on.
        loader.pause = None
        self._live_batches = batches = loader.batches(LOAD_PACKETS, packets, LOAD_BYTES)
        last = 0.0
        rest_at = time.monotonic() + LOAD_SLICE
        log = self.session.frames
        for _ in batches:
            now = time.monotonic()
            # A bounded history that dropped frames: the views are made again before the screen
            # is next drawn, since the rows they hold may name frames that are gone.
            if now - last > 0.25 or log.base != self._seen[2]:
                last = now
                self._refresh()
            if loader.waiting_for_secrets:
                await asyncio.sleep(SECRETS_POLL)
                continue
            rest_at = await _breathe(now, rest_at)
            while packets.idle() and not packets.ended:  # nothing yet: the screen is the user's
                await asyncio.sleep(0.05)
        self._live_batches = None
        self.loaded = True
        self._refresh()

    def finish_live(self) -> None:
        """After the app: stop the capture and decode what it still had (the recording, the counts)."""
        if self.loader is None or not self.live:
            return
        self.loader.stop()
        self.loader.pause = time.sleep  # no screen any more: what is left is decoded here, waiting included
        for _ in self._live_batches or ():
            pass
        self._live_batches = None

    async def action_quit(self) -> None:
        """Quit at once, even while a capture loads: the loading stops first, or each of the
        shutdown's steps would wait behind a batch of decoding (seconds, on a flood of frames)."""
        self.workers.cancel_group(self, "load")
        self.exit()

    def action_follow_newest(self) -> None:
        """Follow the newest frame as frames arrive (like tail -f), or stop following."""
        self.following = not self.following
        if self.following:
            self.frame_view.action_jump(-1)
        self.say_key("following" if self.following else "not_following")

    async def _load(self) -> None:
        """Decode the capture in small batches, letting the screen breathe between them."""
        assert self.loader is not None
        if self.live:
            await self._load_live()
            return
        started = time.monotonic()
        last = started - 1.0  # the first batch shows at once
        rest_at = started + LOAD_SLICE
        for _ in self.loader.batches(LOAD_PACKETS, batch_bytes=LOAD_BYTES):
            now = time.monotonic()
            # Often at first, so the screen fills at once; then once a second, since
            # rebuilding a list of 100,000 streams is work the loading could be doing.
            if now - last > (0.25 if now - started < 2 else 1.0):
                last = now
                self.view_cache.warm()
                gc.freeze()  # the model so far: left out of the collector's passes while the rest loads
                self._refresh()
            rest_at = await _breathe(now, rest_at)
        self.view_cache.warm()
        self.view_cache.warm_connections()
        self.loaded = True
        # The model is complete and lives as long as the app. Left to the collector, each of
        # its full passes walks every object in it, 100 ms and more on bench/big.pcap, in the
        # middle of whichever key press set it off; frozen objects are left out of them.
        self._settle()
        self.set_interval(SETTLE_EVERY, self._settle)
        self._refresh()

    def _settle(self) -> None:
        """What the views made since the last second (a problems index, rows' cells, a ladder's lanes)
        mostly lives as long as the app too: collected once, the rest is frozen with the model, so that
        no full pass of the collector, in the middle of a key, walks everything made since loading."""
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()  # a process that goes on (a test run) gets the memory of its cycles back

    # ---- keeping the views in step with the model -------------------------------------------

    def _live_facts(self) -> list[Fact]:
        """live · packets, frames, drops, rate: what a live source has brought so far. The rate and
        the packets give way first; live or ended, and the drops, stay."""
        session, loader = self.session, self.loader
        assert loader is not None
        now, frames = time.monotonic(), len(session.frames)
        then, before, rate = self._rate
        if now - then >= 1.0:
            rate = (frames - before) / (now - then)
            self._rate = (now, frames, rate)
        facts = [fact("live" if not self.loaded else "ended", give_way=20),
                 fact(f"{session.packets} packets", "", give_way=3),
                 fact(f"{rate:.0f} frames/s", "", give_way=2)]
        sniffer = loader.sniffer
        if sniffer is not None:
            counts = loader.stats or sniffer.counts()
            dropped = counts.dropped if counts is not None else "?"
            facts.append(fact(f"{dropped} dropped", f"{dropped} drop", give_way=12))
            if not self.loaded:
                sniffer.ask_counts()  # for the next look
        dropped = session.frames.base
        if dropped:  # a bounded history (--history): the oldest frames are gone, say so
            kept = frames - dropped
            facts.append(fact(f"showing the last {kept} frames, {dropped} earlier dropped",
                              f"last {kept} frames, {dropped} dropped", f"last {kept} frames", give_way=11))
        if loader.waiting_for_secrets:
            facts.append(fact("waiting for TLS secrets in the key log", "waiting for TLS secrets",
                              "no TLS keys yet", give_way=6))
        if self.following:
            facts.append(fact("following (a)", "follow (a)", give_way=6))
        return facts

    def _progress(self) -> str:
        """A capture's: loading and how far, or loaded."""
        if self.loaded:
            return "loaded" if self.loader is not None or self.session.complete else "live"
        reader = self.loader.reader if self.loader else None
        if reader is None or not reader.packet_ends:
            return "loading"
        return f"loading {100 * reader.packet_ends[-1] / max(1, reader.size):.0f}%"

    def _status_facts(self) -> list[Fact]:
        """The status line's facts, in their order on the line. When it is narrow the name goes
        first, then the counts, then the findings' words turn into marks (✖3 ▲12), then the
        key's message is cut; live or loaded, the findings and the drops always stay."""
        session, index = self.session, self.finding_index
        facts = [fact(session.name, "", give_way=0),
                 fact(f"{len(session.connections)} connections", "", give_way=1),
                 fact(f"{len(session.frames)} frames", "", give_way=4),
                 fact(f"{index.count_words()} (p)", f"{index.count_badges()} (p)", give_way=5)]
        facts += self._live_facts() if self.live else [fact(self._progress(), give_way=20)]
        streams = self.streams
        if streams is not None and self.screen.has_class("-stacked"):
            facts += streams.facts(stacked=True)  # the list's own title is hidden: its filter and sort
        if self.message:
            facts.append(fact(self.message, give_way=10, least=16))
        return facts

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
        self._read_findings()
        self._set_status()
        streams_count = sum(len(c.streams) for c in session.connections) + len(session.connections)
        state = (streams_count, len(session.frames), session.frames.base)
        if state == self._seen:
            return
        self._seen = state
        streams = self.streams
        if streams is not None:
            streams.model_changed()
            self._streams_title()
            self._size_stream_pane()
        selected = self.selected
        if selected is not None and selected[1] is not None and session.stream(selected[0], selected[1]) is None:
            selected = None  # a closed stream a bounded history dropped: show the first one kept
        if selected is None:
            first: Selection | None = next(((c.index, sid) for c in session.connections
                                            for sid in sorted(c.streams) if sid), None)
            if first is None and session.connections:
                first = (session.connections[0].index, None)
            if first is not None:
                self.show(first)
        else:
            self.frame_view.rebuild(self.frame_view.current_frame(), keep=True)
            if self.following:
                self.frame_view.action_jump(-1)
            self._title()
        shown = self.detail_view.frame
        if shown is not None and shown < session.frames.base:  # dropped: not even until a burst settles
            self.detail_view.show(self.frame_view.current_frame())

    def _history_moved(self, session: Session) -> None:
        """A Session listener: frames were dropped since the views were made."""
        if session.frames.base != self._seen[2] and self._alive():
            self._refresh()

    def _read_findings(self) -> None:
        """New findings: their marks on frames and streams (the detail and the lists show them)."""
        if not self.finding_index.update():
            return
        for view in self._frame_views():
            view.set_marks(marks=self.finding_index.frame_marks)
        streams = self.streams
        if streams is not None:
            streams.marks = self.finding_index.stream_marks
            streams.redraw()
        if self.detail_view.frame is not None:
            self.detail_view.show(self.detail_view.frame)

    def _set_status(self) -> None:
        # A timer asks twice a second: the same facts are not drawn again, and new ones need no
        # layout, since the stylesheet fixes the line's size (a layout would also repaint every
        # scrollbar on screen, in the middle of someone's key press).
        facts = self._status_facts()
        self._status = longest(facts)
        self.query_one("#status", FactLine).show(facts)

    def say(self, words: str, whole: bool = True) -> None:
        """Put what a key did in the status line; cut there, and `whole`, it is also shown whole for
        a while (a notification: a widget mounted, so not for the words the screen shows anyway)."""
        self.message = words
        self._set_status()
        status = self._widget("#status", FactLine)
        if whole and words and status is not None and \
                words not in fit_facts(self._status_facts(), status.size.width or self.size.width):
            self.notify(words, timeout=6)

    def say_key(self, key: str, **values: object) -> None:
        """Say the words of `key` (tui/said.py) in the App's language."""
        self.say(said(self.lang, key, **values), whole=key not in SHOWN_ELSEWHERE)

    def _streams_title(self) -> None:
        streams = self.streams
        title = self._widget("#streams-title", FactLine)
        if streams is not None and title is not None:
            title.show(streams.facts())
        if self.screen.has_class("-stacked"):
            self._set_status()  # there, the list's filter and sort are on the status line

    def _title(self) -> None:
        view = self.frame_view
        facts = view.title_facts() + [fact(f"{'ladder' if self.ladder else 'list'} (l)", give_way=15)]
        search = self._search_facts()
        if search is not None:
            facts.append(search)
        words = longest(facts)
        if words != self._title_text:
            self._title_text = words
            title = self._widget("#timeline-title", FactLine)
            if title is not None:
                title.show(facts)

    def _search_facts(self) -> Fact | None:
        """The search, its count and where the cursor is; its short form keeps the numbers."""
        s = self.search_state
        if not s.needle:
            return None
        if s.running:
            spin = SPINNER[int(time.monotonic() * 10) % len(SPINNER)]
            done = 100 * s.done // max(1, s.total)
            return fact(f"searching '{s.needle}' {spin} {done}% · {len(s.matches)} matches so far",
                        f"'{s.needle}' {spin} {done}%, {len(s.matches)} found", give_way=11, least=12)
        log = self.session.frames
        streams = len({(log.conn_index[i], log.stream_id[i]) for i in s.matches})
        where = f", match {s.position + 1} of {len(s.matches)}" if s.position >= 0 else ""
        at = f" {s.position + 1}/{len(s.matches)}" if s.position >= 0 else f" {len(s.matches)} matches"
        forms = [f"search '{s.needle}': {len(s.matches)} matches in {streams} streams{where} (n/N)"]
        if s.position >= 0:
            forms.append(f"search '{s.needle}': match {s.position + 1} of {len(s.matches)}, in {streams} streams (n/N)")
        forms += [f"'{s.needle}':{at} in {streams} streams (n/N)", f"'{s.needle}':{at} (n/N)"]
        return fact(*forms, give_way=11, least=12)

    # ---- showing a stream, a connection, a frame -----------------------------------------------

    def show(self, selection: Selection, frame: int | None = None) -> None:
        """Show a stream or a connection in the frame view, the cursor on `frame` if given."""
        view = self.frame_view
        view.apply(replace(view.state, selection=selection), frame)
        self.search_state.position = -1 if frame is None else self.search_state.position
        if not view.frames:
            self.detail_view.show(None)
        self._title()

    def jump(self, conn_index: int, stream_id: int | None, frame: int | None = None) -> None:
        """Go to a stream (or a connection) and a frame, clearing a filter that would hide them."""
        selection: Selection = (conn_index, stream_id)
        view = self.frame_view
        self.show(selection, frame)
        if frame is not None and view.current_frame() != frame:
            view.apply(replace(view.state, type_filter=0, direction_filter=0, flag_filter=0), frame)
            self.say_key("filters_cleared")
        streams = self.streams
        if streams is not None and not streams.select(selection):
            box = self._widget("#filter", Box)
            if isinstance(box, Box) and box.value:
                box.value = ""
                streams.set_filter("")
                self._streams_title()
            streams.select(selection)
        self.focus_now(view)
        self._title()

    def _follow_cursor(self, view: FrameRows, row: int) -> None:
        # A lone move (G, a click, one j) draws the detail in the same screen update as
        # the frame view: one compositor pass per key. In a burst (holding j) the detail is
        # drawn once, when the keys settle, so the view keeps up with the keys.
        if view is not self.frame_view or row >= len(view.frames):
            return
        index = view.frames[row]
        now = time.monotonic()
        in_burst = now - self._last_move < DETAIL_SETTLE
        self._last_move = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if in_burst:
            self._detail_timer = self.set_timer(DETAIL_SETTLE, lambda: self.detail_view.show(index))
        else:
            self.detail_view.show(index)

    # ---- messages from the widgets ----------------------------------------------------------------

    @on(StreamList.Selected)
    def _stream_selected(self, event: StreamList.Selected) -> None:
        if not self.is_running:
            return  # quitting: a cursor move still queued finds its views already removed
        if event.entry != self.selected:
            self.show(event.entry)
        if event.chosen:
            self.focus_now(self.frame_view)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        streams = self.streams
        if streams is not None:
            streams.set_filter(event.value)
            self._streams_title()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        streams = self.streams
        if streams is not None:
            self.focus_now(streams)

    @on(Box.Left)
    def _box_left(self, event: Box.Left) -> None:
        box = event.box
        if box.has_class("popup"):
            box.display = False
            self.focus_now(self.frame_view)
        else:
            self.focus_now(self.streams or self.frame_view)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.focus_now(self.frame_view)
        self.start_search(event.value)

    @on(Input.Submitted, "#goto")
    def _goto_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        text = event.value
        event.input.value = ""
        self.focus_now(self.frame_view)
        selection = self.selected
        try:
            target = goto(self.session, text, selection[0] if selection else None)
        except GotoError as exc:
            self.say(exc.words_in(self.lang))
            return
        self.jump(target.conn_index, target.stream_id, target.frame)
        self.say_key("went", where=target.words_in(self.lang))

    # ---- search -------------------------------------------------------------------------------------

    def start_search(self, needle: str) -> None:
        """Search every stream for `needle` in a worker; the title shows how far it got."""
        self.search_state = SearchState(needle, running=bool(needle), total=len(self.session.frames))
        for view in self._frame_views():
            view.set_marks(matches=set())
        if needle:
            self._spinner = self.set_interval(0.1, self._title)
            self._search_worker(needle)
        self._title()

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, needle: str) -> None:
        state = self.search_state
        progress = SearchProgress(0, 0, [])
        for progress in search(self.session, needle):
            if self.search_state is not state:
                return  # a newer search took over
            state.done, state.total = progress.done, progress.total
            state.matches = list(progress.matches)
        self.call_from_thread(self._search_done, state, progress.matches)

    def _search_done(self, state: SearchState, matches: list[int]) -> None:
        if state is not self.search_state:
            return
        state.matches, state.running = matches, False
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        found = set(matches)
        for view in self._frame_views():
            view.set_marks(matches=found)
        if matches:
            self.action_next_match(1)
        self._title()

    def action_next_match(self, step: int) -> None:
        """The next (or previous) match in capture order, whichever stream it is on."""
        s = self.search_state
        base = self.session.frames.base
        if s.matches and s.matches[0] < base:  # matches a bounded history dropped since the search
            s.matches = [m for m in s.matches if m >= base]
            s.position = -1
        if not s.matches:
            if s.needle:
                self.say_key("no_matches", needle=s.needle)
            else:
                self.say_key("search_first")
            return
        here = self.frame_view.current_frame()
        here = -1 if here is None else here
        import bisect

        if step > 0:
            pos = bisect.bisect_right(s.matches, here) if s.position >= 0 else bisect.bisect_left(s.matches, here)
            pos = pos % len(s.matches)
        else:
            pos = (bisect.bisect_left(s.matches, here) - 1) % len(s.matches)
        s.position = pos
        frame = s.matches[pos]
        log = self.session.frames
        sid = log.stream_id[frame]
        selected = self.selected
        keep_connection = selected is not None and selected[1] is None and selected[0] == log.conn_index[frame]
        self.jump(log.conn_index[frame], None if keep_connection or not sid else sid, frame)
        s.position = pos
        self._title()

    # ---- actions --------------------------------------------------------------------------------------

    def keys_from_above(self, screen: _S) -> _S:
        """`screen` (problems, help) with the main screen's keys bound to go back there first and do
        what they do (`/` on the problems view: back, and search), hidden from its footer. A
        screen's own bindings, not App.check_action: that would change the main screen's keys too
        while it is hidden, and its footer would be composed again on every visit."""
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action.partition("(")[0] in MAIN_SCREEN_ACTIONS:
                screen._bindings.bind(binding.key, f"app.from_above({binding.action!r})", show=False)
        return screen

    async def action_from_above(self, action: str) -> None:
        """A main screen's key on a screen above it: back to the main screen, then the key's action."""
        if self.screen is not self.screen_stack[0]:
            self.pop_screen()
        await self.run_action(action)

    def action_help(self) -> None:
        self.push_screen(self.keys_from_above(HelpScreen()))

    def action_toggle_ladder(self) -> None:
        self.frame_view.show_as(not self.ladder)
        self.say_key("timeline_ladder" if self.ladder else "timeline_list")
        self._title()

    def action_connection_view(self) -> None:
        selection = self.selected
        if selection is None:
            return
        conn_index, sid = selection
        view = self.frame_view
        frame = view.current_frame()
        if sid is None:
            log = self.session.frames
            own = log.stream_id[frame] if frame is not None else 0
            streams = self.streams
            entries = streams.entries if streams is not None else []
            target = own or next((e[1] for e in entries if e[0] == conn_index and e[1] is not None), None)
            if target:
                self.jump(conn_index, target, frame if own else None)
        else:
            self.jump(conn_index, None, frame)

    def action_zoom(self) -> None:
        left = self._widget("#left", Vertical)
        if left is None:
            return
        if left.display:
            self.frame_view.focus()  # not a box or a list that is about to hide
        left.display = not left.display
        self.say_key("zoomed" if not left.display else "unzoomed")

    def action_problems(self) -> None:
        # One screen, kept between visits (installed): opening it again composes nothing, and its
        # cursor is where it was left.
        if not self.is_screen_installed("problems"):
            self.install_screen(self.keys_from_above(ProblemsScreen(self.session, index=self.finding_index)),
                                name="problems")
        self.push_screen("problems", callback=self._finding_chosen)

    def _finding_chosen(self, finding: Finding | None) -> None:
        if finding is None:
            return
        # One screen update for the jump: the main screen comes back whole, and the widgets the jump
        # changed would each ask for a second update a few hops later; held in a batch until they have.
        self._begin_batch()
        try:
            self._go_to_finding(finding)
        finally:
            self.call_after_refresh(self._end_batch)

    def _go_to_finding(self, finding: Finding) -> None:
        log = self.session.frames
        message = finding_message(finding, self.lang)
        if finding.frame is not None and finding.frame < log.base:  # a bounded history dropped it
            if finding.conn_index is not None:
                self.jump(finding.conn_index, None)
            self.say_key("frame_dropped", message=message)
        elif finding.frame is not None and finding.frame < len(log):
            sid = log.stream_id[finding.frame]
            self.jump(log.conn_index[finding.frame], sid or None, finding.frame)
            self.say_key("at_frame", message=message)
        elif finding.conn_index is not None:
            self.jump(finding.conn_index, finding.stream_id or None)
            self.say_key("at_stream" if finding.stream_id else "at_connection", message=message)
        else:
            self.say_key("whole_session", message=message)

    def _typing(self) -> bool:
        """A box has the keys, or a screen above the main one is shown: / and : are not ours then."""
        return isinstance(self.focused, Input) or self.screen is not self.screen_stack[0]

    def action_search(self) -> None:
        if self._typing():
            raise SkipAction()  # the key goes on: typed into the box, or the other screen's
        box = self.query_one("#search", Box)
        box.display = True
        box.value = self.search_state.needle
        self.focus_now(box)

    def action_goto(self) -> None:
        if self._typing():
            raise SkipAction()
        box = self.query_one("#goto", Box)
        box.display = True
        self.focus_now(box)

    def action_focus_filter(self) -> None:
        if self._typing():
            raise SkipAction()
        box = self._widget("#filter", Box)
        if box is not None:
            self.focus_now(box)

    def _change(self, **changes: Unpack[StateChange]) -> None:
        self.frame_view.change(**changes)
        if not self.frame_view.frames:
            self.detail_view.show(None)
        self._title()

    def action_type_filter(self) -> None:
        state = self.frame_view.state
        self._change(type_filter=(state.type_filter + 1) % len(TYPE_FILTERS))

    def action_direction_filter(self) -> None:
        state = self.frame_view.state
        self._change(direction_filter=(state.direction_filter + 1) % len(DIRECTION_FILTERS))

    def action_flag_filter(self) -> None:
        state = self.frame_view.state
        self._change(flag_filter=(state.flag_filter + 1) % len(FLAG_FILTERS))

    def action_time_mode(self) -> None:
        state = self.frame_view.state
        mode = TIME_MODES[(TIME_MODES.index(state.time_mode) + 1) % len(TIME_MODES)]
        self._change(time_mode=mode)
        streams = self.streams
        if streams is not None:
            streams.redraw()

    def action_sort(self) -> None:
        streams = self.streams
        if streams is not None:
            streams.sort = (streams.sort + 1) % len(SORTS)
            self._streams_title()

    def action_clear(self) -> None:
        for box in self.query(".popup"):
            box.display = False
        state = self.frame_view.state
        self.search_state = SearchState()
        for view in self._frame_views():
            view.set_marks(matches=set())
        self._change(type_filter=0, direction_filter=0, flag_filter=0)
        self.say_key("cleared_both" if state != self.frame_view.state else "cleared_search")

    def action_save(self, whole: int) -> None:
        selection = self.selected
        scope = Scope(None, None) if whole or selection is None else Scope(*selection)
        prompt = said(self.lang, "save.prompt", what=scope.words(self.lang))
        self.push_screen(self.save_screen(prompt, scope.file_name()), callback=lambda path: self._save_to(scope, path))

    def save_screen(self, prompt: str, suggested: str) -> SaveScreen:
        """The box that asks where to save (the tutorial puts its keys in the learner's language)."""
        return SaveScreen(prompt, suggested)

    def _save_to(self, scope: Scope, path: str | None) -> None:
        if not path:
            self.say_key("not_saved")
            return
        try:
            format_of(path)
        except SaveError as exc:
            self.say(exc.words_in(self.lang))
            return
        self.say_key("saving", what=scope.words(self.lang), path=path)
        self._save_worker(scope, path)

    @work(thread=True, group="save")
    def _save_worker(self, scope: Scope, path: str) -> None:
        try:
            words = save(self.session, scope, path).words_in(self.lang)
        except SaveError as exc:
            words = exc.words_in(self.lang)
        self.call_from_thread(self.say, words)

    def action_copy_detail(self) -> None:
        text = self.detail_text()
        self.copy_to_clipboard(text)
        self.say_key("copied_detail", lines=len(text.splitlines()))

    def action_copy_value(self) -> None:
        value = self.detail_view.header_value()
        if value is None:
            self.say_key("copy_where")
            return
        self.copy_to_clipboard(value)
        self.say_key("copied_value", value=value[:40])

    def action_next_theme(self) -> None:
        now = self.theme if self.theme in THEMES else THEMES[-1]
        self.theme = THEMES[(THEMES.index(now) + 1) % len(THEMES)]
        self.say_key("theme", theme=self.theme)

