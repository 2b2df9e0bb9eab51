"""The teaching-mode TUI on a real exchange: step through whole lessons with the keyboard."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from conftest import screen_lines, screen_text

from inspector.tutorial.app import TutorialApp
from inspector.tutorial.exchange import Exchange, lesson_calls, lessons_for

pytestmark = pytest.mark.peers  # real peers or tools (tshark, nghttpd, curl, grpcio, tmux): see conftest.py


async def _until_ready(app: TutorialApp, pilot, calls: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await pilot.pause(0.05)
        found = [c for _, _, c in lesson_calls(app.session, app.exchange.lessons) if c is not None]
        if app.exchange.progress.stage in ("done", "failed") and len(found) == calls and app.timeline:
            break
    assert app.exchange.progress.stage == "done", app.exchange.progress.error
    await pilot.pause(0.6)  # the App's own refresh picks up the last frames


def test_step_through_the_four_styles_with_the_keyboard():
    async def run() -> None:
        exchange = Exchange(lessons_for(None))
        app = TutorialApp(exchange, "en")
        async with app.run_test(size=(180, 50)) as pilot:
            await _until_ready(app, pilot, 5)
            assert "lesson 1/4: unary" in app.lesson_text()
            assert "step 1/" in app.lesson_text()
            assert "request headers: the call /h2inspect.demo.Demo/Unary begins on stream 1" in app.lesson_text()
            # Step through the whole unary call with space; every frame gets a note.
            seen = []
            for _ in range(len(app.timeline) - 1):
                await pilot.press("space")
                seen.append(app.lesson_text())
            assert any("END_STREAM is on this DATA frame because it carries the only request message" in t
                       for t in seen)
            assert "These HEADERS are trailers" in seen[-1]
            assert "end of this call" in seen[-1]
            marked = [line for line in app.diagram_text().splitlines() if "▸" in line]
            assert len(marked) == 1
            assert re.search(r"▸ │◀─+ HEADERS trailers grpc-status 0 \[END_STREAM\] ──│", marked[0])
            await pilot.press("left")
            assert "▸" in app.diagram_text() and "end of this call" not in app.lesson_text()
            # ] moves to the next call: server streaming on stream 3, from its first frame.
            await pilot.press("right_square_bracket")
            assert "lesson 2/4: server streaming" in app.lesson_text()
            assert app.selected[1] == 3 and "step 1/" in app.lesson_text()
            await pilot.press("right_square_bracket", "right_square_bracket")
            assert "lesson 4/4: bidirectional streaming" in app.lesson_text()
            assert "ping-pong" in app.lesson_text()
            await pilot.press("space")
            assert "The server's HEADERS came before any request DATA" in app.lesson_text()
            await pilot.press("right_square_bracket")
            assert "answer after all" in app.lesson_text() and app.selected[1] == 9
            await pilot.press("left_square_bracket")
            assert app.selected[1] == 7
            # the ordinary App still works: the frame detail follows, help opens and closes
            await pilot.pause(0.1)
            assert "HEADERS frame (type 0x01)" in app.detail_text()
            await pilot.press("question_mark")
            await pilot.press("escape")
            await pilot.press("q")
        assert exchange.server is None  # the demo server was stopped on the way out
        assert exchange.session.complete or exchange.session.frames

    asyncio.run(run())


def test_at_80x24_each_steps_words_are_on_screen_and_the_rest_of_the_pane_scrolls():
    """An 80x24 terminal leaves the lesson pane a few lines: the step under the cursor is scrolled to
    (its heading and first sentence on screen, at every step), and what does not fit is reached by
    scrolling the pane, not cut."""
    async def run() -> None:
        app = TutorialApp(Exchange(lessons_for("unary")), "en")
        async with app.run_test(size=(80, 24)) as pilot:
            await _until_ready(app, pilot, 1)
            for step in range(len(app.timeline)):
                if step:
                    await pilot.press("space")
                deadline = time.monotonic() + 30
                while True:  # until the pane has scrolled to the step (a refresh or two; more on a busy machine)
                    await pilot.pause(0.02)
                    # Read again each time: the pane's text follows the session, which may still grow.
                    lines = app.lesson_text().splitlines()
                    heading = next(line for line in lines if line.startswith(f"step {step + 1}/"))
                    what = lines[lines.index(heading) + 3]  # the bytes, their fields, then what the frame is
                    wanted = [heading.split(" · ")[0], heading.split(" · ")[1][:12], what.split()[0]]
                    shown = " ".join(line.strip(" │▅▆▇█▁▂▃▄") for line in screen_text(app))
                    if all(w in shown for w in wanted) or time.monotonic() > deadline:
                        break
                assert all(w in shown for w in wanted), (wanted, shown)
            side = app.query_one("#lesson-side")
            assert side.max_scroll_y > 0  # the pane holds more than it shows: it scrolls
            closing = [line for line in app.lesson_text().splitlines() if line.strip()][-2]  # before the keys
            words = " ".join(closing.split()[:4])
            for y in range(int(side.max_scroll_y) + 1):  # the last step's closing words, a line at a time
                side.scroll_to(y=y, animate=False)
                await pilot.pause(0.02)
                pane = " ".join(line[:side.outer_size.width - 1].strip(" │▅▆▇█▁▂▃▄") for line in screen_text(app))
                if words in " ".join(pane.split()):
                    break
            else:
                raise AssertionError(f"the last step's closing words are never on screen: {words!r}")
            await pilot.press("q")

    asyncio.run(run())


def test_japanese_lesson_pane():
    async def run() -> None:
        exchange = Exchange(lessons_for("client-streaming"))
        app = TutorialApp(exchange, "ja")
        async with app.run_test(size=(180, 50)) as pilot:
            await _until_ready(app, pilot, 1)
            assert "レッスン 1/1: クライアントストリーミング" in app.lesson_text()
            texts = []
            for _ in range(len(app.timeline) - 1):
                await pilot.press("right")
                texts.append(app.lesson_text())
            endings = ("END_STREAM を伝えるためだけの空の DATA フレーム", "最後のリクエストフレームに END_STREAM")
            assert any(e in t for e in endings for t in texts)
            assert "クライアント" in app.diagram_text()
            # A live session's calls are re-read at most once a second, so rows drawn right
            # after the last frames lack their messages; the screen must catch up by itself.
            for _ in range(40):
                shown = [line for line in screen_lines(app) if "DATA" in line]
                if sum("リクエスト #" in line for line in shown) == 3:
                    break
                await pilot.pause(0.1)
            assert [n for n in (1, 2, 3) if any(f"リクエスト #{n}" in line for line in shown)] == [1, 2, 3], shown
            shown = screen_lines(app)
            # The row's last column is as wide as the pane leaves it: the label starts on screen,
            # and the row's cells carry all of it.
            assert any("リクエストヘッダー /h2in" in line for line in shown)
            assert app.timeline_view.cells(0).meaning == "リクエストヘッダー /h2inspect.demo.Demo/ClientStream"
            assert any("トレーラー grpc-status 0 [END_STREAM]" in row for row in shown)
            # The frame detail pane speaks Japanese too: the cursor is on the trailers.
            assert re.search(r"HEADERS フレーム（タイプ 0x01）サーバーから、ストリーム 1、\d+ バイト", app.detail[0])
            assert any("ヘッダーブロック：トレーラー（trailers）" in row for row in shown), shown
            assert any("このフレームの後：ストリーム クローズ（closed）" in row for row in shown), shown
            await pilot.press("q")
        assert exchange.server is None

    asyncio.run(run())


async def _until(pilot, done, what: str, limit: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for an event the app signals by its state (a run finished, a screen opened)."""
    for _ in range(int(limit / 0.05)):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"waited {limit} s for {what}")


