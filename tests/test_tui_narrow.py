"""The frame detail at 80 columns: a long line wraps onto indented rows instead of running off
the edge, and the keys that read a line (Y copies a header's value) read the whole line from any
of its rows."""

from __future__ import annotations

import asyncio

from conftest import CAPTURES

from inspector.capture.load import CaptureLoader
from inspector.tui.app import App
from inspector.tui.columns import cell_width, wrap_spans
from inspector.tui.describe import header_value


def test_a_line_wraps_at_the_last_space_that_fits_and_later_rows_are_narrower():
    line = "HEADERS frame (type 0x01) from the client, stream 1, 215 bytes, packet 11, frame 0"
    spans = wrap_spans(line, 40, indent=4)
    rows = [line[a:b] for a, b in spans]
    assert "".join(rows) == line
    assert rows == ["HEADERS frame (type 0x01) from the ", "client, stream 1, 215 bytes, packet ", "11, frame 0"]
    assert all(cell_width(r) <= 40 for r in rows[:1]) and all(cell_width(r) <= 36 for r in rows[1:])
    xs = "x" * 25
    assert [xs[a:b] for a, b in wrap_spans(xs, 10, indent=2)] == ["x" * 10, "x" * 8, "x" * 7]  # no space: cut
    assert wrap_spans("", 10) == [(0, 0)]
    timed = "0.000000 s into stream 1"  # a lone "1" on the last row would read as nothing: its word comes too
    assert [timed[a:b] for a, b in wrap_spans(timed, 23)] == ["0.000000 s into ", "stream 1"]


def test_the_detail_at_80_columns_wraps_its_lines_and_copies_a_value_from_a_wrapped_row():
    async def scenario() -> None:
        app = App(CaptureLoader(str(CAPTURES / "grpc-unary.pcap")).load(), None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            detail = app.detail_view
            width = detail.scrollable_content_region.width
            rows = [detail.row_text(i) for i in range(detail.count)]
            assert all(cell_width(r) <= width for r in rows), [r for r in rows if cell_width(r) > width]
            first = app.detail[0]
            assert cell_width(first) > width  # the title line does not fit: it takes two rows
            assert rows[0] + rows[1].strip() == first and rows[1].startswith("  ")
            # the longest header line of the request, its value on its last row
            line = max((i for i, text in enumerate(app.detail) if header_value(text) is not None),
                       key=lambda i: len(app.detail[i]))
            detail.focus()
            detail.move_to(1)  # the title's second row is the title's line
            assert detail.cursor_line() == 0
            detail.move_to(len(rows) - 1)  # the last hex row: the last line
            assert detail.cursor_line() == len(app.detail) - 1
            detail.move_to_line(line)
            assert detail.cursor_line() == line
            await pilot.press("Y")
            assert app.clipboard == header_value(app.detail[line])
            await pilot.resize_terminal(200, 50)  # wider: fewer rows, the cursor on the same line
            await pilot.pause()
            assert detail.cursor_line() == line and detail.row_text(0) == first
    asyncio.run(scenario())


def test_a_main_screen_key_on_the_problems_or_help_screen_goes_back_and_does_what_it_says():
    async def scenario() -> None:
        app = App(CaptureLoader(str(CAPTURES / "abuse" / "rapid-reset.pcap")).load(), None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("p")
            await pilot.pause()
            shown = [key.key for key in app.screen.query("FooterKey")]
            assert "l" not in shown and "t" not in shown, shown  # not the problems view's keys: not in its footer
            await pilot.press("l")  # the ladder, on the main screen it went back to
            await pilot.pause()
            assert app.screen is app.screen_stack[0] and app.ladder
            assert "the timeline as a ladder" in str(app.query_one("#status").render())
            await pilot.press("question_mark")
            await pilot.pause()
            await pilot.press("slash", *"RST")  # typed at once: back from help, into the search box
            await pilot.pause()
            assert app.screen is app.screen_stack[0] and app.query_one("#search").value == "RST"
    asyncio.run(scenario())
