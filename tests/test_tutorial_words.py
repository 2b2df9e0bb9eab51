"""The tutorial's last words, without peers: what the last call's note and the end of a run say."""

from __future__ import annotations

from pathlib import Path

from inspector.capture.load import CaptureLoader
from inspector.tutorial.exchange import LESSONS, lessons_for
from inspector.tutorial.notes import closing, end_of_call
from inspector.views.hpack import frame_lines

ROOT = Path(__file__).resolve().parent.parent


def test_the_last_call_says_it_is_the_last_and_what_to_try_next():
    lessons = lessons_for(None)
    assert end_of_call("en", 1, 5, lessons).startswith("end of this call: ] for the next one")
    last = end_of_call("en", 5, 5, lessons)
    assert "] for the next one" not in last
    assert last.startswith("end of the last call of this run: nothing comes after it.")
    assert "`h2inspect tutorial bidi-streaming --messages 5`" in last  # the TUI's suggestion has no --headless
    for lesson in ("errors", "flow-control", "hpack", "multiplexing"):
        assert f"h2inspect tutorial {lesson}" in last
    ja = end_of_call("ja", 5, 5, lessons)
    assert ja.startswith("この実行の最後の呼び出しが終わりました") and "ほかのレッスン" in ja


def test_a_single_lesson_points_to_the_four_styles_and_the_lessons_not_run():
    words = closing("en", [LESSONS["hpack"].bind()])
    assert words.startswith("That was HPACK: why the second call's headers are a few bytes.")
    assert "`h2inspect tutorial hpack --table-size 256 --headless`" in words
    assert "h2inspect tutorial, " in words and "h2inspect tutorial hpack," not in words.split("lessons:")[1]


def test_the_frame_detail_gets_the_hpack_listing_of_a_headers_frame():
    session = CaptureLoader(str(ROOT / "tutorials" / "captures" / "hpack.pcapng")).load()
    log = session.frames
    headers = [i for i in range(len(log)) if log.header_block[i] >= 0]
    lines = frame_lines(session, headers[0], "en")
    assert lines[0].startswith("Why ") and " 1. literal with incremental indexing · name: new, raw" in lines[1]
    assert any(line.startswith("the client's dynamic table after this block: 6 entries") for line in lines)
    assert frame_lines(session, next(i for i in range(len(log)) if log.type_code[i] == 0), "en") == []
    assert frame_lines(session, headers[0], "ja")[1].startswith(" 1. インクリメンタルインデックス付きリテラル")
