"""Stated memory limits (issue 19): the HPACK observer's tables and header lists,
raw protobuf decoding, gRPC decompression. Each hostile input is small and
built by tests/memkit.py; each test asserts on the sentence that names the limit."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import hpack
import memkit
from clikit import h2inspect_here

from inspector.capture.load import CaptureLoader
from inspector.http2 import hpack_decoder as H
from inspector.http2.hpack_decoder import HpackContext
from inspector.model import Direction
from inspector.rpc.messages import MAX_MESSAGE, MiB, decompress, split_messages
from inspector.rpc.protobuf_wire import LINE_LIMIT, NESTING_LIMIT, format_raw

REQUEST = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "example")]


h2inspect = h2inspect_here  # the CLI's main, here: the checks are on what it says


# ---- HPACK: live states, not the history -------------------------------------------


def test_states_stay_bounded_after_ten_thousand_blocks_with_unique_values():
    encoder = hpack.Encoder()
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    for n in range(10_000):
        decoded = ctx.decode(state, encoder.encode(REQUEST + [("x-request-id", f"id-{n}")]), 4096)
        assert decoded.error is None and decoded.headers[-1] == ("x-request-id", f"id-{n}")
        state = decoded.state_id
    assert ctx.held_states == 1
    assert len(ctx.states) <= H.UNHELD_STATES_KEPT + 2  # the pinned initial state and the held one
    assert len(ctx.cache) <= H.UNHELD_STATES_KEPT + 2  # entries from a freed state go with it


def test_a_block_that_changes_the_table_is_never_clean():
    """The decoder applies clean blocks from the cache without calling decode(): a block that
    moves a side to another table must go through decode(), or the move would not be seen."""
    encoder = hpack.Encoder()
    ctx = HpackContext()
    start = ctx.initial_state(partial=False)
    inserting = ctx.decode(start, encoder.encode(REQUEST + [("x-a", "1")]), 4096)
    assert inserting.state_id != start and not inserting.clean
    repeating = ctx.decode(inserting.state_id, encoder.encode(REQUEST + [("x-a", "1")]), 4096)
    assert repeating.state_id == inserting.state_id and repeating.clean


def test_connections_on_the_same_path_share_states_and_decodes():
    encoder_a, encoder_b = hpack.Encoder(), hpack.Encoder()
    ctx = HpackContext()
    a = b = ctx.initial_state(partial=False)
    for n in range(5):
        headers = REQUEST + [("x-step", str(n))]
        block_a, block_b = encoder_a.encode(headers), encoder_b.encode(headers)
        assert block_a == block_b
        first, second = ctx.decode(a, block_a, 4096), ctx.decode(b, block_b, 4096)
        assert second is first  # decoded once
        a, b = first.state_id, second.state_id


def test_a_released_state_is_freed_once_no_side_holds_it():
    encoder = hpack.Encoder()
    ctx = HpackContext()
    state = ctx.decode(ctx.initial_state(partial=False), encoder.encode(REQUEST + [("x-a", "1")]), 4096).state_id
    ctx.release(state)
    assert ctx.held_states == 0 and state in ctx.states  # kept a while for a connection on the same path
    for n in range(H.UNHELD_STATES_KEPT):  # as many other released states push it out of the budget
        other = ctx.decode(ctx.initial_state(partial=False), hpack.Encoder().encode([("x-n", str(n))]), 4096)
        ctx.release(other.state_id)
    assert state not in ctx.states
    late = ctx.decode(state, encoder.encode(REQUEST), 4096)  # a caller that broke the rule: no crash
    assert late.error and "no longer kept" in late.error


def test_the_table_never_holds_more_than_the_stated_limit():
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    fill = 2 * H.TABLE_SIZE_LIMIT // 50
    first = None
    for n in range(fill):
        block = (memkit.size_update(2**32 - 1) if n == 0 else b"") + memkit.literal_indexed(
            f"x-fill-{n}".encode(), f"value-{n:08d}".encode())
        decoded = ctx.decode(state, block, 2**32 - 1)
        first = first or decoded
        state = decoded.state_id
        assert ctx.states[state].size <= H.TABLE_SIZE_LIMIT
    assert first.error and f"past this tool's limit of {H.TABLE_SIZE_LIMIT} bytes (TABLE_SIZE_LIMIT)" in first.error
    table = ctx.states[state]
    assert table.partial and len(table.entries) < fill
    # the newest entry is still known; one the observer dropped is unknown, not an error
    newest = ctx.decode(state, memkit.indexed(62), 2**32 - 1)
    assert newest.headers == ((f"x-fill-{fill - 1}", f"value-{fill - 1:08d}"),)
    dropped = 62 + fill - 1
    oldest = ctx.decode(state, memkit.indexed(dropped), 2**32 - 1)
    assert oldest.error is None and oldest.unknown_refs == (dropped,)


def test_a_table_within_the_settings_limit_is_not_cut():
    ctx = HpackContext()
    state = ctx.initial_state(partial=False)
    for n in range(200):
        state = ctx.decode(state, memkit.literal_indexed(b"x-n", str(n).encode()), 4096).state_id
    table = ctx.states[state]
    assert not table.partial and 4096 - 40 < table.size <= 4096  # full to the peer's size, not past it


def test_an_hpack_bomb_is_kept_up_to_the_header_list_limit_and_counted():
    """One 4 KiB entry referenced 100,000 times: 400 MB of header list from a 300 KB block."""
    ctx = HpackContext()
    state = ctx.decode(ctx.initial_state(partial=False), memkit.literal_indexed(b"x-big", b"v" * 4000),
                       4096).state_id
    block = memkit.indexed(62) * 100_000 + memkit.literal_indexed(b"x-after", b"still-in-the-table")
    decoded = ctx.decode(state, block, 4096)
    kept = H.HEADER_LIST_LIMIT // (5 + 4000 + 32)
    assert len(decoded.headers) == kept
    assert decoded.error == (f"the header list is past this tool's limit of {H.HEADER_LIST_LIMIT} bytes "
                             f"(HEADER_LIST_LIMIT): {kept} fields kept, {100_001 - kept} more "
                             f"({(100_000 - kept) * 4037 + 7 + 18 + 32} bytes) decoded for the table but not kept")
    # what the block inserted past the limit is in the table: the next block refers to it
    after = ctx.decode(decoded.state_id, memkit.indexed(62), 4096)
    assert after.headers == (("x-after", "still-in-the-table"),) and after.error is None


def test_references_to_one_entry_share_one_decoded_pair():
    ctx = HpackContext()
    state = ctx.decode(ctx.initial_state(partial=False), memkit.literal_indexed(b"x-a", b"1"), 4096).state_id
    decoded = ctx.decode(state, memkit.indexed(62) * 3, 4096)
    assert decoded.headers[0] is decoded.headers[1] is decoded.headers[2]


def test_a_flood_of_table_size_updates_is_listed_up_to_the_limit():
    ctx = HpackContext()
    decoded = ctx.decode(ctx.initial_state(partial=False), memkit.size_update(100) * 1000 + b"\x82", 4096)
    assert len(decoded.size_updates) == H.SIZE_UPDATES_KEPT
    assert decoded.error == f"{1000 - H.SIZE_UPDATES_KEPT} more table size updates than the 16 listed"
    assert decoded.headers == ((":method", "GET"),)


def test_a_capture_filling_a_huge_table_says_so_and_decodes(tmp_path):
    path = memkit.write_pcap(str(tmp_path / "fill.pcap"), memkit.table_filled(3000))
    run = h2inspect("dump", path, "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    assert "internal error" not in run.stderr
    assert "(TABLE_SIZE_LIMIT)" in run.stderr
    frames = [json.loads(line) for line in run.stdout.splitlines()]
    requests = [f["headers"] for f in frames if f.get("role") == "request"]
    assert len(requests) == 3000 and requests[-1][-1] == ["x-fill-2999", "value-00002999"]


def test_unique_request_ids_decode_while_old_tables_are_freed(tmp_path):
    path = memkit.write_pcap(str(tmp_path / "ids.pcap"), memkit.calls_with_request_ids(3000, unique=True))
    loader = CaptureLoader(path)
    session = loader.load()
    ids = [dict(h).get("x-request-id") for h in session.header_blocks.headers]
    requests = [i for i in ids if i is not None]
    assert len(requests) == 3000 and len(set(requests)) == 3000
    assert requests[-1].startswith(f"{2999:08x}-")
    hpack_context = loader.builder.hpack
    assert len(hpack_context.states) <= H.UNHELD_STATES_KEPT + 4


# ---- raw protobuf: iterative, no copies, a depth limit --------------------------


def test_protobuf_nested_2000_deep_is_shown_to_the_limit_then_raw():
    lines = format_raw(memkit.nested_protobuf(2000, b"\x00core"))
    opened = [line for line in lines if line.endswith("{")]
    assert len(opened) == NESTING_LIMIT
    raw = lines[NESTING_LIMIT]
    assert raw.startswith("  " * NESTING_LIMIT + "1: <")
    assert raw.endswith(f"(nested deeper than {NESTING_LIMIT} levels, NESTING_LIMIT: shown raw)")
    assert lines[-1] == "}" and len(lines) == 2 * NESTING_LIMIT + 1


def test_nested_messages_are_not_copied_level_by_level():
    """900 levels around 1 MiB: the old decoder held a copy of the rest at every level (900 MiB)."""
    data = memkit.nested_protobuf(900, bytes(range(256)) * 4096)
    tracemalloc.start()
    try:
        format_raw(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * len(data)  # one transient decode of the field, not one per level


def test_one_message_gives_at_most_the_line_limit():
    data = b"\x08\x01" * (LINE_LIMIT + 500)  # field 1 = 1, again and again
    lines = format_raw(data)
    assert len(lines) == LINE_LIMIT + 1
    assert lines[-1] == (f"... (output stops at {LINE_LIMIT} lines, LINE_LIMIT: the last 1000 bytes "
                         "of the message are not shown)")


def test_raw_format_of_an_ordinary_message_is_unchanged():
    inner = b"\x0a\x05hello\x10\x96\x01"
    data = (b"\x0a" + bytes([len(inner)]) + inner + b"\x12\x03\xff\x00\x01" + b"\x1d\x00\x00\x80\x3f"
            + b"\x21" + (7).to_bytes(8, "little") + b"\x2a" + bytes([90]) + b"y" * 90)
    assert format_raw(data, "  ") == [
        "  1 {", "    1: 'hello'", "    2: 150", "  }", "  2: <3 bytes> ff0001", "  3: 1065353216 (i32, float 1)",
        "  4: 7 (i64)", "  5: '" + "y" * 77 + "...'"]
    assert format_raw(b"\x00\x01") == ["(not protobuf: field number 0) 0001"]


def test_rpcs_shows_a_2000_deep_message(tmp_path):
    message = memkit.grpc_message(memkit.nested_protobuf(2000, b"\x00" * 100))
    path = memkit.write_pcap(str(tmp_path / "deep.pcap"), memkit.grpc_call(message))
    run = h2inspect("rpcs", path, "-v")
    assert run.returncode == 0, run.stderr
    assert "Error" not in run.stderr and "internal error" not in run.stderr
    assert "NESTING_LIMIT: shown raw" in run.stdout


# ---- gRPC decompression: stops at --max-message ---------------------------------


def test_a_gzip_bomb_stops_at_the_default_limit():
    bomb = memkit.gzip_bomb(MAX_MESSAGE + 1)
    data, problem = decompress(bomb, True, "gzip")
    assert data is None
    assert problem == f"gzip message of {len(bomb)} bytes inflates past the 64 MiB limit (--max-message)"


def test_a_bomb_costs_a_chunk_of_memory_not_what_it_inflates_to():
    bomb = memkit.gzip_bomb(64 * MiB)
    tracemalloc.start()
    try:
        data, problem = decompress(bomb, True, "gzip", max_message=16 * MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data is None and "inflates past the 16 MiB limit (--max-message)" in problem
    assert peak < 4 * MiB


def test_a_message_up_to_the_limit_inflates_whole():
    body = bytes(range(256)) * 4096  # 1 MiB
    for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                             ("deflate", zlib.compress(body)[2:-4])):  # raw deflate too
        assert decompress(packed, True, encoding, max_message=MiB) == (body, None)
        data, problem = decompress(packed, True, encoding, max_message=MiB - 1)
        assert data is None and f"inflates past the {MiB - 1} bytes limit" in problem


def test_split_messages_reports_the_limit_on_the_message_and_goes_on():
    bomb = memkit.grpc_message(memkit.gzip_bomb(2 * MiB), compressed=True)
    small = memkit.grpc_message(gzip.compress(b"fine"), compressed=True)
    first, second = split_messages(Direction.CLIENT, [(7, bomb + small)], "gzip", max_message=MiB)
    assert first.data is None and "inflates past the 1 MiB limit (--max-message)" in first.problem
    assert second.data == b"fine" and second.problem is None


def test_rpcs_names_the_limit_for_a_gzip_bomb(tmp_path):
    message = memkit.grpc_message(memkit.gzip_bomb(MAX_MESSAGE + MiB), compressed=True)
    path = memkit.write_pcap(str(tmp_path / "bomb.pcap"), memkit.grpc_call(message, encoding="gzip"))
    run = h2inspect("rpcs", path, "-v")
    assert run.returncode == 0, run.stderr
    assert "inflates past the 64 MiB limit (--max-message)" in run.stdout


def test_a_block_of_twenty_thousand_continuations_is_kept_to_the_limit(tmp_path):
    path = memkit.write_pcap(str(tmp_path / "flood.pcap"), memkit.continuation_flood(20_000))
    run = h2inspect("dump", path, "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    assert "(HEADER_LIST_LIMIT)" in run.stderr and "internal error" not in run.stderr
    request = next(json.loads(line) for line in run.stdout.splitlines() if '"role":"request"' in line)
    opening = (7 + 3 + 32) + (7 + 4 + 32) + (5 + 1 + 32)  # :method GET, :scheme http, :path / in HEADERS
    assert len(request["headers"]) == 3 + (H.HEADER_LIST_LIMIT - opening) // (7 + 3 + 32)
