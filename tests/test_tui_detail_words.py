"""The frame detail in Japanese says what the English one says, for every frame of real captures."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from inspector.capture.load import load_capture
from inspector.tui.describe import frame_detail
from inspector.tui.detail_words import FLAG_MEANING, WORDS

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
# Words of the English prose that must not be left in a Japanese detail.
ENGLISH_PROSE = re.compile(r"\b(frame \(type|from the|bytes|flags|fields|header block|after this frame|"
                           r"connection windows|stream windows|payload|undefined|compressed)\b")
PROTOCOL_LINE = re.compile(r"^\s+(\S+ = |:?[a-z0-9-]+: |[0-9a-f]{4}  |---)")  # values, hex: the same in both


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_words_and_placeholders():
    assert WORDS["en"].keys() == WORDS["ja"].keys()
    for key in WORDS["en"]:
        assert _placeholders(WORDS["en"][key]) == _placeholders(WORDS["ja"][key]), key
    assert FLAG_MEANING["en"].keys() == FLAG_MEANING["ja"].keys()


@pytest.mark.parametrize("name", ["grpc-bidi-streaming.pcap", "grpc-errors.pcap", "nghttp-server-push.pcap",
                                  "curl-h2c-upgrade.pcap", "grpc-gzip.pcap"])
def test_japanese_detail_carries_every_number_of_the_english_one(name):
    session = load_capture(str(CAPTURES / name))
    assert len(session.frames) >= 7
    for frame in session.frames:
        en = frame_detail(session, frame)
        ja = frame_detail(session, frame, "ja")
        assert len(en) == len(ja), (frame.index, en, ja)
        for e, j in zip(en, ja, strict=True):
            # Every number of a line is in its translation, in the same order.
            assert re.findall(r"\d+", e) == re.findall(r"\d+", j), (e, j)
            if PROTOCOL_LINE.match(e) or e.startswith("    "):
                assert e == j  # field values, headers, decoded messages and hex are not translated
            else:
                assert not ENGLISH_PROSE.search(j), j
        assert "フレーム（タイプ 0x" in ja[0]
        assert ja[-1] == en[-1] or ja[-1].startswith(("  ", "このフレームの後", "ペイロード"))


def test_what_the_keys_say_has_the_same_keys_and_placeholders_in_both_languages():
    from inspector.tui.detail_words import PROBLEM_WORDS, SEVERITY_WORDS
    from inspector.tui.said import SAID

    for table in (SAID, PROBLEM_WORDS):
        assert table["en"].keys() == table["ja"].keys()
        for key in table["en"]:
            assert _placeholders(table["en"][key]) == _placeholders(table["ja"][key]), key
    assert SEVERITY_WORDS["en"].keys() == SEVERITY_WORDS["ja"].keys()


def test_a_save_or_go_to_error_says_the_same_thing_in_japanese(tmp_path):
    from inspector.tui.query import GotoError, goto
    from inspector.tui.save import SaveError, Scope, save

    session = load_capture(str(CAPTURES / "grpc-unary.pcap"))
    with pytest.raises(GotoError) as caught:
        goto(session, "f999")
    assert str(caught.value) == f"no frame 999: frames are 0 to {len(session.frames) - 1}"
    last = len(session.frames) - 1
    assert caught.value.words_in("ja") == f"フレーム 999 はありません：フレームは 0 から {last} までです"
    target = goto(session, "1")
    assert target.words == "stream 1 of connection 0" and target.words_in("ja") == "コネクション 0 のストリーム 1"
    missing = str(tmp_path / "no" / "such" / "dir" / "s.jsonl")
    with pytest.raises(SaveError) as failed:
        save(session, Scope(0, 1), missing)
    assert str(failed.value) == f"not saved: {missing}: No such file or directory"
    assert failed.value.words_in("ja") == f"保存できませんでした：{missing}：ファイルかディレクトリがありません"
    saved = save(session, Scope(0, 1), str(tmp_path / "s.jsonl"))
    lines = (tmp_path / "s.jsonl").read_text().splitlines()
    assert saved.words_in("en") == f"saved stream 1 of connection 0 to {tmp_path / 's.jsonl'}: {len(lines)} frames " \
                                   "(JSON lines)"
    assert saved.words_in("ja") == f"コネクション 0 のストリーム 1を {tmp_path / 's.jsonl'} に保存しました：" \
                                   f"フレーム {len(lines)} 個（JSONL）"


def test_the_problems_screen_and_the_detail_read_a_finding_in_japanese():
    """An App in Japanese (as teaching mode sets it) on a capture that breaks rules: the problems
    screen, its explanation, the frame detail and the status line after Enter say each finding in
    Japanese, with its numbers."""
    import asyncio

    from conftest import screen_text
    from jakit import english_words

    from inspector.capture.load import CaptureLoader
    from inspector.findings.messages import japanese
    from inspector.tui.app import App
    from inspector.tui.widgets.problems import ProblemsScreen, ProblemsView

    loader = CaptureLoader(str(CAPTURES / "abuse" / "data-beyond-window.pcap"))
    app = App(loader.session, loader)
    app.lang = "ja"
    # what stays English on these screens: the rule id, the reference, the capture's file name
    data = [r"\b[a-z0-9]+\.[a-z-]+\b", r"RFC \d+ §[\d.]+", r"CVE-\d+-\d+", r"\S+\.pcap\b", r"\b(?:Enter|Esc)\b"]

    def prose(lines: list[str]) -> list[str]:
        left = []
        for line in lines:
            for pattern in data:
                line = re.sub(pattern, " ", line)
            left += english_words(line)
        return left

    async def scenario() -> None:
        async with app.run_test(size=(180, 45)) as pilot:
            while not app.loaded:
                await pilot.pause(0.05)
            app.detail_view.lang = "ja"  # as teaching mode sets it
            findings = app.session.findings
            assert any(f.rule == "h2.data-beyond-window" for f in findings)
            app.push_screen(ProblemsScreen(app.session, "ja"), callback=app._finding_chosen)
            await pilot.pause(0.1)
            view = app.screen.query_one(ProblemsView)
            rows = [view.row_text(i) for i in range(view.count)]
            assert any(r.startswith("✖ エラー") for r in rows), rows
            assert any("h2.data-beyond-window：フロー制御ウィンドウを超える DATA" in r for r in rows), rows
            beyond = next(f for f in findings if f.rule == "h2.data-beyond-window")
            said = japanese(beyond.rule, beyond.message)
            assert said and any(said[:30] in r for r in rows)
            shown = "\n".join(screen_text(app)[:-1])  # the footer's keys are Textual's, named by the screen
            assert not prose(shown.splitlines()), (prose(shown.splitlines()), shown)
            row = next(i for i in range(view.count) if view.entry(i)[1] is beyond)
            view.move_to(row)
            await pilot.pause(0.05)
            explained = str(app.screen.query_one("#problem-detail").render())
            assert said in explained and "参照 RFC 9113 §6.9.1" in explained
            await pilot.press("enter")
            await pilot.pause(0.05)
            assert str(app.query_one("#status").render()).endswith(f"検出事項のフレームへ移動しました：{said}")
            assert any(line.startswith(f"✖ エラー：{said}") for line in app.detail), app.detail[:6]

    asyncio.run(scenario())
