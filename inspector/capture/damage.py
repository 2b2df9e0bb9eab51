"""What the capture layer could not read, said once per kind of damage.

A snaplen of 96 cuts every packet of a capture; one warning per packet would
bury everything else. So each place that meets damage calls `note`, and at
the end `findings` gives one warning per kind (and connection, and
direction): the packet when there is one, else how many, the first and the
last, and how many bytes were lost. Every message is made here, by one small
function per kind, next to the `capture.*` rule id it will carry once
findings have stable ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector.model import Finding, Severity

# Rule ids (DESIGN.md: `capture.*` is what the source could not read); each is in
# inspector/findings/rules.py with its explanation.
SNAPLEN = "capture.snaplen-cut"
IP_FRAGMENT = "capture.ip-fragment"
TCP_SEQUENCE = "capture.tcp-impossible-sequence"
TCP_ACK = "capture.tcp-impossible-ack"
TCP_CONTENT = "capture.tcp-retransmission-differs"
TCP_ACKED_UNSEEN = "capture.tcp-acked-unseen"
LINKTYPE_MISMATCH = "capture.linktype-mismatch"
LINKTYPE_UNSUPPORTED = "capture.linktype-unsupported"
MALFORMED_IP = "capture.malformed-ip"
CUT_SHORT = "capture.cut-short"


@dataclass(slots=True)
class DamageTally:
    """Every occurrence of one kind of damage at one place: how many, where, how many bytes."""

    rule: str
    conn_index: int | None
    detail: str  # what the message needs besides the counts (a direction, a link type...)
    count: int = 0
    first_packet: int = 0
    last_packet: int = 0
    lost: int = 0  # bytes
    example: str = ""  # the first occurrence, said in full


def _who(t: DamageTally) -> str:
    """Nothing for one packet (the finding names it), else '12 packets (7 to 90): '."""
    return "" if t.count == 1 else f"{t.count} packets ({t.first_packet} to {t.last_packet}): "


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"


def _first(t: DamageTally) -> str:
    return t.example if t.count == 1 else f"the first: {t.example}"


# One function per rule: the sentence a reader gets.

def _snaplen(t: DamageTally) -> str:  # capture.snaplen-cut
    return (f"{_who(t)}cut by the capture's snap length, {_bytes(t.lost)} never saved ({_first(t)}); "
            "what they carried is a hole in the stream")


def _ip_fragment(t: DamageTally) -> str:  # capture.ip-fragment
    return (f"{_who(t)}{t.detail} fragments of TCP that never made a whole datagram, {_bytes(t.lost)} "
            f"({_first(t)}): skipped")


def _tcp_sequence(t: DamageTally) -> str:  # capture.tcp-impossible-sequence
    return (f"{_who(t)}{_bytes(t.lost)} from {t.detail} at sequence numbers that cannot be placed in its "
            f"stream ({_first(t)}); skipped")


def _tcp_ack(t: DamageTally) -> str:  # capture.tcp-impossible-ack
    return (f"{_who(t)}{t.detail} acknowledges bytes the other side could not have sent "
            f"({_first(t)}); ignored")


def _tcp_acked_unseen(t: DamageTally) -> str:  # capture.tcp-acked-unseen
    return (f"{t.detail} acknowledged {_bytes(t.lost)} from its peer that the capture does not hold "
            f"({_first(t)}): packets were lost before they were saved, or their sequence numbers are wrong")


def _tcp_content(t: DamageTally) -> str:  # capture.tcp-retransmission-differs
    return (f"{_who(t)}{t.detail} resends sequence numbers already seen, with other bytes "
            f"({_first(t)}): the sequence numbers are wrong; {_bytes(t.lost)} skipped")


def _linktype_mismatch(t: DamageTally) -> str:  # capture.linktype-mismatch
    return (f"none of the {t.count} packets of link type {t.detail} holds IPv4 or IPv6 where that link "
            f"type puts it (the first is packet {t.first_packet}): the file's link type is probably "
            "wrong, and nothing in them was decoded")


def _linktype_unsupported(t: DamageTally) -> str:  # capture.linktype-unsupported
    return (f"link type {t.detail} is not supported: {t.count} packet{'' if t.count == 1 else 's'} "
            f"skipped (the first is packet {t.first_packet})")


def _malformed_ip(t: DamageTally) -> str:  # capture.malformed-ip
    return f"{_who(t)}{t.detail} that does not parse ({_first(t)}); skipped"


def _cut_short(t: DamageTally) -> str:  # capture.cut-short
    return f"the capture is {t.detail}"


_MESSAGES: dict[str, Callable[[DamageTally], str]] = {
    SNAPLEN: _snaplen, IP_FRAGMENT: _ip_fragment, TCP_SEQUENCE: _tcp_sequence, TCP_ACK: _tcp_ack,
    TCP_CONTENT: _tcp_content, TCP_ACKED_UNSEEN: _tcp_acked_unseen, LINKTYPE_MISMATCH: _linktype_mismatch,
    LINKTYPE_UNSUPPORTED: _linktype_unsupported, MALFORMED_IP: _malformed_ip, CUT_SHORT: _cut_short,
}


class CaptureDamage:
    """Collects damage as packets are read; `findings()` says it, one warning per kind and place."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, int | None, str], DamageTally] = {}

    def note(self, rule: str, packet: int, lost: int = 0, *, conn_index: int | None = None, detail: str = "",
             example: str = "", count: int = 1) -> None:
        """`count` occurrences of `rule` from `packet` on, losing `lost` bytes; `example` says the first."""
        key = (rule, conn_index, detail)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = DamageTally(rule, conn_index, detail, first_packet=packet, example=example)
        tally.count += count
        tally.last_packet = packet
        tally.lost += lost

    def __bool__(self) -> bool:
        return bool(self._tallies)

    def rules(self) -> set[str]:
        """The kinds of damage seen so far."""
        return {rule for rule, _, _ in self._tallies}

    def findings(self) -> list[Finding]:
        """One warning per kind of damage and place, in the order each was first met."""
        return [Finding(Severity.WARNING, _MESSAGES[t.rule](t), conn_index=t.conn_index, packet=t.first_packet or None,
                        rule=t.rule, count=t.count, last_packet=t.last_packet or None)
                for t in self._tallies.values()]
