"""The lessons in tutorials/: every quoted command runs, and the committed diagrams and
quoted outputs equal what h2inspect draws afresh from the recordings."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tmuxkit import exit_status, keys, terminal, wait_for

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tutorials"
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def quoted_commands() -> list[str]:
    """Every `h2inspect ...` line of every ```sh block in the lessons, once each."""
    seen: dict[str, None] = {}
    for path in sorted(TUTORIALS.rglob("*.md")):
        for block in SH_BLOCK.findall(path.read_text(encoding="utf-8")):
            for line in block.splitlines():
                command = line.split("#")[0].strip()
                if command.startswith("h2inspect "):
                    seen[command] = None
    return list(seen)


COMMANDS = quoted_commands()


def opens_tui(command: str) -> bool:
    argv = shlex.split(command)
    return argv[1] == "open" or (argv[1] == "tutorial" and "--headless" not in argv)


def test_the_lessons_quote_commands_of_every_kind():
    assert len(COMMANDS) >= 20
    assert any(opens_tui(c) for c in COMMANDS) and any("--headless" in c for c in COMMANDS)
    assert {shlex.split(c)[1] for c in COMMANDS} >= {"tutorial", "rpcs", "dump", "open"}


def test_english_and_japanese_lessons_match_one_to_one():
    en = sorted(p.name for p in (TUTORIALS / "en").glob("*.md"))
    ja = sorted(p.name for p in (TUTORIALS / "ja").glob("*.md"))
    assert en == ja and len(en) == 10
    for name in en:
        marks = [re.findall(r"<!-- (?:diagram|output): h2inspect \S+ (\S+)", (TUTORIALS / lang / name).read_text())
                 for lang in ("en", "ja")]
        assert marks[0] == marks[1], name  # the same recordings, in the same places


def test_the_new_lessons_suggest_an_experiment_with_its_command():
    """The HPACK and multiplexing lessons end with an experiment: a command that changes the exchange."""
    from inspector.tutorial.exchange import OPTION_NAMES

    for lang in ("en", "ja"):
        for name, lesson in (("09-hpack.md", "hpack"), ("10-multiplexing.md", "multiplexing")):
            text = (TUTORIALS / lang / name).read_text(encoding="utf-8")
            commands = [line.split("#")[0].strip() for block in SH_BLOCK.findall(text) for line in block.splitlines()]
            tried = [c for c in commands if c.startswith(f"h2inspect tutorial {lesson} ")
                     and any(option in shlex.split(c) for option in OPTION_NAMES.values())]
            assert tried, (lang, name)
            assert "<!-- output: h2inspect tutorial " in text and "--capture tutorials/captures/" in text


def test_committed_diagrams_equal_freshly_generated_ones():
    proc = subprocess.run([sys.executable, str(TUTORIALS / "update_diagrams.py"), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (TUTORIALS / "en" / "03-unary.md").read_text()
    assert "C->>S: DATA request #35;1 [END_STREAM]" in text
    assert "S->>C: HEADERS trailers grpc-status 0 [END_STREAM]" in text


def test_the_frame_header_lesson_quotes_real_bytes():
    out = subprocess.run([sys.executable, "-m", "inspector", "tutorial", "unary", "--headless", "--capture",
                          "tutorials/captures/unary.pcapng"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    for lang in ("en", "ja"):
        quoted = re.findall(r"^frame header bytes: .*$", (TUTORIALS / lang / "01-frame-header.md").read_text(),
                            re.M)
        assert len(quoted) == 2
        for line in quoted:
            assert line in out


@pytest.mark.parametrize("command", [c for c in COMMANDS if not opens_tui(c)])
def test_quoted_command_runs(command):
    argv = shlex.split(command)
    proc = subprocess.run([sys.executable, "-m", "inspector", *argv[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", [c for c in COMMANDS if opens_tui(c)])
def test_quoted_tui_command_runs_in_a_terminal(command, tmp_path):
    """The real command in tmux: the screen fills, q quits with status 0."""
    done = tmp_path / "exit-status"
    argv = shlex.split(command)
    line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "inspector", *argv[1:]])
    expect = ("loaded",) if argv[1] == "open" else ("step 1/", "ステップ 1/")
    with terminal(line, done, cwd=ROOT) as name:
        wait_for(name, *expect)
        keys(name, "q")
        assert exit_status(done) == "0"
