"""Column layout of the TUI's rows: widths that follow the content and the
terminal, and the order in which words give way when room runs out.

Pure functions of cells and a width, so the layout at 80, 120 and 200
columns is testable without a terminal. A row is a list of pieces (text,
component class); the widget turns each class into a style from the .tcss.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from inspector.http2 import frames as F
from inspector.model import Direction, FrameLog, HeaderBlockLog, Role
from inspector.tui.describe import FLAG_BADGES, ROLE_WORDS, FrameCells, badge, wall_clock
from inspector.tui.detail_words import COLUMN_ROLES, COLUMN_WORDS, DIRECTION_CELLS, SHORT_DIRECTION_CELLS

Piece = tuple[str, str]  # (text, component class, "" for none)
Row = list[Piece]

ELLIPSIS = "…"
ORPHAN = 8  # cells: a wrapped line's last row is never one word shorter than this, alone
MEANING_ROOM = 16  # the meaning column gets this much before the direction and role are shortened
MEANING_LEAST = 0  # flags turn into badges only when they do not fit at all
TIME_MODES = ("capture", "stream", "delta", "wall")
TIME_MODE_WORDS = {"capture": "time since capture start", "stream": "time since the stream's first frame",
                   "delta": "time since the previous row", "wall": "wall-clock time"}
TIME_MODE_SHORT = {"capture": "t: capture", "stream": "t: stream", "delta": "t: delta", "wall": "t: wall clock"}
DIRECTION_WORDS = {Direction.CLIENT: ("client ─▶", "C▶"), Direction.SERVER: ("◀─ server", "◀S")}
TYPE_CLASS_BY_NAME = {"DATA": "data", "HEADERS": "headers", "CONTINUATION": "headers", "RST_STREAM": "reset",
                      "GOAWAY": "reset", "PUSH_PROMISE": "push"}


def cell_width(text: str) -> int:
    """Terminal cells: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis."""
    if width <= 0:
        return ""
    used = cell_width(text)
    if used <= width:
        pad = " " * (width - used)
        return pad + text if right else text + pad
    head, used = _head(text, width - 1)
    return head + ELLIPSIS + " " * (width - 1 - used)


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending with an ellipsis when it had to be cut."""
    if cell_width(text) <= width:
        return text
    return _head(text, width - 1)[0].rstrip() + ELLIPSIS if width > 0 else ""


def _head(text: str, cells: int) -> tuple[str, int]:
    """The longest start of `text` in at most `cells` cells, and the cells it takes."""
    out: list[str] = []
    used = 0
    for ch in text:
        w = cell_width(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out), used


def wrap_spans(text: str, width: int, indent: int = 0) -> list[tuple[int, int]]:
    """Where a line breaks to fit `width` cells: (start, end) character spans, each break at the last
    space that fits when there is one; rows after the first are `indent` cells narrower."""
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    room = max(1, width)
    while start < n:
        used, end, space = 0, start, -1
        while end < n:
            w = cell_width(text[end])
            if used + w > room:
                break
            if text[end] == " ":
                space = end
            used += w
            end += 1
        if end < n and space > start:
            end = space + 1  # the space stays at the end of the row it ends
            if cell_width(text[end:]) < ORPHAN and " " not in text[end:].strip():
                # one short word would be left alone on the last row ("stream" / "1"): take its neighbour
                before = text.rfind(" ", start, space)
                end = before + 1 if before > start else end
        spans.append((start, end))
        start = end
        room = max(1, width - indent)
    return spans or [(0, 0)]


def fit_tail(text: str, width: int) -> str:
    """`text` in `width` cells, cut at the start ("…demo.Demo/Unary"): a method's name is at its end."""
    if cell_width(text) <= width or width <= 1:
        return fit(text, width)
    return ELLIPSIS + text[len(text) - (width - 1):]


def mixed_flags(names: Sequence[str]) -> tuple[str, ...]:
    """Flags as badges but END_STREAM, which decides how a stream reads and stays spelled out."""
    return tuple(n if n == "END_STREAM" else badge(n) for n in names)


def pieces_width(row: Sequence[Piece]) -> int:
    return sum(cell_width(text) for text, _ in row)


