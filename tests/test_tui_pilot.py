"""The TUI driven with Textual's Pilot on real captures: what a person sees after each key."""

from __future__ import annotations

import asyncio

import pytest
from conftest import CAPTURES, screen_lines

from inspector.capture.load import CaptureLoader
from inspector.tui.app import App
from inspector.tui.describe import frame_detail, frame_meaning, summarize


def _rows(widget) -> list[str]:
    return ["".join(text for text, _ in widget.row(i)) for i in range(widget.count)]


async def _open(name: str, size=(170, 45)):
    loader = CaptureLoader(str(CAPTURES / name))
    app = App(loader.session, loader)
    return app, app.run_test(size=size)


def test_stream_list_and_timeline_show_a_request_in_order():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await pilot.pause(0.5)
            streams = _rows(app.query_one("#streams"))
            assert streams[0].startswith("conn 0")
            assert "GET /index.html" in streams[1] and ":status 200" in streams[1]
            assert any("POST /index.html" in row for row in streams)
            timeline = _rows(app.query_one("#timeline"))
            # request headers, then response headers, then DATA with END_STREAM closing the stream
            assert "HEADERS" in timeline[0] and "request headers /index.html" in timeline[0]
            assert "END_STREAM: client done (half-closed)" in timeline[0]
            assert "response headers 200" in timeline[1]
            assert "DATA" in timeline[2] and "END_STREAM: server done, stream closed" in timeline[2]
            assert "client ──▶" in timeline[0] and "◀── server" in timeline[1]
    asyncio.run(scenario())


def test_pushed_streams_and_push_promise_are_named():
    async def scenario():
        app, ctx = await _open("nghttp-server-push.pcap")
        async with ctx as pilot:
            await pilot.pause(0.5)
            streams = _rows(app.query_one("#streams"))
            assert any("pushed GET /style.css" in row for row in streams)
            index = next(i for i, e in enumerate(app.entries) if e[1] == 13)
            app.query_one("#streams").move_to(index)
            await pilot.pause(0.2)
            timeline = _rows(app.query_one("#timeline"))
            assert any("PUSH_PROMISE" in row and "push promise (the pushed request) /style.css" in row
                       for row in timeline)
    asyncio.run(scenario())


def test_keys_move_filter_search_and_open_help():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await pilot.pause(0.5)
            await pilot.press("tab")  # into the stream list from the filter box? focus moves between panes
            app.query_one("#timeline").focus()
            await pilot.press("j")
            await pilot.pause(0.1)  # the detail follows the cursor a moment later
            detail = app.detail_text()
            assert "HEADERS frame" in detail and ":status: 200" in detail and "RFC 9113 §6.2" in detail
            await pilot.press("f")  # HEADERS only
            assert all("HEADERS" in row for row in _rows(app.query_one("#timeline")))
            await pilot.press("f")  # DATA only
            assert all("DATA" in row for row in _rows(app.query_one("#timeline")))
            await pilot.press("escape")
            await pilot.press("e")  # frames with END_STREAM: the client's request and the server's DATA
            rows = _rows(app.query_one("#timeline"))
            assert len(rows) == 2 and all("[END_STREAM]" in row for row in rows)
            assert "flag END_STREAM" in str(app.query_one("#timeline-title").render())
            await pilot.press("escape")
            await pilot.press("c")  # connection view: stream 0 frames too
            rows = _rows(app.query_one("#timeline"))
            assert any("SETTINGS" in row for row in rows) and any("s1 " in row for row in rows)
            await pilot.press("slash")
            await pilot.press(*"curl")
            await pilot.press("enter")
            assert app.matches and "search 'curl'" in str(app.query_one("#timeline-title").render())
            await pilot.press("question_mark")
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("escape")
            app.query_one("#filter").focus()
            await pilot.press(*"data.bin")
            await pilot.pause(0.1)
            streams = _rows(app.query_one("#streams"))
            assert len(streams) == 2 and "GET /data.bin" in streams[1]
            await pilot.press("escape")
        assert app.return_code in (None, 0)
    asyncio.run(scenario())



def test_jumping_to_the_last_frame_shows_its_detail_in_the_same_screen_update():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await pilot.pause(0.5)
            await pilot.press("c")
            timeline = app.query_one("#timeline")
            timeline.focus()
            timeline.action_jump(-1)  # what G does; checked before the app gets to run again
            assert timeline.cursor == timeline.count - 1
            assert app.detail == frame_detail(app.session, app.session.frames[app.timeline[-1]])
            await pilot.press("g")
            assert timeline.cursor == 0
            assert app.detail == frame_detail(app.session, app.session.frames[app.timeline[0]])
            for _ in range(3):  # a burst, as when j is held down: the detail catches up once it settles
                timeline.action_move(1)
            await pilot.pause(0.1)
            assert app.detail == frame_detail(app.session, app.session.frames[app.timeline[3]])
    asyncio.run(scenario())

@pytest.mark.parametrize("name", ["curl-h2c-upgrade.pcap", "h2load-three-connections.pcap", "curl-ipv6.pcapng"])
def test_every_sample_capture_opens_and_never_raises(name):
    async def scenario():
        app, ctx = await _open(name)
        async with ctx as pilot:
            await pilot.pause(0.5)
            for key in ("j", "j", "enter", "c", "f", "d", "s", "G", "g", "question_mark", "escape", "q"):
                await pilot.press(key)
    asyncio.run(scenario())