def test_an_experiment_from_the_form_runs_again_and_is_compared_on_screen():
    from textual.widgets import Input

    from inspector.tutorial.experiment import summarize
    from inspector.tutorial.form import ExperimentForm

    async def run() -> None:
        exchange = Exchange(lessons_for("unary"))
        app = TutorialApp(exchange, "en")
        async with app.run_test(size=(180, 50)) as pilot:
            await _until_ready(app, pilot, 1)
            before = summarize(app.session, exchange.lessons)
            await pilot.press("x")
            await _until(pilot, lambda: isinstance(app.screen, ExperimentForm), "the form")
            form = app.screen
            assert form.query_one("#form-size", Input).value == "0"  # what the lesson ran with
            assert form.query_one("#form-max_frame", Input).value == ""  # grpcio's own
            # A value out of range is said in the form, which stays open.
            form.query_one("#form-window", Input).value = "0"
            form.query_one("#form-window", Input).focus()
            await pilot.press("enter")
            assert isinstance(app.screen, ExperimentForm)
            assert "--window" in str(form.query_one("#form-error").render())
            form.query_one("#form-window", Input).value = ""
            form.query_one("#form-size", Input).value = "100K"
            form.query_one("#form-max_frame", Input).value = "16384"
            await pilot.press("enter")
            await _until(pilot, lambda: len(app.runs) == 2 and not app.experiment_running, "the second run")
            first, second = app.runs
            assert first == before
            assert 102_400 <= second.largest_message < 102_500 and second.largest_message_frames >= 7
            assert second.frames > first.frames and second.frame_bytes > first.frame_bytes + 2 * 102_400
            said = app.compare_text()
            assert said.startswith("this run (--size 102400 --max-frame 16384) against the previous one:"), said
            assert f"The biggest message, {second.largest_message} B, took {second.largest_message_frames} DATA" in said
            assert f"frames: {first.frames} → {second.frames}" in said
            assert f"bytes of frames: {first.frame_bytes} → {second.frame_bytes}" in said
            assert f"waits for WINDOW_UPDATE: {first.stalls} → {second.stalls}" in said
            await pilot.pause(0.1)
            shown = "\n".join(screen_text(app))
            assert f"frames: {first.frames} → {second.frames}" in shown
            # The form starts from the run before; Esc leaves it without running anything
            await pilot.press("x")
            await _until(pilot, lambda: isinstance(app.screen, ExperimentForm), "the form again")
            assert app.screen.query_one("#form-size", Input).value == "102400"
            assert app.screen.query_one("#form-max_frame", Input).value == "16384"
            await pilot.press("escape")
            assert not isinstance(app.screen, ExperimentForm) and len(app.runs) == 2
            await pilot.press("q")

    asyncio.run(run())