# ---- time ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Clock:
    """How the time column reads: one zero for every view (the capture's start), or the stream's
    start, or the gap to the previous row, or the wall clock."""

    mode: str = "capture"
    zero: float = 0.0  # the capture's first packet (Session.time_zero)

    def text(self, t: float, stream_start: float, previous: float | None) -> str:
        if self.mode == "capture":
            return f"{t - self.zero:.6f}"
        if self.mode == "stream":
            return f"{t - stream_start:.6f}"
        if self.mode == "delta":
            return f"+{t - previous:.6f}" if previous is not None else f"+{0:.6f}"
        return wall_clock(t)

    def width(self, span_end: float, stream_start: float) -> int:
        if self.mode == "wall":
            return 15
        if self.mode == "stream":
            return len(f"{max(0.0, span_end - stream_start):.6f}")
        return len(f"{max(0.0, span_end - self.zero):.6f}") + (1 if self.mode == "delta" else 0)


# ---- the timeline as a list -----------------------------------------------------------------


@dataclass(slots=True)
class ContentWidths:
    """The widest content of each column over the rows of a view."""

    stream: int = 1
    type: int = 4
    flags_spelled: int = 0
    flags_badges: int = 0
    role_spelled: int = 0
    role_short: int = 0
    length: int = 1
    flags_mixed: int = 0  # END_STREAM spelled out, the other flags as badges

    def merge(self, other: ContentWidths) -> ContentWidths:
        """The widths of both sets of rows (a view that grew: the old rows' widths and the new ones')."""
        return ContentWidths(*(max(a, b) for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, ...]:
        return (self.stream, self.type, self.flags_spelled, self.flags_badges, self.role_spelled,
                self.role_short, self.length, self.flags_mixed)


def content_widths(log: FrameLog, blocks: HeaderBlockLog, rows: Sequence[int]) -> ContentWidths:
    """One pass over a view's rows (FrameLog indexes): the widths their cells need. The columns are
    read through `map` and sets, not a loop in Python: 150,000 rows take a few tens of ms."""
    widths = ContentWidths()
    if not rows:
        return widths
    types, flags, lengths = log.column("type_code"), log.column("flags"), log.column("length")
    stream_ids, header_blocks = log.column("stream_id"), log.column("header_block")
    roles, headers = blocks.column("role"), blocks.headers
    combos = set(zip(map(types.__getitem__, rows), map(flags.__getitem__, rows), strict=True))
    hbs = list(filter((-1).__lt__, map(header_blocks.__getitem__, rows)))  # the rows that complete a block
    labels = set()
    for code in set(map(roles.__getitem__, hbs)):
        role = Role(code)
        if role is Role.TRAILERS:  # a Trailers-Only response (its :status first) has a longer label
            kinds = set()
            for hb in hbs:
                if roles[hb] == code:
                    kinds.add("trailers-only" if headers[hb] and headers[hb][0][0] == ":status" else "trailers")
                    if len(kinds) == 2:
                        break
            labels |= kinds
        elif role is not Role.NONE:
            labels.add(role.label)
    widths.stream = len(str(max(map(stream_ids.__getitem__, rows))))
    widths.length = len(str(max(map(lengths.__getitem__, rows))))
    widths.type = max(len(F.type_name(t)) for t, _ in combos)
    for t, f in combos:
        names = F.flag_names(t, f)
        widths.flags_spelled = max(widths.flags_spelled, len(" ".join(names)))
        widths.flags_badges = max(widths.flags_badges, len(" ".join(badge(n) for n in names)))
        widths.flags_mixed = max(widths.flags_mixed, len(" ".join(mixed_flags(names))))
    widths.role_spelled = max((len(ROLE_WORDS[label][0]) for label in labels), default=0)
    widths.role_short = max((len(ROLE_WORDS[label][1]) for label in labels), default=0)
    return widths


@dataclass(slots=True, frozen=True)
class ListLayout:
    """The timeline's columns at one width: which words are spelled out, and how wide each is."""

    time: int
    direction_words: bool
    stream: int
    type: int
    flags_spelled: bool
    flags: int
    role_spelled: bool
    role: int
    length: int
    meaning: int
    lang: str = "en"  # of the column names, directions and roles
    flags_mixed: bool = False  # not spelled: END_STREAM still is, the other flags are badges

    @staticmethod
    def choose(widths: ContentWidths, time_width: int, width: int, lang: str = "en") -> ListLayout:
        """Spell everything where there is room; as it runs out, shorten the direction, then the role,
        then turn flags but END_STREAM into badges, then END_STREAM too: type, role and END_STREAM stay on
        every row longest."""
        levels = ((True, True, True), (False, True, True), (False, False, True))
        for direction_words, role_spelled, flags_spelled in levels:
            layout = ListLayout._at(widths, time_width, width, direction_words, role_spelled, flags_spelled, lang)
            if layout.meaning >= MEANING_ROOM:
                return layout
        mixed = ListLayout._at(widths, time_width, width, False, False, False, lang, flags_mixed=True)
        if mixed.meaning >= MEANING_LEAST:  # END_STREAM spelled out matters more than the meaning's words
            return mixed
        return ListLayout._at(widths, time_width, width, False, False, False, lang)

    @staticmethod
    def _at(widths: ContentWidths, time_width: int, width: int, direction_words: bool, role_spelled: bool,
            flags_spelled: bool, lang: str = "en", flags_mixed: bool = False) -> ListLayout:
        direction = DIRECTION_CELLS[lang] if direction_words else SHORT_DIRECTION_CELLS[lang]
        flags = widths.flags_spelled if flags_spelled else widths.flags_mixed if flags_mixed else widths.flags_badges
        role = widths.role_spelled if role_spelled else widths.role_short
        if lang in COLUMN_ROLES and role:  # wide characters: a few cells more, the longest cut
            role = min(role + 4, max(cell_width(words[0 if role_spelled else 1])
                                     for words in COLUMN_ROLES[lang].values()))
        length = widths.length + 2
        fixed = 2 + time_width + 1 + direction + 1 + widths.stream + 1 + widths.type + 1 + \
            (flags + 1 if flags else 0) + (role + 1 if role else 0) + length + 1
        return ListLayout(time_width, direction_words, widths.stream, widths.type, flags_spelled, flags,
                          role_spelled, role, length, width - fixed, lang, flags_mixed and not flags_spelled)

    def header(self) -> Row:
        """The column names, one row above the frames."""
        w = COLUMN_WORDS[self.lang]
        direction = DIRECTION_CELLS[self.lang] if self.direction_words else SHORT_DIRECTION_CELLS[self.lang]
        parts = [("  ", ""), (fit(w["time"], self.time), ""), (" ", ""),
                 (fit(w["from"] if self.direction_words else "↔", direction), ""), (" ", ""),
                 (fit(w["stream"] if self.stream >= cell_width(w["stream"]) else w["s"], self.stream, right=True),
                  ""), (" ", ""),
                 (fit(w["type"], self.type), ""), (" ", "")]
        if self.flags:
            parts += [(fit(w["flags"], self.flags), ""), (" ", "")]
        if self.role:
            parts += [(fit(w["role"], self.role), ""), (" ", "")]
        parts += [(fit(w["length"] if self.length >= 6 else w["len"], self.length, right=True), ""), (" ", "")]
        if self.meaning > 0:
            parts.append((fit(w["meaning"], self.meaning), ""))
        return [(text, "header") for text, _ in parts]

    def row(self, cells: FrameCells, time_text: str, marks: tuple[Piece, Piece]) -> Row:
        """One frame's row."""
        spelled, short = DIRECTION_WORDS[cells.direction]
        if self.lang != "en":
            w = COLUMN_WORDS[self.lang]
            client = cells.direction is Direction.CLIENT
            spelled = w["client_dir" if client else "server_dir"]
            short = w["client_short" if client else "server_short"]
        side = "client" if cells.direction is Direction.CLIENT else "server"
        type_class = "type-" + TYPE_CLASS_BY_NAME.get(cells.type_name, "control")
        out: Row = [marks[0], marks[1], (fit(time_text, self.time, right=True), "time"), (" ", ""),
                    (fit(spelled if self.direction_words else short,
                         DIRECTION_CELLS[self.lang] if self.direction_words else SHORT_DIRECTION_CELLS[self.lang]),
                     side),
                    (" ", ""), (fit(str(cells.stream_id), self.stream, right=True), "stream"), (" ", ""),
                    (fit(cells.type_name, self.type), type_class), (" ", "")]
        if self.flags:
            names = cells.flags if self.flags_spelled else mixed_flags(cells.flags) if self.flags_mixed \
                else tuple(badge(n) for n in cells.flags)
            out += [(fit(" ".join(names), self.flags), "flags"), (" ", "")]
        if self.role:
            roles = COLUMN_ROLES.get(self.lang, ROLE_WORDS)
            words = roles[cells.role][0 if self.role_spelled else 1] if cells.role else ""
            out += [(fit(words, self.role), "role"), (" ", "")]
        out += [(fit(f"{cells.length} B", self.length, right=True), "length"), (" ", "")]
        if self.meaning > 0:
            out.append((fit(cells.meaning, self.meaning), "meaning"))
        return out


# ---- the ladder -----------------------------------------------------------------------------

GAP_WIDTH = 9  # "⋮ 1.20 s"


@dataclass(slots=True, frozen=True)
class LadderLayout:
    """Two lifelines, client and server, with one arrow per frame between them."""

    time: int
    arrow: int  # cells between the two lifelines
    length: int
    meaning: int
    lang: str = "en"  # of the column names

    @staticmethod
    def choose(label_width: int, length_digits: int, time_width: int, width: int, lang: str = "en") -> LadderLayout:
        length = length_digits + 2
        fixed = 2 + time_width + 1 + GAP_WIDTH + 1 + 2 + 1 + length + 1
        room = width - fixed
        arrow = max(12, min(label_width + 6, room - MEANING_ROOM))
        return LadderLayout(time_width, arrow, length, max(0, room - arrow), lang)

    def header(self) -> Row:
        w = COLUMN_WORDS[self.lang]
        inner = max(0, self.arrow - cell_width(w["client"]) - cell_width(w["server"]) + 2)
        length = fit(w["length"] if self.length >= 6 else w["len"], self.length, right=True)
        return [("  " + fit(w["time"], self.time) + " " + " " * GAP_WIDTH + " " + w["client"] + " " * inner
                 + w["server"] + " " + length + " " + fit(w["meaning"], self.meaning), "header")]

    def row(self, cells: FrameCells, time_text: str, marks: tuple[Piece, Piece], gap: str) -> Row:
        lifeline = "┆" if gap else "│"
        side = "client" if cells.direction is Direction.CLIENT else "server"
        return [marks[0], marks[1], (fit(time_text, self.time, right=True), "time"), (" ", ""),
                (fit(gap, GAP_WIDTH, right=True), "gap"), (" ", ""), (lifeline, "lifeline"),
                (arrow(cells, self.arrow), "arrow-" + side + _arrow_kind(cells)), (lifeline, "lifeline"), (" ", ""),
                (fit(f"{cells.length} B", self.length, right=True), "length"), (" ", ""),
                (fit(cells.meaning, self.meaning), "meaning")]


def _arrow_kind(cells: FrameCells) -> str:
    if cells.type_name == "RST_STREAM":
        return " arrow-reset"
    if cells.type_name == "PUSH_PROMISE":
        return " arrow-push"
    return ""


def arrow(cells: FrameCells, width: int) -> str:
    """One frame as an arrow `width` cells long, its label on it: ── HEADERS request ──▶ from the client,
    ◀── DATA ── from the server; RST_STREAM ends in ✕, a server push is drawn with ═."""
    line = "═" if cells.type_name == "PUSH_PROMISE" else "─"
    head_c, head_s = ("✕", "✕") if cells.type_name == "RST_STREAM" else ("▶", "◀")
    label = fit(cells.arrow, max(1, width - 5)).rstrip()
    fill = line * max(1, width - 4 - cell_width(label))
    if cells.direction is Direction.CLIENT:
        return f"{line} {label} {fill}{head_c}"
    return f"{head_s}{fill} {label} {line}"


def lane_cells(lane: int, busy: int, lanes: int, cells: FrameCells, overflow: int) -> str:
    """The connection ladder's lanes on one row: a small ladder per open stream, the frame's arrow in
    its stream's lane (│─▶│ from the client, │◀─│ from the server, ✕ a reset, ═ a push)."""
    if cells.type_name == "RST_STREAM":
        mark = "│─✕│" if cells.direction is Direction.CLIENT else "│✕─│"
    elif cells.type_name == "PUSH_PROMISE":
        mark = "│◀═│" if cells.direction is Direction.SERVER else "│═▶│"
    else:
        mark = "│─▶│" if cells.direction is Direction.CLIENT else "│◀─│"
    out = []
    for n in range(lanes):
        if n == min(lane, overflow):
            out.append(mark if lane < overflow else "│++│")
        elif busy >> n & 1:
            out.append("│  │")
        else:
            out.append("    ")
    return " ".join(out)


LEGEND = "  ".join(f"{b} {name}" for name, b in FLAG_BADGES.items())