def test_words_carry_the_meaning_without_colour():
    session = CaptureLoader(str(CAPTURES / "curl-h2c-upgrade.pcap")).load()
    stream = session.stream(0, 1)
    assert summarize(session, stream).what == "GET /upgrade (HTTP/1.1, upgraded)"
    words = [frame_meaning(session, session.frames[i]) for i in stream.frames]
    assert words[0].startswith("response headers 200")


def test_connection_view_draws_a_lane_per_concurrent_stream_even_when_filtered():
    async def scenario():
        app, ctx = await _open("grpc-concurrent.pcap")
        async with ctx as pilot:
            await pilot.pause(0.5)
            await pilot.press("c")
            await pilot.pause(0.1)
            rows = _rows(app.query_one("#timeline"))
            assert len(rows) == 163 and "a lane each" in str(app.query_one("#timeline-title").render())
            lanes = [row[11:11 + app._lanes.width] for row in rows]
            assert lanes[0][0] == "S" and lanes[0][1:].strip() == ""  # SETTINGS in the connection's lane
            assert max(lane.count("│") for lane in lanes) >= 5  # several calls in flight at once
            # a call's HEADERS in its own lane, with stream 0's lane drawn beside it
            first_headers = next(lane for lane, row in zip(lanes, rows, strict=True) if " s1 " in row and
                                 "HEADERS" in row)
            assert first_headers.startswith("│H")
            await pilot.press("f", "f")  # DATA only: lanes still come from every frame
            await pilot.pause(0.1)
            data_rows = _rows(app.query_one("#timeline"))
            assert data_rows and all("DATA" in row for row in data_rows)
            assert all("D" in row[11:11 + app._lanes.width] for row in data_rows)


def test_a_list_that_grows_past_its_box_gets_a_scrollbar_and_jumps_to_its_last_row():
    from textual.app import App as TextualApp

    from inspector.tui.widgets.row_list import RowList

    class OneList(TextualApp[None]):
        def compose(self):
            yield RowList(id="rows")

    async def scenario():
        app = OneList()
        async with app.run_test(size=(60, 10)) as pilot:
            rows = app.query_one(RowList)
            rows.set_rows(3, lambda i: [(f"row {i}", "")], width=40)
            rows.focus()
            await pilot.pause()
            assert not rows.show_vertical_scrollbar
            rows.set_rows(100_000, lambda i: [(f"row {i}", "")], width=40)
            await pilot.pause()
            assert rows.show_vertical_scrollbar and not rows.show_horizontal_scrollbar
            await pilot.press("G")
            assert rows.cursor == 99_999 and rows.scroll_offset.y == 99_999 - rows.size.height + 1
            assert "row 99999" in "".join(seg.text for seg in rows.render_line(rows.size.height - 1))
            rows.set_rows(3, lambda i: [(f"row {i}", "")], width=200)
            await pilot.pause()
            assert not rows.show_vertical_scrollbar and rows.show_horizontal_scrollbar
            assert rows.cursor == 2 and rows.scroll_offset.y == 0
    asyncio.run(scenario())


def test_a_loaded_capture_is_left_out_of_full_collections_until_the_app_exits():
    import gc

    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            while not app.loaded:
                await pilot.pause(0.05)
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
    asyncio.run(scenario())


def test_a_live_session_that_goes_quiet_still_gets_its_grpc_words():
    """The calls of a growing session are re-read at most once a second; rows drawn in that
    second must be drawn again once they are, even if no frame comes after."""
    import hpack
    from hyperframe.frame import DataFrame, HeadersFrame, SettingsFrame

    from inspector.proxy.live_source import LiveSource
    from inspector.proxy.recorder import PcapngRecorder

    def message(body: bytes) -> bytes:
        return b"\x00" + len(body).to_bytes(4, "big") + body

    enc_c, enc_s = hpack.Encoder(), hpack.Encoder()
    request = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0).serialize()
               + HeadersFrame(1, enc_c.encode([(":method", "POST"), (":path", "/t.S/U"), (":scheme", "http"),
                                                (":authority", "x"), ("content-type", "application/grpc"),
                                                ("te", "trailers")]), flags=["END_HEADERS"]).serialize()
               + DataFrame(1, message(b"ping"), flags=["END_STREAM"]).serialize())
    response = (SettingsFrame(0).serialize()
                + HeadersFrame(1, enc_s.encode([(":status", "200"), ("content-type", "application/grpc")]),
                               flags=["END_HEADERS"]).serialize()
                + DataFrame(1, message(b"pong")).serialize()
                + HeadersFrame(1, enc_s.encode([("grpc-status", "0")]), flags=["END_HEADERS", "END_STREAM"])
                .serialize())

    async def scenario():
        source = LiveSource(PcapngRecorder(None))
        live = source.open(("127.0.0.1", 40000), ("127.0.0.1", 50051))
        source.data(live, True, request, 1.0)
        source.decode(1.0)
        app = App(source.session)
        async with app.run_test(size=(170, 45)) as pilot:
            await pilot.pause(0.3)  # the rows are drawn: the calls were read just now
            source.data(live, False, response, 1.1)
            source.decode(1.0)
            await pilot.pause(0.6)  # the new rows are drawn within the second: the response not read yet
            for _ in range(40):
                rows = [line for line in screen_lines(app) if "◀── server" in line and "DATA" in line]
                if rows and "gRPC response #1" in rows[0]:
                    break
                await pilot.pause(0.1)
            assert rows and "DATA: gRPC response #1 (4 B)" in rows[0], rows
    asyncio.run(scenario())

