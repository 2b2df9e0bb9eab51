"""How each header field was written on the wire (RFC 7541 §6), kept with every header block:
checked against the hpack library's own decoder on real captures, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hpack.hpack import Decoder, decode_integer
from hpack.struct import NeverIndexedHeaderTuple

from inspector.capture.load import CaptureLoader
from inspector.http2.hpack_decoder import STATIC_COUNT, FieldKind, HpackContext, unpack_representations
from inspector.views.hpack import DynamicTables, block_bytes, block_fields, representations, why_this_long

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
# captures seen from their first byte, by curl, nghttp, h2load and grpcio: Huffman and not,
# static and dynamic indexes, all three literal kinds between them
FROM_THE_START = ["curl-h2c-prior-knowledge.pcap", "curl-h2c-upgrade.pcap", "nghttp-server-push.pcap",
                  "h2load-three-connections.pcap", "grpc-unary.pcap", "grpc-errors.pcap", "grpc-concurrent.pcap",
                  "grpc-gzip.pcap"]


def hpack_library_view(decoder: Decoder, block: bytes) -> list[tuple[str, int, int, tuple[str, str] | None,
                                                                     bool, bool]]:
    """Step the hpack library's decoder through a block one representation at a time:
    (kind, start, end, header, name Huffman, value Huffman) for each, from its own parsing."""
    out = []
    pos = 0
    data = memoryview(block)
    while pos < len(block):
        first = block[pos]
        name_huffman = value_huffman = False
        if first & 0x80:
            header, consumed = decoder._decode_indexed(data[pos:])
            kind = "indexed"
        elif first & 0x40:
            header, consumed = decoder._decode_literal_index(data[pos:])
            kind = "incremental"
        elif first & 0x20:
            consumed = decoder._update_encoding_context(data[pos:])
            out.append(("size_update", pos, pos + consumed, None, False, False))
            pos += consumed
            continue
        else:
            header, consumed = decoder._decode_literal_no_index(data[pos:])
            kind = "never" if isinstance(header, NeverIndexedHeaderTuple) else "without"
        if kind != "indexed":
            index, used = decode_integer(data[pos:], 6 if kind == "incremental" else 4)
            at = pos + used
            if not index:  # a literal name, then the value
                name_huffman = bool(block[at] & 0x80)
                length, used = decode_integer(data[at:], 7)
                at += used + length
            value_huffman = bool(block[at] & 0x80)
        name, value = header
        text = (name.decode(), value.decode()) if isinstance(name, bytes) else (name, value)
        out.append((kind, pos, pos + consumed, text, name_huffman, value_huffman))
        pos += consumed
    return out


KIND = {FieldKind.INDEXED: "indexed", FieldKind.INCREMENTAL: "incremental", FieldKind.WITHOUT_INDEXING: "without",
        FieldKind.NEVER_INDEXED: "never", FieldKind.SIZE_UPDATE: "size_update"}


@pytest.mark.parametrize("name", FROM_THE_START)
def test_every_representation_matches_the_hpack_library(name):
    session = CaptureLoader(str(CAPTURES / name)).load()
    decoders: dict[tuple[int, int], Decoder] = {}
    seen_kinds: set[str] = set()
    huffman = 0
    blocks = session.header_blocks
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        if block.frame < 0:  # the HTTP/1.1 request of an h2c Upgrade: no HPACK
            continue
        raw = block_bytes(session, i)
        decoder = decoders.setdefault((block.conn_index, int(block.direction)), Decoder())
        theirs = hpack_library_view(decoder, raw)
        ours = [(KIND[r.kind], r.start, r.end, None if r.kind is FieldKind.SIZE_UPDATE else h, r.name_huffman,
                 r.value_huffman)
                for r, h in zip(representations(block), _headers_with_gaps(block), strict=True)]
        assert ours == theirs, f"block {i} of {name}"
        seen_kinds.update(kind for kind, *_ in ours)
        huffman += sum(1 for *_, nh, vh in ours if nh or vh)
        for r in representations(block):  # the index a field names: static or dynamic, as RFC 7541 §2.3.3 counts
            if r.kind is FieldKind.INDEXED:
                assert r.table == ("static" if r.index <= STATIC_COUNT else "dynamic")
    assert "indexed" in seen_kinds
    if name.startswith(("curl", "nghttp", "h2load")):
        assert huffman, "these clients Huffman-code their strings"


def _headers_with_gaps(block):
    """The block's headers lined up with its representations (a size update gives no header)."""
    headers = iter(block.headers)
    return [None if r.kind is FieldKind.SIZE_UPDATE else next(headers) for r in representations(block)]


def test_identical_blocks_share_one_representation_list():
    session = CaptureLoader(str(CAPTURES / "grpc-concurrent.pcap")).load()
    blocks = session.header_blocks
    packed = {}
    for i in range(len(blocks)):
        key = (bytes(blocks.representations[i]), blocks.headers[i])
        packed.setdefault(key, []).append(blocks.representations[i])
    shared = [objs for objs in packed.values() if len(objs) > 1]
    assert shared and all(all(o is objs[0] for o in objs) for objs in shared)