def test_the_last_call_says_so_and_bracket_says_there_is_nothing_after_it():
    async def run() -> None:
        exchange = Exchange(lessons_for("unary"))
        app = TutorialApp(exchange, "en")
        async with app.run_test(size=(180, 50)) as pilot:
            await _until_ready(app, pilot, 1)
            await pilot.press("right_square_bracket")
            assert "This is the last call: ] has nothing after it." in str(app.query_one("#status").render())
            for _ in range(len(app.timeline) - 1):
                await pilot.press("space")
            pane = app.lesson_text()
            assert "end of the last call of this run: nothing comes after it." in pane
            assert "] for the next one" not in pane and "h2inspect tutorial hpack" in pane
            await pilot.press("q")

    asyncio.run(run())


def test_the_multiplexing_lesson_is_taught_on_the_connection_ladder():
    async def run() -> None:
        exchange = Exchange(lessons_for("multiplexing"))
        app = TutorialApp(exchange, "en")
        async with app.run_test(size=(180, 50)) as pilot:
            calls = len(exchange.lessons[0].calls)
            await _until_ready(app, pilot, calls)
            assert app.ladder and app.selected is not None and app.selected[1] is None
            assert app.frame_view.cursor == 0 and "step 1/" in app.lesson_text()  # from the preface's SETTINGS
            shown = screen_text(app)
            assert any("a ladder per open stream" in line for line in shown), shown
            streams = {app.session.frames.stream_id[i] for i in app.timeline}
            assert {1, 3, 5} <= streams  # every call's frames, on one connection
            await pilot.press("right_square_bracket")
            assert app.call_number == 1 and app.selected[1] is None
            assert app.session.frames.stream_id[app.frame_view.current_frame()] == 3
            # l is the list again (no longer a step), and back
            await pilot.press("l")
            assert not app.ladder and "list (l)" in str(app.query_one("#timeline-title").render())
            await pilot.press("l")
            assert app.ladder
            await pilot.press("q")

    asyncio.run(run())


@pytest.mark.parametrize(("lesson", "size"), [("unary", (180, 50)), ("multiplexing", (180, 50)),
                                             ("hpack", (180, 50)), ("flow-control", (180, 50)),
                                             ("multiplexing", (80, 24)), ("hpack", (80, 24))],
                         ids=["unary", "multiplexing", "hpack", "flow-control", "multiplexing-80x24", "hpack-80x24"])
