"""The TUI driven with Textual's Pilot on real captures: what a person sees after each key."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys

import hpack
import pytest
import tuikit
from conftest import CAPTURES, ROOT, screen_text
from pcapkit import PREFACE, DataFrame, SettingsFrame

from inspector.capture.load import CaptureLoader
from inspector.model import Severity
from inspector.tui.app import App
from inspector.tui.columns import wall_clock
from inspector.tui.describe import frame_detail, frame_meaning, summarize
from inspector.tui.widgets.problems import ProblemsScreen, ProblemsView
from inspector.views.hpack import DynamicTables


def _rows(widget) -> list[str]:
    return [widget.row_text(i) for i in range(widget.count)]


async def _open(name: str, size=(170, 45), schema=None):
    path = name if "/" in name else str(CAPTURES / name)
    loader = CaptureLoader(path)
    app = App(loader.session, loader, schema=schema)
    return app, app.run_test(size=size)


async def _loaded(app, pilot) -> None:
    while not app.loaded:
        await pilot.pause(0.05)
    await pilot.pause()  # what loading ended has posted, handled (not a fixed time)


def _title(app) -> str:
    return str(app.query_one("#timeline-title").render())


def _status(app) -> str:
    return str(app.query_one("#status").render())


@pytest.fixture
def findings_capture(tmp_path) -> str:
    """A capture whose frames break rules: DATA on a closed stream, a reset, WINDOW_UPDATE of 0, GOAWAY."""
    return tuikit.findings_capture(str(tmp_path / "findings.pcap"))


def test_stream_list_and_timeline_show_a_request_in_order():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            streams = _rows(app.query_one("#streams"))
            assert streams[0].lstrip().startswith("conn 0")
            assert "GET /index.html" in streams[1] and ":status 200" in streams[1]
            assert any("POST /index.html" in row for row in streams)
            timeline = _rows(app.query_one("#frames"))
            # request headers, then response headers, then DATA with END_STREAM closing the stream
            assert "HEADERS" in timeline[0] and "request headers" in timeline[0] and "GET /index.html" in timeline[0]
            assert "END_STREAM END_HEADERS" in timeline[0] and "client ─▶" in timeline[0]
            assert "response headers" in timeline[1] and ":status 200" in timeline[1] and "◀─ server" in timeline[1]
            assert "DATA" in timeline[2] and "END_STREAM" in timeline[2]
    asyncio.run(scenario())


@pytest.mark.parametrize("width", [80, 120, 200])
def test_a_unary_call_shows_type_role_and_end_stream_on_every_row_at_any_width(width):
    async def scenario():
        app, ctx = await _open("grpc-unary.pcap", size=(width, 40))
        async with ctx as pilot:
            await _loaded(app, pilot)
            shown = [line for line in screen_text(app) if " 1 HEADERS" in line or " 1 DATA" in line]
            assert len(shown) == 5, screen_text(app)
            request, data, response, body, trailers = shown
            # END_HEADERS spelled out where there is room; narrower, a badge (EH) while END_STREAM stays spelled
            assert "HEADERS" in request and "request" in request
            assert ("END_HEADERS" if width >= 200 else " EH ") in request
            assert "DATA" in data and "END_STREAM" in data
            assert "response" in response and "END_STREAM" not in response
            assert "END_STREAM" not in body
            assert "HEADERS" in trailers and "trailers" in trailers and "END_STREAM" in trailers
            for line in shown:
                assert max(len(line) for line in screen_text(app)) <= width
    asyncio.run(scenario())


def test_pushed_streams_and_push_promise_are_named():
    async def scenario():
        app, ctx = await _open("nghttp-server-push.pcap", size=(200, 45))
        async with ctx as pilot:
            await _loaded(app, pilot)
            streams = _rows(app.query_one("#streams"))
            assert any("pushed GET /style.css" in row for row in streams)
            app.query_one("#streams").select((0, 13))
            await pilot.pause(0.1)
            timeline = _rows(app.query_one("#frames"))
            assert any("PUSH_PROMISE" in row and "push-request" in row and "promises stream" in row
                       and "/style.css" in row for row in timeline), timeline
            await pilot.press("l")
            ladder = _rows(app.query_one("#frames"))
            assert any("◀═" in row and "PUSH_PROMISE push-request promises" in row for row in ladder), ladder
    asyncio.run(scenario())


def test_filters_say_in_words_what_they_hide_and_d_labels_both_directions():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            app.query_one("#frames").focus()
            await pilot.press("f")  # HEADERS only
            assert all("HEADERS" in row for row in _rows(app.query_one("#frames")))
            assert "filter: HEADERS only" in _title(app)
            await pilot.press("f")  # DATA only
            assert all("DATA" in row for row in _rows(app.query_one("#frames")))
            await pilot.press("escape")
            assert "filter" not in _title(app) and "cleared" in _status(app)
            await pilot.press("d")
            rows = _rows(app.query_one("#frames"))
            assert "filter: from client only" in _title(app) and rows and all("client ─▶" in r for r in rows)
            await pilot.press("d")
            rows = _rows(app.query_one("#frames"))
            assert "filter: from server only" in _title(app) and rows and all("◀─ server" in r for r in rows)
            await pilot.press("d", "e")  # all directions; frames with END_STREAM
            rows = _rows(app.query_one("#frames"))
            assert len(rows) == 2 and all("END_STREAM" in row for row in rows)
            assert "flag END_STREAM only" in _title(app) and "2 of 3 frames" in _title(app)
    asyncio.run(scenario())


def test_esc_leaves_the_filter_box_and_clears_it_and_q_then_quits():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("F")
            box = app.query_one("#filter")
            assert box.has_focus
            await pilot.press(*"data.bin", "q")  # in a box, q is a letter
            assert box.value == "data.binq" and app.return_code is None
            await pilot.press("backspace")
            streams = _rows(app.query_one("#streams"))
            assert len(streams) == 2 and "GET /data.bin" in streams[1]
            assert "1 of 3 streams · filter: 'data.bin'" in str(app.query_one("#streams-title").render())
            await pilot.press("escape")
            assert box.value == "" and app.query_one("#streams").has_focus
            assert len(_rows(app.query_one("#streams"))) == 6
            await pilot.press("q")
        assert app.return_code == 0
    asyncio.run(scenario())


def test_the_stream_filter_takes_header_terms():
    async def scenario():
        app, ctx = await _open("grpc-errors.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            streams = app.query_one("#streams")
            streams.set_filter("grpc-status!=0")
            assert [e for e in streams.entries if e[1]] == [(0, 1)]  # NOT_FOUND; the resets have no grpc-status
            streams.set_filter("grpc-status=0")
            assert [e for e in streams.entries if e[1]] == []
            streams.set_filter(":path~serverstream")
            assert [e for e in streams.entries if e[1]] == [(0, 5)]
            streams.set_filter("user-agent~grpc-python unary")  # a header term and a word
            assert [e for e in streams.entries if e[1]] == [(0, 1), (0, 3)]
            assert "header user-agent contains 'grpc-python' and 'unary'" in streams.words()
            streams.set_filter("")
            await pilot.press("F", *"grpc-status!=0")  # typed in the box, as a person would
            rows = _rows(streams)
            assert len(rows) == 2 and rows[1].split()[0] == "1" and "NOT_FOUND" in rows[1]
            assert "1 of 3 streams" in str(app.query_one("#streams-title").render())
            await pilot.press("escape")
            assert len(_rows(streams)) == 4
    asyncio.run(scenario())


def test_search_finds_matches_across_streams_and_n_moves_between_them():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("slash", *"curl", "enter")
            while app.search_state.running:
                await pilot.pause(0.05)
            matches = app.search_state.matches
            conns = {app.session.frames.conn_index[i] for i in matches}
            assert len(matches) == 3 and conns == {0, 1, 2}  # the user-agent of each connection's request
            # The title at this width (the search's short form: the count and where the cursor is)
            assert _title(app).endswith("'curl': 1/3 in 3 streams (n/N)")
            assert app.frame_view.current_frame() == matches[0]
            await pilot.press("n")
            assert app.selected == (1, 1) and app.frame_view.current_frame() == matches[1]
            assert "'curl': 2/3 in 3 streams" in _title(app)
            assert any(row.startswith("●") for row in _rows(app.query_one("#frames")))
            await pilot.press("n", "n")  # round to the first
            assert app.selected == (0, 1) and "'curl': 1/3" in _title(app)
            await pilot.press("N")
            assert app.selected == (2, 1)
            await pilot.press("slash", *"Hello", "enter")  # payload bytes, in DATA frames
            while app.search_state.running:
                await pilot.pause(0.05)
            assert "'Hello'" in _title(app)
            await pilot.press("escape")
            assert "'Hello'" not in _title(app)
    asyncio.run(scenario())


def test_go_to_a_stream_a_frame_and_a_packet():
    async def scenario():
        app, ctx = await _open("grpc-errors.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("colon", *"s5", "enter")
            assert app.selected == (0, 5) and "went to stream 5" in _status(app)
            await pilot.press("colon", *"f19", "enter")
            assert app.selected == (0, 3) and app.frame_view.current_frame() == 19
            assert app.detail[0].startswith("RST_STREAM frame") and "frame 19" in app.detail[0]
            packet = app.session.frames.packet[12]
            await pilot.press("colon", *f"p{packet}", "enter")
            assert app.frame_view.current_frame() == 12 and f"packet {packet}" in _status(app)
            await pilot.press("colon", *"s99", "enter")
            assert "no stream 99" in _status(app) and app.selected == (0, 1)
            await pilot.press("colon", *"x", "escape")
            assert not app.query_one("#goto").display and app.frame_view.has_focus
    asyncio.run(scenario())


def test_each_time_mode_reads_the_time_column_its_own_way():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            app.jump(1, 1)
            log = app.session.frames
            frames = app.frame_view.frames
            zero, start = app.session.start, log.time[frames[0]]  # the first packet (test_tui_time_zero.py)

            def second_row_time() -> str:
                return _rows(app.query_one("#frames"))[1].split()[0]

            assert second_row_time() == f"{log.time[frames[1]] - zero:.6f}"  # since capture start
            assert "time since capture start" in _title(app)
            await pilot.press("t")
            assert second_row_time() == f"{log.time[frames[1]] - start:.6f}"
            assert "time since the stream's first frame" in _title(app)
            await pilot.press("t")
            assert second_row_time() == f"+{log.time[frames[1]] - log.time[frames[0]]:.6f}"
            assert "time since the previous row" in _title(app)
            await pilot.press("t")
            assert second_row_time() == wall_clock(log.time[frames[1]])
            assert "wall-clock time" in _title(app)
            await pilot.press("t")
            assert "time since capture start" in _title(app)
            assert any("ms" in row for row in _rows(app.query_one("#streams"))[1:])  # the duration column
    asyncio.run(scenario())


def test_problems_view_groups_findings_and_jumps_to_the_frame(findings_capture):
    async def scenario():
        app, ctx = await _open(findings_capture)
        async with ctx as pilot:
            await _loaded(app, pilot)
            findings = app.session.findings
            errors = sum(f.severity == Severity.ERROR for f in findings)
            warnings = sum(f.severity == Severity.WARNING for f in findings)
            assert errors >= 2 and warnings >= 1
            assert f"{errors} errors, {warnings} warning" in _status(app)
            late = next(f for f in findings if "DATA from the client on a stream that is closed" in f.message)
            assert app.query_one("#streams").marks[(0, 1)] == Severity.ERROR
            await pilot.press("p")
            assert isinstance(app.screen, ProblemsScreen)
            view = app.screen.query_one(ProblemsView)
            rows = _rows(view)
            assert rows[0].startswith("✖ ERROR") and any("WARNING" in r for r in rows)
            assert any("DATA from the client on a stream that is closed" in r and "RFC 9113 §5.1" in r
                       for r in rows)
            row = next(i for i in range(view.count) if view.entry(i)[1] is late)
            view.move_to(row)
            await pilot.pause(0.05)
            assert "see RFC 9113 §5.1" in str(app.screen.query_one("#problem-detail").render())
            await pilot.press("enter")
            assert not isinstance(app.screen, ProblemsScreen)
            assert app.selected == (0, 1) and app.frame_view.current_frame() == late.frame
            timeline_row = _rows(app.query_one("#frames"))[app.frame_view.cursor]
            assert timeline_row[1] == "✖"  # the mark of a finding on the frame's row
            assert any("error: DATA from the client on a stream that is closed" in line and "RFC 9113 §5.1" in line
                       for line in app.detail[:6])
            await pilot.press("exclamation_mark")
            assert isinstance(app.screen, ProblemsScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, ProblemsScreen)
    asyncio.run(scenario())


def test_problems_view_on_an_abuse_capture_jumps_to_the_frame_check_names():
    """The problems view of a Rapid Reset capture: its finding, as `h2inspect check` reports it, is a
    group of its own; Enter goes to the frame check names, on its stream, marked, explained."""
    path = CAPTURES / "abuse" / "rapid-reset.pcap"
    out = subprocess.run([sys.executable, "-m", "inspector", "check", str(path), "--format", "jsonl"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    reported = next(json.loads(line) for line in out.stdout.splitlines() if '"abuse.rapid-reset"' in line)

    async def scenario():
        app, ctx = await _open(str(path))
        async with ctx as pilot:
            await _loaded(app, pilot)
            assert "error" in _status(app)
            await pilot.press("p")
            assert isinstance(app.screen, ProblemsScreen)
            view = app.screen.query_one(ProblemsView)
            rows = _rows(view)
            group = next(i for i, row in enumerate(rows) if "abuse.rapid-reset" in row)
            assert rows[group].startswith("✖ ERROR")
            view.move_to(group + 1)  # the finding under its group's row
            await pilot.pause(0.05)
            assert "CVE-2023-44487" in str(app.screen.query_one("#problem-detail").render())
            await pilot.press("enter")
            assert not isinstance(app.screen, ProblemsScreen)
            frame = reported["frame"]
            log = app.session.frames
            assert app.frame_view.current_frame() == frame
            assert app.selected == (reported["conn"], log.stream_id[frame] or None)
            assert _rows(app.frame_view)[app.frame_view.cursor][1] == "✖"
            assert any("abuse.rapid-reset" in line or "CVE-2023-44487" in line for line in app.detail[:8])
            assert f"packet {reported['packet']}" in app.detail[0]
            await pilot.press("p")  # the screen comes back as it was left: on that finding
            assert app.screen.query_one(ProblemsView).cursor == group + 1
    asyncio.run(scenario())


def test_save_a_stream_as_jsonl_and_mermaid(tmp_path):
    async def scenario():
        app, ctx = await _open("grpc-unary.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            for name in ("s1.jsonl", "s1.mmd"):
                await pilot.press("w")
                box = app.screen.query_one("#save-path")
                assert box.value == "h2inspect-conn0-stream1.pcapng"
                box.value = str(tmp_path / name)
                await pilot.press("enter")
                while "saved" not in _status(app):
                    await pilot.pause(0.05)
            lines = [json.loads(line) for line in (tmp_path / "s1.jsonl").read_text().splitlines()]
            assert [line["type"] for line in lines] == ["HEADERS", "WINDOW_UPDATE", "DATA", "HEADERS", "DATA",
                                                        "HEADERS"]
            assert {line["stream_id"] for line in lines} == {1} and lines[-1]["role"] == "trailers"
            diagram = (tmp_path / "s1.mmd").read_text()
            assert diagram.startswith("sequenceDiagram") and "[END_STREAM]" in diagram
            await pilot.press("w")
            app.screen.query_one("#save-path").value = str(tmp_path / "s1.txt")
            await pilot.press("enter")
            assert "end the name with .pcapng, .jsonl or .mmd" in _status(app)
    asyncio.run(scenario())


@pytest.mark.peers
def test_save_a_stream_as_pcapng_and_tshark_reads_it_back(tmp_path):
    assert shutil.which("tshark"), "tshark is the reference decoder"
    out = tmp_path / "stream3.pcapng"

    async def scenario():
        app, ctx = await _open("grpc-errors.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            app.jump(0, 5)
            await pilot.press("w")
            app.screen.query_one("#save-path").value = str(out)
            await pilot.press("enter")
            while "saved" not in _status(app):
                await pilot.pause(0.05)
            assert "saved stream 5 of connection 0" in _status(app)
    asyncio.run(scenario())
    session = CaptureLoader(str(CAPTURES / "grpc-errors.pcap")).load()
    port = session.connections[0].server.rsplit(":", 1)[1]
    fields = subprocess.run(["tshark", "-n", "-r", str(out), "-d", f"tcp.port=={port},http2", "-T", "fields",
                             "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.header.name"],
                            capture_output=True, text=True, check=True).stdout
    streams = {s for line in fields.splitlines() for s in line.split("\t")[0].split(",") if s}
    assert streams == {"0", "5"}
    types = [t for line in fields.splitlines() for t in line.split("\t")[1].split(",") if t]
    assert types.count("1") == 2 and types.count("0") == 4 and "3" in types  # HEADERS, DATA, RST_STREAM
    assert ":path" in fields and ":status" in fields  # the header blocks decode on their own
    ours = CaptureLoader(str(out)).load()
    assert [f.type_name for f in ours.frames if f.stream_id == 5] == \
        [f.type_name for f in session.frames if f.stream_id == 5]


def test_copy_the_detail_and_a_header_value():
    async def scenario():
        app, ctx = await _open("grpc-unary.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("y")
            assert app.clipboard == app.detail_text() and "HEADERS frame" in app.clipboard
            assert "copied the frame detail" in _status(app)
            detail = app.query_one("#detail")
            detail.focus()
            detail.move_to_line(next(i for i, line in enumerate(app.detail) if line.startswith("  :path: ")))
            await pilot.press("Y")
            assert app.clipboard == "/h2inspect.demo.Demo/Unary"
    asyncio.run(scenario())


def test_a_message_over_several_frames_says_where_it_starts_and_ends_and_the_hex_is_whole():
    async def scenario():
        app, ctx = await _open("grpc-large-messages.pcap", size=(200, 45))
        async with ctx as pilot:
            await _loaded(app, pilot)
            rows = [r for r in _rows(app.query_one("#frames")) if " DATA " in r]
            assert "request #1 starts" in rows[0] and "request #1 continues" in rows[1]
            assert "request #1 ends" in rows[2] and "response #1 ends" in rows[-1]
            big = max(app.frame_view.frames, key=lambda i: app.session.frames.length[i])
            app.frame_view.move_to_frame(big)
            await pilot.pause(0.1)
            length = app.session.frames.length[big]
            detail = app.detail_view.detail
            hex_lines = len(detail) - len(detail.head)
            assert hex_lines == (length + 15) // 16 and length > 512
            assert detail.lines()[-1].startswith(f"  {(hex_lines - 1) * 16:04x}  ")
    asyncio.run(scenario())


def test_a_proto_decodes_messages_by_name_in_the_detail():
    from inspector.rpc.schema import load_schema

    schema = load_schema([str(ROOT / "inspector" / "demo" / "demo.proto")])

    async def scenario():
        app, ctx = await _open("grpc-unary.pcap", schema=schema)
        async with ctx as pilot:
            await _loaded(app, pilot)
            app.frame_view.move_to(2)  # the request's DATA
            await pilot.pause(0.1)
            assert any("h2inspect.demo." in line and "{" in line for line in app.detail), app.detail
    asyncio.run(scenario())


def test_ladder_draws_a_stream_and_a_connection_side_by_side():
    async def scenario():
        app, ctx = await _open("grpc-concurrent.pcap", size=(200, 50))
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("l")
            assert app.ladder and app.frame_view.shape is app.frame_view.ladder_shape
            rows = _rows(app.query_one("#frames"))
            assert "│─ HEADERS request " in rows[0] and "▶│" in rows[0]
            assert any("│◀" in r and "HEADERS trailers END_STREAM ─│" in r for r in rows)
            header = app.query_one("#frames").header
            assert "client" in header[0][0] and "server" in header[0][0]
            await pilot.press("c")
            rows = _rows(app.query_one("#frames"))
            assert len(rows) == 163 and "a ladder per open stream" in app.query_one("#frames").header[0][0]
            assert max(r.count("│  │") for r in rows) >= 4  # several calls in flight at once
            assert any("│─▶│" in r and " s1 HEADERS request" in r for r in rows)
            await pilot.press("l")
            assert not app.ladder and app.selected[1] is None  # the list of the same connection
    asyncio.run(scenario())


def test_layout_stacks_narrows_and_zooms_with_the_terminal():
    async def scenario():
        app, ctx = await _open("grpc-errors.pcap", size=(80, 24))
        async with ctx as pilot:
            await _loaded(app, pilot)
            assert app.screen.has_class("-stacked") and app.query_one("#streams").compact
            lines = screen_text(app)
            assert all(len(line) <= 80 for line in lines)
            assert any("NOT_FOUND" in line for line in lines)  # the status of a failed call shows
            await pilot.press("z")
            assert not app.query_one("#left").display
            await pilot.press("z")
            assert app.query_one("#left").display
            await pilot.resize_terminal(120, 40)
            await pilot.pause(0.1)
            assert app.screen.has_class("-compact") and not app.screen.has_class("-stacked")
            await pilot.resize_terminal(200, 50)
            await pilot.pause(0.1)
            assert not app.query_one("#streams").compact
            assert any("unary" in line and "reset by" in line for line in screen_text(app))
    asyncio.run(scenario())


def test_help_theme_and_ctrl_c():
    async def scenario():
        app, ctx = await _open("curl-h2c-upgrade.pcap", size=(100, 40))
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("question_mark")
            assert app.screen.__class__.__name__ == "HelpScreen"
            assert any("ES END_STREAM" in line for line in screen_text(app))
            await pilot.press("escape")
            await pilot.press("T")
            assert app.theme == "textual-light" and "theme textual-light" in _status(app)
            assert _rows(app.query_one("#frames"))
            await pilot.press("ctrl+c")
        assert app.return_code == 0
    asyncio.run(scenario())


def test_jumping_to_the_last_frame_shows_its_detail_in_the_same_screen_update():
    async def scenario():
        app, ctx = await _open("curl-h2c-prior-knowledge.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            await pilot.press("c")
            timeline = app.query_one("#frames")
            timeline.focus()
            timeline.action_jump(-1)  # what G does; checked before the app gets to run again
            assert timeline.cursor == timeline.count - 1
            frames = app.frame_view.frames
            tables = DynamicTables(app.session)  # the detail lists the HPACK of a HEADERS frame
            assert app.detail == frame_detail(app.session, app.session.frames[frames[-1]], hpack=tables).lines()
            await pilot.press("g")
            assert timeline.cursor == 0
            assert app.detail == frame_detail(app.session, app.session.frames[frames[0]], hpack=tables).lines()
            for _ in range(3):  # a burst, as when j is held down: the detail catches up once it settles
                timeline.action_move(1)
            await pilot.pause(0.1)
            assert app.detail == frame_detail(app.session, app.session.frames[frames[3]], hpack=tables).lines()
    asyncio.run(scenario())


@pytest.mark.parametrize("name", ["curl-h2c-upgrade.pcap", "h2load-three-connections.pcap", "curl-ipv6.pcapng",
                                  "grpc-errors.pcap"])
def test_every_sample_capture_opens_and_never_raises(name):
    async def scenario():
        app, ctx = await _open(name, size=(80, 24))
        async with ctx as pilot:
            await _loaded(app, pilot)
            for key in ("j", "j", "enter", "c", "l", "f", "d", "t", "s", "G", "g", "l", "c", "z", "p", "escape",
                        "question_mark", "escape", "q"):
                await pilot.press(key)
    asyncio.run(scenario())


def test_words_carry_the_meaning_without_colour():
    session = CaptureLoader(str(CAPTURES / "curl-h2c-upgrade.pcap")).load()
    stream = session.stream(0, 1)
    assert summarize(session, stream).what == "GET /upgrade (HTTP/1.1, upgraded)"
    words = [frame_meaning(session, session.frames[i]) for i in stream.frames]
    assert words[0].startswith(":status 200")


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
            rows.set_rows(100_000, lambda i: [(f"row {i}", "")], width=40, header=[("the header", "header")])
            await pilot.pause()
            assert rows.show_vertical_scrollbar and not rows.show_horizontal_scrollbar
            await pilot.press("G")
            assert rows.cursor == 99_999
            assert "row 99999" in "".join(seg.text for seg in rows.render_line(rows.size.height - 1))
            assert "the header" in "".join(seg.text for seg in rows.render_line(0))  # stays on top
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
            await _loaded(app, pilot)
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
    asyncio.run(scenario())


def test_a_live_session_gets_its_grpc_words_and_its_findings_as_they_happen():
    """A live session grows under the app: new rows get their gRPC words, and a finding added
    to the session shows in the status line and on its frame's row without a key press."""
    from hyperframe.frame import HeadersFrame

    from inspector.model import Finding
    from inspector.proxy.live_source import LiveSource
    from inspector.proxy.recorder import PcapngRecorder

    def message(body: bytes) -> bytes:
        return b"\x00" + len(body).to_bytes(4, "big") + body

    enc_c, enc_s = hpack.Encoder(), hpack.Encoder()
    request = (PREFACE + SettingsFrame(0).serialize()
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
            await pilot.pause(0.3)
            source.data(live, False, response, 1.1)
            source.decode(1.0)
            rows: list[str] = []
            for _ in range(40):
                rows = [line for line in screen_text(app) if "◀─ server" in line and "DATA" in line]
                if rows and "gRPC response #1" in rows[0]:
                    break
                await pilot.pause(0.1)
            assert rows and "gRPC response #1 (4 B)" in rows[0], rows
            frame = app.frame_view.frames[-1]
            source.session.findings.append(Finding(Severity.WARNING, "a finding found live", "RFC 9113 §8",
                                                   0, 1, None, frame))
            for _ in range(40):
                if "1 warning" in _status(app):
                    break
                await pilot.pause(0.1)
            assert "1 warning" in _status(app)
            assert _rows(app.query_one("#frames"))[-1][1] == "▲"
    asyncio.run(scenario())


def test_the_detail_of_every_headers_frame_lists_its_hpack_representations():
    """In `open`, the detail of a HEADERS frame says how each field was written; each line agrees
    with the hpack library's own parsing of the same block (kind, bytes, the field)."""
    from hpack.hpack import Decoder
    from test_hpack_representations import hpack_library_view

    from inspector.views.hpack import block_bytes

    kinds = {"indexed": "indexed", "literal with incremental indexing": "incremental",
             "literal without indexing": "without", "literal never indexed": "never"}

    async def scenario():
        app, ctx = await _open("grpc-unary.pcap")
        async with ctx as pilot:
            await _loaded(app, pilot)
            session = app.session
            log = session.frames
            decoders: dict[int, Decoder] = {}
            checked = 0
            for block_index, block in enumerate(session.header_blocks):
                frame = block.frame
                app.jump(log.conn_index[frame], log.stream_id[frame], frame)
                while app.detail_view.frame != frame:
                    await pilot.pause(0.01)
                lines = app.detail_text().splitlines()
                start = next(i for i, line in enumerate(lines) if line.startswith("HPACK: how each field"))
                assert lines[start + 1].startswith("  Why ")
                shown = []
                for i in range(start + 2, len(lines)):
                    item = re.match(r"^ +\d+\. (.+?) · ", lines[i] + " · ")
                    if item is None:
                        continue
                    field = lines[i + 1].removeprefix("      ")
                    length = int(re.match(r"^ *(\d+) B: ", lines[i + 2]).group(1))
                    shown.append((kinds[item.group(1)], length, field))
                theirs = hpack_library_view(decoders.setdefault(int(block.direction), Decoder()),
                                            block_bytes(session, block_index))
                assert shown == [(kind, end - start_, f"{h[0]}: {h[1]}") for kind, start_, end, h, *_ in theirs]
                checked += 1
            assert checked == len(session.header_blocks) >= 3  # request, response, trailers
            # a DATA frame has no HPACK listing
            data = next(i for i in range(len(log)) if log.type_code[i] == 0)
            app.jump(log.conn_index[data], log.stream_id[data], data)
            while app.detail_view.frame != data:
                await pilot.pause(0.01)
            assert "HPACK: how each field" not in app.detail_text()

    asyncio.run(scenario())
