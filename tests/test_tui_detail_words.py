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
