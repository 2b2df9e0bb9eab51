"""HPACK decoding for an observer (RFC 7541), built on the hpack library's
static table and Huffman code.

A participant's decoder may give up on an unknown index; an observer must not.
When a capture starts mid-connection the dynamic table already holds entries
it never saw: a reference to one decodes as `<unknown dynamic entry N>` and
decoding goes on. Insertions seen later are known again.

The dynamic table is explicit, immutable state (`TableState`). States are
interned to small integers and blocks are decoded once per (state, block):
real traffic repeats the same blocks against the same table over and over,
so most header blocks of a large capture cost one dict lookup.
"""

from __future__ import annotations

from typing import NamedTuple

from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = HeaderTable.STATIC_TABLE
STATIC_COUNT = len(STATIC_TABLE)
ENTRY_OVERHEAD = 32
DEFAULT_TABLE_SIZE = 4096

Header = tuple[str, str]


class HpackError(ValueError):
    """A field block that cannot be decoded; `offset` is where in the block."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset} of the field block")
        self.offset = offset


class TableState(NamedTuple):
    """One dynamic table: entries newest first, its size and limits.

    `partial` means entries older than the known ones may exist (the capture
    began mid-connection, or bytes were lost), so indexes past the known
    entries are unknown rather than errors.
    """

    entries: tuple[tuple[bytes, bytes], ...]
    size: int
    max_size: int
    partial: bool


class DecodedBlock(NamedTuple):
    """The result of decoding one field block."""

    headers: tuple[Header, ...]
    state_id: int
    unknown_refs: tuple[int, ...]  # dynamic-table indexes that were unknown
    size_updates: tuple[int, ...]  # dynamic table size updates at its start
    error: str | None
    clean: bool  # no error and no unknown references: nothing to report


def _text(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def _integer(data: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    """Decode an HPACK integer (RFC 7541 section 5.1) starting at data[pos]."""
    mask = (1 << prefix_bits) - 1
    value = data[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while True:
        if pos >= len(data):
            raise HpackError("integer runs past the end", pos)
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
        if shift > 28:
            raise HpackError("integer too large", pos)


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos >= len(data):
        raise HpackError("string expected", pos)
    huffman = data[pos] & 0x80
    length, pos = _integer(data, pos, 7)
    end = pos + length
    if end > len(data):
        raise HpackError(f"string of {length} bytes runs past the end", pos)
    raw = data[pos:end]
    if huffman:
        try:
            raw = decode_huffman(raw)
        except Exception as exc:  # hpack raises its own HPACKDecodingError
            raise HpackError(f"bad Huffman string ({exc})", pos) from None
    return raw, end


def _evict(entries: list[tuple[bytes, bytes]], size: int, limit: int) -> int:
    while size > limit and entries:
        name, value = entries.pop()
        size -= len(name) + len(value) + ENTRY_OVERHEAD
    return size


class HpackContext:
    """Interned table states and the decode cache, shared by every decoder of a session."""

    def __init__(self, cache_limit: int = 200_000) -> None:
        self.states: list[TableState] = []
        self._state_ids: dict[TableState, int] = {}
        self.cache: dict[tuple[int, bytes], DecodedBlock] = {}  # the decoder reads it directly
        self.cache_limit = cache_limit

    def intern(self, state: TableState) -> int:
        """The id of a table state, allocating one for a state not seen before."""
        sid = self._state_ids.get(state)
        if sid is None:
            sid = self._state_ids[state] = len(self.states)
            self.states.append(state)
        return sid

    def initial_state(self, *, partial: bool) -> int:
        """An empty table: complete when the connection was seen from its start."""
        return self.intern(TableState((), 0, DEFAULT_TABLE_SIZE, partial))

    def decode(self, state_id: int, block: bytes, max_allowed: int) -> DecodedBlock:
        """Decode `block` against table `state_id`; `max_allowed` is the decoder's SETTINGS limit."""
        key = (state_id, block)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        result = self._decode(self.states[state_id], block, max_allowed)
        if len(self.cache) >= self.cache_limit:
            self.cache.clear()
        self.cache[key] = result
        return result

    def lose_sync(self, state_id: int) -> int:
        """After lost bytes the table may hold entries we never saw: mark it partial."""
        state = self.states[state_id]
        return self.intern(TableState((), 0, state.max_size, True)) if state.entries or not state.partial \
            else state_id

    def _decode(self, state: TableState, data: bytes, max_allowed: int) -> DecodedBlock:
        entries = list(state.entries)
        size, max_size, partial = state.size, state.max_size, state.partial
        headers: list[Header] = []
        unknown: list[int] = []
        updates: list[int] = []
        error: str | None = None
        pos, n = 0, len(data)

        def lookup(index: int) -> tuple[bytes, bytes] | None:
            if index == 0:
                raise HpackError("index 0 is not allowed", pos)
            if index <= STATIC_COUNT:
                return STATIC_TABLE[index - 1]
            dyn = index - STATIC_COUNT - 1
            if dyn < len(entries):
                return entries[dyn]
            if partial:
                unknown.append(index)
                return None
            raise HpackError(f"index {index} is past the end of the dynamic table", pos)

        try:
            while pos < n:
                byte = data[pos]
                if byte & 0x80:  # indexed field
                    index, pos = _integer(data, pos, 7)
                    entry = lookup(index)
                    if entry is None:
                        headers.append((f"<unknown dynamic entry {index}>", "<unknown>"))
                    else:
                        headers.append((_text(entry[0]), _text(entry[1])))
                    continue
                if byte & 0xE0 == 0x20:  # dynamic table size update
                    new_size, pos = _integer(data, pos, 5)
                    if headers:
                        raise HpackError("table size update after a field", pos)
                    if new_size > max_allowed:
                        raise HpackError(f"table size update to {new_size} exceeds the "
                                         f"SETTINGS_HEADER_TABLE_SIZE of {max_allowed}", pos)
                    max_size = new_size
                    size = _evict(entries, size, max_size)
                    updates.append(new_size)
                    continue
                incremental = byte & 0xC0 == 0x40
                index, pos = _integer(data, pos, 6 if incremental else 4)
                if index:
                    entry = lookup(index)
                    raw_name = entry[0] if entry is not None else None
                else:
                    raw_name, pos = _string(data, pos)
                raw_value, pos = _string(data, pos)
                name = _text(raw_name) if raw_name is not None else f"<unknown dynamic entry {index}>"
                headers.append((name, _text(raw_value)))
                if incremental:
                    if raw_name is None:
                        # Inserting an entry whose name we do not know: the table
                        # is still usable past it, but that entry's name is lost.
                        raw_name = name.encode()
                    entry_size = len(raw_name) + len(raw_value) + ENTRY_OVERHEAD
                    entries.insert(0, (raw_name, raw_value))
                    size = _evict(entries, size + entry_size, max_size)
        except HpackError as exc:
            error = str(exc)
            partial = True  # whatever the block would have inserted is lost
        new_state = TableState(tuple(entries), size, max_size, partial)
        return DecodedBlock(tuple(headers), self.intern(new_state), tuple(unknown), tuple(updates), error,
                            error is None and not unknown)
