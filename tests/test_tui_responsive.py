"""What keeps the TUI's keys quick on a big capture, checked by what it does, not by a clock: a view
switch is one screen update, a screen that comes back is styled again only when the CSS changed, the
objects made after loading leave the collector's passes, and the big connections are warm when
loading ends. (bench/bench_tui.py times the keys.)"""

from __future__ import annotations

import asyncio
import gc
from array import array
from itertools import compress

import tuikit
from conftest import CAPTURES

from inspector.capture.load import CaptureLoader
from inspector.tui.app import App
from inspector.tui.columns import content_widths
from inspector.tui.view_cache import ViewCache
from inspector.tui.widgets.problems import ProblemsScreen, ProblemsView


def _counting_updates(app: App) -> list[int]:
    """A list that gets one entry per screen update the app hands its terminal."""
    sent: list[int] = []
    display = app._display

    def counted(screen, update) -> None:  # type: ignore[no-untyped-def]
        display(screen, update)
        if update is not None:
            sent.append(1)

    app._display = counted  # type: ignore[method-assign]
    return sent


async def _settled(pilot) -> None:  # type: ignore[no-untyped-def]
    """Until the app has nothing more to draw (Pilot's own wait, twice, then a quiet spell)."""
    await pilot.pause()
    await pilot.pause(0.2)


async def _problems_open(app: App, pilot) -> None:  # type: ignore[no-untyped-def]
    """The capture loaded, then the problems view opened (its first visit: the screen composed)."""
    await tuikit.until(pilot, lambda: app.loaded, "the capture to load")
    await pilot.press("p")
    await _settled(pilot)


def test_going_to_a_finding_and_back_to_the_problems_view_are_one_screen_update_each(tmp_path):
    path = tuikit.findings_capture(str(tmp_path / "findings.pcap"))
    loader = CaptureLoader(path)
    app = App(loader.session, loader)
    updates = _counting_updates(app)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await _problems_open(app, pilot)  # the first visit composes the screen: several updates
            await pilot.press("escape")
            await _settled(pilot)
            for _ in range(3):
                updates.clear()
                await pilot.press("p")
                await _settled(pilot)
                assert isinstance(app.screen, ProblemsScreen)
                assert len(updates) == 1, f"{len(updates)} screen updates to show the problems view again"
                view = app.screen.query_one(ProblemsView)
                target = next(i for i in range(view.count) if (f := view.finding_at(i)) and f.frame is not None)
                view.move_to(target)
                await _settled(pilot)
                finding = view.finding_at(target)
                assert finding is not None
                updates.clear()
                await pilot.press("enter")
                await _settled(pilot)
                assert app.frame_view.current_frame() == finding.frame  # the jump landed ...
                assert len(updates) == 1, f"{len(updates)} screen updates for the jump to a finding"  # ... at once
    asyncio.run(scenario())


def test_the_problems_view_takes_a_new_theme_when_it_comes_back(tmp_path):
    """Its restyle on return is skipped only while the app's CSS is as it was."""
    path = tuikit.findings_capture(str(tmp_path / "findings.pcap"))
    loader = CaptureLoader(path)
    app = App(loader.session, loader)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await _problems_open(app, pilot)
            screen = app.screen
            dark = screen.styles.background
            await pilot.press("escape")
            await _settled(pilot)
            app.theme = "textual-light"
            await _settled(pilot)
            await pilot.press("p")
            await _settled(pilot)
            assert app.screen is screen
            light = screen.styles.background
            assert light != dark and light.brightness > dark.brightness
    asyncio.run(scenario())


def test_what_the_views_make_after_loading_is_frozen_within_a_second():
    """The collector's full passes would walk a problems index or a ladder's lanes made after loading
    on every later pass, in the middle of a key; the app freezes them with the model."""
    loader = CaptureLoader(str(CAPTURES / "abuse" / "rapid-reset.pcap"))
    app = App(loader.session, loader)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await _problems_open(app, pilot)
            screen = app.screen  # made after loading
            assert isinstance(screen, ProblemsScreen)
            frozen = gc.get_freeze_count()
            await tuikit.until(pilot, lambda: gc.get_freeze_count() > frozen, "the next settle", timeout=10)
            assert not any(o is screen for o in gc.get_objects())  # frozen: out of every generation
    asyncio.run(scenario())


def test_big_connections_are_warm_when_loading_ends():
    """Their frames and column widths, worked out in one pass, are those a first look would work out."""
    loader = CaptureLoader(str(CAPTURES / "h2load-three-connections.pcap"))
    for _ in loader.batches(1000):
        pass
    session = loader.session
    log = session.frames
    conns = log.column("conn_index")
    counts = {c: conns.count(c) for c in set(conns)}
    smallest = min(counts.values())
    warm = ViewCache(session)
    big = warm.warm_connections(min_frames=smallest)
    assert sorted(big) == sorted(counts)
    assert warm.warm_connections(min_frames=smallest) == []  # nothing left to warm
    cold = ViewCache(session)
    for c in counts:
        expected = array("I", compress(range(len(log)), (x == c for x in conns)))
        assert warm.connection_frames(c) == expected == cold.connection_frames(c)
        assert warm.widths((c, None), (0, 0, 0), expected) == content_widths(log, session.header_blocks, expected)
    assert ViewCache(session).warm_connections(min_frames=max(counts.values()) + 1) == []