def test_every_screen_of_teaching_mode_speaks_japanese(lesson, size, tmp_path):
    """Under --lang ja: every step of a call, the ladder, the connection view, help, the boxes, search
    and go-to and what they say, copying, saving (and failing to), the problems screen with its
    findings (flow control makes some: the sender waits on a zero window) and going to one, the form
    with its errors and the comparison, the footer: no English prose left on screen. The
    multiplexing lesson starts on the connection's ladder."""
    from jakit import NOT_PROSE, PROTOCOL_WORDS, english_words
    from textual.widgets import Input, Static

    from inspector.tui.widgets.boxes import SaveScreen
    from inspector.tui.widgets.problems import ProblemsScreen, ProblemsView
    from inspector.tutorial.form import ExperimentForm

    leftovers: dict[str, list[str]] = {}
    # before jakit's rules (which take the digits out of these), then after them
    data = [re.escape(str(tmp_path)) + r"\S*",  # a file the learner saves to
            r"(?:/[\w.-]+){3,}/?",  # the same path, cut by a narrow screen
            r"h2inspect-[\w-]+\.(?:pcapng|jsonl|mmd)",  # the file name the save box suggests
            r"\bzstd\b",  # what the learner typed in the form
            r"h2inspect(?![.\w]| tutorial)",  # the program
            r"\b[a-z_]+ = \S+",  # a payload field as the decoder names it (the detail test's rule)
            r"<\d+ bytes>",  # a decoded message's field: the same in both languages, as in `open`
            r"^\s*[0-9a-f]{4}  (?:[0-9a-f]{2} )+.*$",  # a line of the hex dump
            r"^\s{2,}:?[a-z][a-z0-9-]*: .*$",  # a header field of the detail, as it was sent
            r"\b(?:h2|grpc|flow|abuse|capture|tls|proxy)\.[a-z-]+\b",  # a rule id (flow.blocked)
            r"テーマ \S+"]  # a theme's name
    not_prose = [r"(?m)^\s*tutorial\b",  # a command wrapped at the pane's edge
                 r"[A-Za-z0-9/._:-]*…",  # a word the column cut
                 r"（[a-z ()-]+）",  # the English gloss the detail gives a role or a state
                 r"\.(?:pcapng|jsonl|mmd)\b",  # the endings of the files `w` saves
                 r"(?<![A-Za-z])(?:Enter|Esc|esc|Tab|space|[A-Za-z])(?![A-Za-z])"]  # keys, and K or M

    def status() -> str:
        return str(app.query_one("#status").render())

    def lines_of(modal: bool) -> list[str]:
        if not modal:
            return screen_text(app)
        # a modal's own words (the screen behind it shows through, cut at its border), and the footer
        own = [str(w.render()) for w in app.screen.query(Static)]
        own += [f"{w.value} {w.placeholder}" for w in app.screen.query(Input)]
        return [line for text in own for line in text.splitlines()] + screen_text(app)[-1:]

    def look(where: str, modal: bool = False) -> None:
        for line in lines_of(modal):
            words = []
            for text in re.split(r"[│▊▎]", line):  # each pane's part of the line on its own
                # Rich folds a Japanese line at the pane's edge wherever it falls, a protocol name too
                # ("gRP" here, "C" on the next line): a name's start at a line's end is that name.
                fold = re.search(r"(?<![A-Za-z])([A-Za-z]{2,})\s*$", text)
                if fold and any(w.startswith(fold.group(1)) and w != fold.group(1) for w in PROTOCOL_WORDS):
                    text = text[:fold.start(1)]
                for pattern in data + NOT_PROSE + not_prose:
                    text = re.sub(pattern, " ", text)
                words += english_words(text)
            if words:
                leftovers.setdefault(where, []).append(f"{line.strip()}  ← {words}")

    exchange = Exchange(lessons_for(lesson))
    app = TutorialApp(exchange, "ja")

    async def say(keys: tuple[str, ...], said: str, where: str) -> None:
        await pilot.press(*keys)
        await _until(pilot, lambda: said in status(), f"{said!r} in the status line (now {status()!r})")
        look(where)

    async def run() -> None:
        nonlocal pilot
        async with app.run_test(size=size) as pilot:
            await _until_ready(app, pilot, len(exchange.lessons[0].calls))
            look("start")
            assert app.ladder == (lesson == "multiplexing")
            for n in range(len(app.timeline) - 1):
                await pilot.press("space")
                look(f"step {n + 2}")
            if lesson == "unary":
                assert "この実行の最後の呼び出しが終わりました" in app.lesson_text()
            await pilot.press("right_square_bracket")
            look("] on the last call")
            for key, where in (("l", "ladder"), ("c", "connection ladder"), ("l", "connection list"),
                               ("t", "time mode")):
                await pilot.press(key)
                await pilot.pause(0.05)
                look(where)
            await pilot.press("question_mark")
            await pilot.pause(0.05)
            look("help", modal=True)
            await pilot.press("escape")
            for key, where in (("slash", "search box"), ("colon", "go-to box")):
                await pilot.press(key)
                await pilot.pause(0.05)
                look(where)
                await pilot.press("escape")
            # what a key says in the status line: n before any search, a go-to that lands and one that does not
            await say(("n",), "まず / で検索してください", "n before a search")
            await say(("colon", "1", "enter"), "移動しました：コネクション 0 のストリーム 1", "go to 1")
            await say(("colon", "f", "9", "9", "9", "9", "enter"), "フレーム 9999 はありません", "go to f9999")
            await say(("colon", "z", "z", "enter"), "移動先「zz」", "go to zz")
            # a search that finds frames (the title says how many, n moves to the next), one that does not
            await pilot.press("slash", *"grpc", "enter")
            await _until(pilot, lambda: not app.search_state.running and app.search_state.matches, "the search")
            await pilot.pause(0.1)
            assert "検索「grpc」" in str(app.query_one("#timeline-title").render())
            look("search grpc")
            await pilot.press("n")
            look("n after a search")
            await say(("slash", *"zzqq", "enter", "n"), "「zzqq」は見つかりませんでした", "a search with no match")
            await say(("escape",), "検索と絞り込みを解除しました", "Esc clears")
            # copying the detail, and a header value when the cursor is on no header line
            await say(("y",), "をクリップボードにコピーしました", "copy the detail")
            await say(("Y",), "値をコピーするには", "copy a value with no header line")
            await say(("T",), "テーマ", "theme")
            await say(("z",), "レッスンの欄を隠し", "z hides the lesson pane")
            assert not app.query_one("#lesson-side").display
            await say(("z",), "レッスンの欄を表示しました", "z shows it again")
            # saving what is shown: the box, a file written, a name without a format, a folder that is not there
            for name, said in (("saved.jsonl", "に保存しました：フレーム"), ("saved.txt", "形式を選ぶため"),
                               ("none/saved.pcapng", "保存できませんでした")):
                await pilot.press("w")
                await _until(pilot, lambda: isinstance(app.screen, SaveScreen), "the save box")
                look("save box", modal=True)
                app.screen.query_one(Input).value = str(tmp_path / name)
                await say(("enter",), said, f"save {name}")
            assert (tmp_path / "saved.jsonl").read_text().count("\n") == len(app.frame_view.frames)
            await pilot.press("p")
            await _until(pilot, lambda: isinstance(app.screen, ProblemsScreen), "the problems screen")
            await pilot.pause(0.1)
            look("problems")
            if lesson == "flow-control":  # the sender waited for WINDOW_UPDATE: findings to read
                view = app.screen.query_one(ProblemsView)
                rows = [view.entry(i) for i in range(view.count)]
                assert any(f is not None and f.rule == "flow.blocked" for _, f in rows)
                view.move_to(next(i for i, (_, f) in enumerate(rows) if f is not None))
                await pilot.pause(0.05)
                look("a finding on the problems screen")
                await say(("enter",), "検出事項のフレームへ移動しました：", "going to a finding's frame")
            else:
                await pilot.press("escape")
            await pilot.press("x")
            await _until(pilot, lambda: isinstance(app.screen, ExperimentForm), "the form")
            look("form", modal=True)
            for box, value in (("messages", "x"), ("window", "0"), ("compress", "zstd")):
                app.screen.query_one(f"#form-{box}", Input).value = value
                await pilot.press("enter")
                assert "--" in str(app.screen.query_one("#form-error").render())
                look(f"form error ({box} {value})", modal=True)
                app.screen.query_one(f"#form-{box}", Input).value = ""
            app.screen.query_one("#form-messages", Input).value = "3"
            app.screen.query_one("#form-size", Input).value = "20K"
            await pilot.press("enter")
            await _until(pilot, lambda: len(app.runs) == 2 and not app.experiment_running, "the second run")
            await pilot.pause(0.1)
            look("comparison")
            assert "フレーム数：" in app.compare_text()
            await pilot.press("q")

    pilot = None
    asyncio.run(run())
    assert not leftovers, "\n".join(f"{where}:\n  " + "\n  ".join(lines) for where, lines in leftovers.items())
