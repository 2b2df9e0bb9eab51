"""The help screen: every key, the badges' legend, the row marks and the time modes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from inspector.tui.columns import LEGEND

HELP = f"""\
h2inspect — keys                    Esc, q or ? closes; ↑ ↓ scroll

  ↑↓ jk PgUp PgDn gG move in the focused list: row, page, first, last
  Tab  Shift+Tab     next / previous pane; Enter opens a stream
  F                  type in the stream filter: words or header terms,
                     grpc-status!=0  :authority=api.example  user-agent~go
  l                  frames as a list or as a ladder (client │─▶│ server)
  c                  connection view: every stream, side by side
  z                  the frames take the whole width (streams hide)
  /  n  N            search headers, payloads and gRPC messages of every
                     stream; next / previous match, across streams
  :                  go to a stream (12, s12), frame (f40), packet (p7)
  p  !               problems: findings by rule; Enter goes to the frame
  f  d  e            filter frames by type, by direction, by flag
  s                  sort streams: id, frames, bytes, duration
  t                  time: since capture start, since the stream's start,
                     since the previous row, wall clock
  w  W               save the stream or connection shown / the session
                     as .pcapng, .jsonl or .mmd (the name's ending says)
  y  Y               copy the frame detail / the header value under the
                     detail's cursor (OSC 52: over ssh and in tmux too)
  T                  next theme (dark, light, ...)
  Esc                leave a box and clear it; clear search and filters
  ?                  this help            q  Ctrl+C  quit

Flags are spelled out where there is room, else badges:
  {LEGEND}
Rows: C▶ from the client, ◀S from the server; ● a search match;
  ✖ error, ▲ warning, ℹ info: a finding on the frame or the stream
Ladder: ─▶ a frame, ✕ a reset (RST_STREAM), ═ a server push
  (PUSH_PROMISE), ┆ and ⋮ 1.2 s: a pause worth seeing before the frame;
  │++│ a stream beyond the lanes that fit (its id is on the row)
Narrow lines say it short: ✖3 ▲12 ℹ1 findings (errors, warnings, info);
  2/9 streams or frames shown of all; only DATA, client, ES the frame
  filters; t: capture / stream / delta / wall clock the time mode;
  'x': 2/5 match 2 of 5 of a search; … where words were cut
Roles: request headers, response headers, informational (1xx),
  trailers, trailers-only response, push-request

Words always say what a frame is; colour only helps. An HTTP/2 stream
is not a gRPC stream: every call, unary too, is one HTTP/2 stream.
"""


class HelpScreen(ModalScreen[None]):
    """Every binding, in one place."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, text: str = HELP) -> None:
        super().__init__()
        self.text = text  # the tutorial's own keys, in the learner's language

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self.text, id="help")
