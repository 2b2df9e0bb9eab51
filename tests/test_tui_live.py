"""The TUI on a live source (a pipe here; -i and --follow are the same path): it says it is
live, keeps the cursor where the user put it while rows arrive, and follows the newest
frame on `a`."""

from __future__ import annotations

import asyncio
import os
import threading

from conftest import CAPTURES
from tuikit import until

from inspector.capture.live import LiveInput
from inspector.capture.load import CaptureLoader
from inspector.capture.reader import CaptureReader
from inspector.tui.app import App


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one("#status").render())


def test_a_live_pipe_in_the_tui_keeps_the_cursor_and_follows_the_newest_frame_on_a():
    data = (CAPTURES / "grpc-server-streaming.pcap").read_bytes()
    whole = CaptureLoader(str(CAPTURES / "grpc-server-streaming.pcap")).load()
    cut = [len(data) // 3, 2 * len(data) // 3]
    read_end, write_end = os.pipe()
    os.write(write_end, data[:cut[0]])
    reader = CaptureReader.streaming(LiveInput(read_end), "stdin")
    loader = CaptureLoader("stdin", reader=reader)
    app = App(loader.session, loader)
    closed: list[int] = []

    async def scenario() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            session = loader.session
            await until(pilot, lambda: len(session.frames) > 0 and app.frame_view.count > 1, "the first frames")
            assert "live ·" in _status(app) and "packets" in _status(app)
            view = app.frame_view
            view.action_jump(0)
            first = view.current_frame()
            shown = view.count
            os.write(write_end, data[cut[0]:cut[1]])
            await until(pilot, lambda: app.frame_view.count > shown, "more rows in the view")
            assert app.frame_view.cursor == 0 and app.frame_view.current_frame() == first  # not moved
            await pilot.press("a")
            assert "following" in _status(app)
            assert app.frame_view.cursor == app.frame_view.count - 1
            shown = app.frame_view.count
            os.write(write_end, data[cut[1]:])
            os.close(write_end)
            closed.append(write_end)
            await until(pilot, lambda: app.loaded, "the end of the pipe")
            await pilot.pause(0.6)  # the refresh timer's next look
            assert len(session.frames) == len(whole.frames)
            assert app.frame_view.count > shown
            assert app.frame_view.cursor == app.frame_view.count - 1  # followed to the newest
            assert "ended ·" in _status(app)
            await pilot.press("q")
    try:
        asyncio.run(scenario())
        app.finish_live()
    finally:
        if not closed:
            os.close(write_end)
        os.close(read_end)


def test_waiting_for_a_key_log_leaves_the_screen_to_the_user(tmp_path):
    """--keylog on a live source whose client has not written the secrets yet: the status line
    says the capture waits for them, keys are handled meanwhile, and once the client writes
    them the connections are decrypted as the finished capture is with the whole key log."""
    from inspector.tls.keylog import FollowedKeyLog, KeyLog

    capture, key_file = CAPTURES / "curl-tls-keylog.pcap", CAPTURES / "curl-tls.keys"
    whole = CaptureLoader(str(capture), keylog=KeyLog.load(str(key_file))).load()
    keys = tmp_path / "keys.log"
    keys.write_text("")
    data = capture.read_bytes()
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, data), os.close(write_end)))
    writer.start()
    loader = CaptureLoader("stdin", reader=CaptureReader.streaming(LiveInput(read_end), "stdin"))
    # patience is what a blocking wait would have frozen the screen for: never used up here
    loader.builder.keylog = FollowedKeyLog(str(keys), patience=30)
    app = App(loader.session, loader)

    async def scenario() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: "waiting for TLS secrets" in _status(app), "the wait for the secrets")
            mode = app.frame_view.state.time_mode
            await pilot.press("t")
            assert app.frame_view.state.time_mode != mode  # the key was handled...
            assert "waiting for TLS secrets" in _status(app)  # ...while the capture still waits
            assert len(loader.session.frames) == 0
            keys.write_text(key_file.read_text())  # the client writes its key log
            await until(pilot, lambda: app.loaded, "the end of the pipe")
            assert "waiting for TLS secrets" not in _status(app) and "ended ·" in _status(app)
            got = [(f.conn_index, f.packet, f.stream_id, f.type_code, f.flags, f.length) for f in loader.session.frames]
            assert got == [(f.conn_index, f.packet, f.stream_id, f.type_code, f.flags, f.length) for f in whole.frames]
            await pilot.press("q")
    try:
        asyncio.run(scenario())
        app.finish_live()
    finally:
        writer.join()
        os.close(read_end)
