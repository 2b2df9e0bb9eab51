"""The status line and the views' titles at 80 columns: the deciding facts (loaded or live, the
errors and warnings, the filters and the search, what the key did) stay on the line, in short
forms when narrow, and a cut ends with an ellipsis, never in the middle of a word unsaid."""

from __future__ import annotations

import asyncio
import os

from conftest import CAPTURES
from tuikit import findings_capture, until

from inspector.capture.live import LiveInput
from inspector.capture.load import CaptureLoader
from inspector.capture.reader import CaptureReader
from inspector.tui.app import App
from inspector.tui.fact_line import Fact, fact, fit_facts, longest

NARROW = (80, 24)


def _line(app: App, selector: str) -> str:
    return str(app.query_one(selector).render())


def _whole_words_of(shown: str, facts: list[Fact]) -> bool:
    """Every word on the line is a word of one of the facts' forms, except one that ends with the ellipsis."""
    words = {word for f in facts for form in f.forms for word in form.split()} | {"·"}
    return all(word in words or word.endswith("…") for word in shown.split())


def test_facts_give_way_in_order_and_a_cut_ends_with_an_ellipsis():
    facts = [fact("capture.pcap", "", give_way=0), fact("3 connections", "", give_way=1),
             fact("2 errors, 1 warning (p)", "✖2 ▲1 (p)", give_way=5), fact("loaded", give_way=20),
             fact("went to stream 5 of connection 0 after a long search", give_way=10, least=16)]
    assert fit_facts(facts, 200) == longest(facts)
    # the name and the count go first, then the findings turn into marks, then the message is cut
    assert fit_facts(facts, 90) == (" 2 errors, 1 warning (p) · loaded · "
                                    "went to stream 5 of connection 0 after a long search")
    assert fit_facts(facts, 70) == " ✖2 ▲1 (p) · loaded · went to stream 5 of connection 0 after a long s…"
    assert fit_facts(facts, 40) == " ✖2 ▲1 (p) · loaded · went to stream 5…"  # the message keeps its least
    assert _whole_words_of(fit_facts(facts, 40), facts)
    assert fit_facts(facts, 12) == " ✖2 ▲1 (p)…"  # the last resort cuts the line, and says so


def test_status_line_at_80_columns_keeps_loaded_the_counts_and_says_a_cut_message_whole():
    path = findings_capture(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tui-fact-{os.getpid()}.pcap"))

    async def scenario() -> None:
        app = App(CaptureLoader(path).load(), None, title="findings")
        async with app.run_test(size=NARROW) as pilot:
            await pilot.pause()
            status = _line(app, "#status")
            assert "2 errors, 1 warning (p)" in status and "loaded" in status and len(status) <= 80
            await pilot.press("w")  # save, with a name that does not say the format
            await pilot.pause()
            name = "/tmp/a-name-long-enough-to-need-the-whole-line-of-an-eighty-column-terminal"
            from textual.widgets import Input

            # The name put in the box as a paste would (typed, its 75 keys cost seconds of the suite).
            app.screen.query_one(Input).value = name
            await pilot.press("enter")
            await pilot.pause()
            status = _line(app, "#status")
            assert len(status) <= 80 and status.endswith("…"), status
            assert "loaded" in status and ("2 errors, 1 warning" in status or "✖2 ▲1" in status), status
            assert "end the name with" not in status  # cut: so the whole of it is said beside
            said = [n.message for n in app._notifications]
            assert any(m.startswith(name) and m.endswith("to choose the format") for m in said), said
            assert _whole_words_of(status, app._status_facts())
        os.unlink(path)
    asyncio.run(scenario())


def test_stream_filter_and_sort_are_on_the_status_line_when_the_stream_list_is_stacked():
    async def scenario() -> None:
        app = App(CaptureLoader(str(CAPTURES / "curl-h2c-prior-knowledge.pcap")).load(), None)
        async with app.run_test(size=NARROW) as pilot:
            await pilot.pause()
            assert not app.query_one("#streams-title").display or app.screen.has_class("-stacked")
            await pilot.press("F", *"data.bin", "enter")
            await pilot.pause()
            status = _line(app, "#status")
            assert "1 of 3 streams" in status or "1/3 streams" in status, status
            await pilot.press("s")
            await pilot.pause()
            status = _line(app, "#status")
            assert ("sorted by frames" in status or "by frames" in status) and "loaded" in status, status
            assert len(status) <= 80
            await pilot.resize_terminal(170, 45)  # side by side: the list's own title says it
            await pilot.pause()
            assert "streams" not in _line(app, "#status")
            assert "1 of 3 streams · filter: 'data.bin' · sorted by frames" in _line(app, "#streams-title")
    asyncio.run(scenario())


def test_the_timeline_title_at_80_columns_keeps_filters_and_search():
    async def scenario() -> None:
        app = App(CaptureLoader(str(CAPTURES / "grpc-unary.pcap")).load(), None)
        async with app.run_test(size=NARROW) as pilot:
            await pilot.pause()
            app.frame_view.focus()
            await pilot.press("d", "e")  # from the client only, END_STREAM only
            await pilot.pause()
            title = _line(app, "#timeline-title")
            assert "1 of 6 frames" in title or "1/6 frames" in title, title
            assert "filter: from client only, flag END_STREAM only" in title or "only client, ES" in title, title
            await pilot.press("escape", "slash", *"grpc", "enter")
            await until(pilot, lambda: not app.search_state.running and app.search_state.position >= 0, "the search")
            title = _line(app, "#timeline-title")
            count, at = len(app.search_state.matches), app.search_state.position + 1
            assert f"'grpc': {at}/{count}" in title or f"match {at} of {count}" in title, title
            assert "list (l)" in title and len(title) <= 80
            await pilot.press("t", "t", "t")
            title = _line(app, "#timeline-title")
            assert "wall" in title and len(title) <= 80, title
    asyncio.run(scenario())


def test_a_live_source_at_80_columns_says_live_then_ended():
    data = (CAPTURES / "grpc-unary.pcap").read_bytes()
    read_end, write_end = os.pipe()
    os.write(write_end, data[: len(data) // 2])
    loader = CaptureLoader("stdin", reader=CaptureReader.streaming(LiveInput(read_end), "stdin"))
    app = App(loader.session, loader)

    async def scenario() -> None:
        async with app.run_test(size=NARROW) as pilot:
            await until(pilot, lambda: len(loader.session.frames) > 0, "the first frames")
            await until(pilot, lambda: "live" in _line(app, "#status"), "live on the status line")
            status = _line(app, "#status")
            assert "live" in status and len(status) <= 80, status
            os.write(write_end, data[len(data) // 2:])
            os.close(write_end)
            await until(pilot, lambda: app.loaded, "the end of the pipe")
            await until(pilot, lambda: "ended" in _line(app, "#status"), "ended on the status line")
            await pilot.press("q")
    asyncio.run(scenario())
    app.finish_live()
