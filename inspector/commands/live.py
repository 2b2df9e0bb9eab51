"""What the capture commands share for a live source: Ctrl-C ends the capture, not the program."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from inspector.capture.load import CaptureLoader


@contextmanager
def stopped_by_interrupt(loader: CaptureLoader) -> Iterator[None]:
    """The first Ctrl-C stops a live capture (what arrived is decoded and printed, with its
    findings); a second one interrupts as usual. A finished capture is left alone."""
    if loader.live is None:
        yield
        return
    interrupts = 0

    def interrupted(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        loader.stop()

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def waiting_line(name: str) -> Callable[[], None]:
    """What a followed file's reader says on stderr each time it reaches the end for now."""
    def say() -> None:
        print(f"h2inspect: {name}: waiting for more (Ctrl-C to stop)", file=sys.stderr, flush=True)
    return say


def listening_line(args: object) -> Callable[[], None]:
    """What a sniffing command says on stderr once tcpdump captures (tests wait for it)."""
    def say() -> None:
        where = getattr(args, "interface", "")
        bpf = getattr(args, "filter", None)
        print(f"h2inspect: {where}: capturing{f' ({bpf})' if bpf else ''}, Ctrl-C to stop",
              file=sys.stderr, flush=True)
    return say


def capture_counts(loader: CaptureLoader) -> None:
    """tcpdump's counts after a sniff, on stderr: packets captured and what the kernel dropped;
    and, for any live source whose bounded history dropped frames, what it kept."""
    history = loader.session.history
    if history is not None and history.dropped:
        print(f"h2inspect: {loader.path}: {history.summary(loader.session)}", file=sys.stderr)
    stats, sniffer = loader.stats, loader.sniffer
    if sniffer is None:
        return
    if stats is None:
        print(f"h2inspect: {sniffer.iface}: tcpdump gave no counts; kernel drops unknown", file=sys.stderr)
        return
    print(f"h2inspect: {sniffer.iface}: {stats.captured} packets captured, {stats.received} received by the "
          f"filter, {stats.dropped} dropped by the kernel", file=sys.stderr)