def test_the_dynamic_table_after_a_block_is_replayed_from_the_representations():
    """grpcio's second unary request is eight one-byte references to the entries the first added."""
    session = CaptureLoader(str(CAPTURES / "grpc-concurrent.pcap")).load()
    blocks = session.header_blocks
    requests = [i for i, b in enumerate(blocks) if b.role.label == "request"]
    tables = DynamicTables(session)
    first = tables.after(requests[0])
    assert [e.name for e in first.entries][-2:] == [":authority", ":path"]  # oldest last: inserted first
    assert first.size == sum(e.size for e in first.entries) and first.max_size == 4096
    assert [h for h in first.inserted] == [h for r, h in zip(representations(blocks[requests[0]]),
                                                            blocks[requests[0]].headers, strict=True)
                                           if r.kind is FieldKind.INCREMENTAL]
    later = requests[-1]
    fields = block_fields(session, later)
    assert all(f.representation.kind is FieldKind.INDEXED for f in fields if f.header and f.header[0] != ":path")
    assert len(block_bytes(session, later)) < len(block_bytes(session, requests[0]))
    assert why_this_long(session, later).startswith("Why it shrank to ")
    # the same table, asked for out of order
    assert DynamicTables(session).after(requests[0]) == first


def test_eviction_is_replayed_oldest_first_and_a_continuation_block_is_joined():
    """A 100-byte table (a size update), two 60-byte entries: the second pushes the first out
    (RFC 7541 §4.4). The second block comes in HEADERS + CONTINUATION."""
    from decoderkit import PREFACE, DecoderWire
    from hyperframe.frame import ContinuationFrame, HeadersFrame, SettingsFrame

    def literal(name: bytes, value: bytes) -> bytes:
        return bytes([0x40, len(name)]) + name + bytes([len(value)]) + value

    wire = DecoderWire()
    first = bytes([0x3F, 0x45]) + literal(b"x-one", b"a" * 23)  # size update to 100, then 5+23+32 = 60 B
    second = literal(b"x-two", b"b" * 23)
    wire.client(PREFACE, SettingsFrame(0), HeadersFrame(1, first, flags=["END_HEADERS", "END_STREAM"]))
    wire.client(HeadersFrame(3, second[:4], flags=["END_STREAM"]), ContinuationFrame(3, second[4:],
                                                                                     flags=["END_HEADERS"]))
    session = wire.session
    tables = DynamicTables(session)
    one, two = tables.after(0), tables.after(1)
    assert [(e.index, e.name, e.size) for e in one.entries] == [(62, "x-one", 60)] and one.max_size == 100
    assert [(e.index, e.name) for e in two.entries] == [(62, "x-two")]
    assert [e.name for e in two.evicted] == ["x-one"] and two.inserted == (("x-two", "b" * 23),)
    assert block_bytes(session, 1) == second
    assert [f.raw for f in block_fields(session, 1)] == [second]


def test_a_size_update_is_a_representation_of_its_own():
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    block = bytes([0x3F, 0xE1, 0x1F]) + bytes([0x82])  # size update to 4096, then :method GET
    decoded = ctx.decode(state, block, 4096)
    reps = unpack_representations(decoded.representations)
    assert [(r.kind, r.index, r.start, r.end) for r in reps] == [(FieldKind.SIZE_UPDATE, 4096, 0, 3),
                                                                 (FieldKind.INDEXED, 2, 3, 4)]
    assert decoded.headers == ((":method", "GET"),)


def test_fields_past_the_header_list_limit_are_not_listed():
    from inspector.http2 import hpack_decoder as H

    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    entry = bytes([0x40, 0x01]) + b"x" + bytes([0x7F, 0x81, 0x1F]) + b"v" * 4000  # one 4 KiB entry
    decoded = ctx.decode(state, entry + bytes([0xBE]) * 100_000, 1 << 20)
    assert len(unpack_representations(decoded.representations)) == len(decoded.headers)
    assert len(decoded.representations) <= 16 * (H.HEADER_LIST_LIMIT // 32 + 1)


def test_never_indexed_and_huffman_literals_from_the_hpack_encoder():
    """No shipped capture has a never-indexed field: the hpack library's encoder writes one."""
    from hpack import Encoder

    headers = [(":method", "GET"), ("x-plain", "hello"), NeverIndexedHeaderTuple("authorization", "secret"),
               ("x-plain", "hello")]
    for huffman in (True, False):
        block = Encoder().encode(headers, huffman=huffman)
        ctx = HpackContext()
        decoded = ctx.decode(ctx.initial_state(partial=False), block, 4096)
        theirs = hpack_library_view(Decoder(), block)
        ours = [(KIND[r.kind], r.start, r.end, h, r.name_huffman, r.value_huffman)
                for r, h in zip(unpack_representations(decoded.representations), decoded.headers,
                                    strict=True)]
        assert ours == theirs
        assert [kind for kind, *_ in ours] == ["indexed", "incremental", "never", "indexed"]
        assert any(nh or vh for *_, nh, vh in ours) is huffman
