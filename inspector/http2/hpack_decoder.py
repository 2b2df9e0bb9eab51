"""HPACK decoding for an observer (RFC 7541), built on the hpack library's
static table and Huffman code.

A participant's decoder may give up on an unknown index; an observer must not.
When a capture starts mid-connection the dynamic table already holds entries
it never saw: a reference to one decodes as `<unknown dynamic entry N>` and
decoding goes on. Insertions seen later are known again.

The dynamic table is explicit, immutable state (`TableState`). States are
interned to small integers by content and blocks are decoded once per
(state, block): real traffic repeats the same blocks against the same table
over and over, so most header blocks of a large capture cost one dict lookup.

Memory follows the live tables, not the history. Each side of a connection
holds one state; `decode` and `lose_sync` move a side from one state to the
next, and a state no side holds any more is kept a little while (a later
connection often takes the same path) and then freed with its cache entries.
Only a block that leaves the table as it was may be applied from the cache
without calling `decode` (its `clean` flag), so every move is seen.

Each block also yields how every field was written on the wire, packed into
a small bytes object (`representations`, read back with
`unpack_representations`): its kind (indexed, literal with incremental
indexing, without indexing, never indexed, a table size update), the table
index it names, whether its name and value are Huffman-coded, and its byte
span in the block. Like the headers, it is decoded once per (state, block)
and shared by every identical block; equal lists are interned so blocks that
differ only in a value's text share one.

Stated limits, each reported in the block's `error` when hit:
TABLE_SIZE_LIMIT bytes of dynamic table are kept whatever SETTINGS allow,
HEADER_LIST_LIMIT bytes of decoded header list are kept per block (the rest is
still decoded, so the table stays right, and counted), and at most
SIZE_UPDATES_KEPT table size updates are listed per block.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from enum import IntEnum
from typing import NamedTuple

from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

STATIC_TABLE: tuple[tuple[bytes, bytes], ...] = HeaderTable.STATIC_TABLE
STATIC_COUNT = len(STATIC_TABLE)
ENTRY_OVERHEAD = 32
DEFAULT_TABLE_SIZE = 4096

# Browsers advertise 64 KiB and most encoders (nghttp2, Go, grpc) cap their own
# table at 4 KiB; a larger table is kept only up to this, its oldest entries
# dropped and shown as unknown.
TABLE_SIZE_LIMIT = 65_536
# Decoded header list kept per block, sized as SETTINGS_MAX_HEADER_LIST_SIZE
# counts it (name + value + 32 per field): four times the 64 KiB most servers
# accept, so one million CONTINUATIONs or an HPACK bomb cannot hold gigabytes.
HEADER_LIST_LIMIT = 262_144
SIZE_UPDATES_KEPT = 16  # RFC 7541 section 4.2 allows two at the start of a block
# States no side holds, kept for a later connection that takes the same path
# (h2load, a client reconnecting): at most this many, and this many entries in all.
UNHELD_STATES_KEPT = 1_024
UNHELD_ENTRIES_KEPT = 131_072

Header = tuple[str, str]
Entry = tuple[bytes, bytes, Header]  # raw name, raw value, and the decoded pair every reference shares

# A rolling hash of the entries, newest first: inserting or evicting one entry
# updates it in constant time, so interning a state never hashes the whole table.
_FP_MOD = (1 << 61) - 1
_FP_BASE = 1_000_003


class HpackError(ValueError):
    """A field block that cannot be decoded; `offset` is where in the block."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset} of the field block")
        self.offset = offset


class TableState(NamedTuple):
    """One dynamic table: entries newest first, its size and limits.

    `partial` means entries older than the known ones may exist (the capture
    began mid-connection, bytes were lost, or the table outgrew
    TABLE_SIZE_LIMIT), so indexes past the known entries are unknown rather
    than errors. `fingerprint` is the rolling hash of `entries`.
    """

    entries: tuple[Entry, ...]
    size: int
    max_size: int
    partial: bool
    fingerprint: int = 0


class FieldKind(IntEnum):
    """How a field (or a table size update) is represented on the wire (RFC 7541 section 6)."""

    INDEXED = 0  # 6.1: one index, name and value from a table
    INCREMENTAL = 1  # 6.2.1: literal, then added to the dynamic table
    WITHOUT_INDEXING = 2  # 6.2.2: literal, not added
    NEVER_INDEXED = 3  # 6.2.3: literal, never to be added by any intermediary
    SIZE_UPDATE = 4  # 6.3: dynamic table size update (not a field)


class FieldRepresentation(NamedTuple):
    """One representation in a field block, as it was on the wire."""

    kind: FieldKind
    # INDEXED: the table index; a literal: the index of its name (0: the name is a literal too);
    # SIZE_UPDATE: the new maximum size. Past 2**32 - 1 it is kept as 2**32 - 1.
    # mypy sees a field named `index` as overriding tuple.index (python/mypy#4507); it is the field we mean.
    index: int  # type: ignore[assignment]
    name_huffman: bool  # a literal name, Huffman-coded
    value_huffman: bool  # a literal value, Huffman-coded
    start: int  # its bytes in the block: block[start:end]
    end: int

    @property
    def table(self) -> str:
        """Which table the index names: "static", "dynamic", or "" (a literal name, a size update)."""
        if self.kind is FieldKind.SIZE_UPDATE or not self.index:
            return ""
        return "static" if self.index <= STATIC_COUNT else "dynamic"


REPRESENTATION_WORDS = 4  # unsigned 32-bit words per representation: kind|flags, index, start, end
_WORD_MAX = 0xFFFFFFFF
_NAME_HUFFMAN, _VALUE_HUFFMAN = 8, 16  # bits above the kind in the first word
_INDEXED, _INCREMENTAL, _WITHOUT, _NEVER, _SIZE_UPDATE = (int(kind) for kind in FieldKind)


def unpack_representations(packed: bytes) -> tuple[FieldRepresentation, ...]:
    """The representations of a block, from the packed form `DecodedBlock.representations` keeps."""
    words = array("I")
    words.frombytes(packed)
    return tuple(FieldRepresentation(FieldKind(words[i] & 7), words[i + 1], bool(words[i] & _NAME_HUFFMAN),
                                     bool(words[i] & _VALUE_HUFFMAN), words[i + 2], words[i + 3])
                 for i in range(0, len(words), REPRESENTATION_WORDS))


class DecodedBlock(NamedTuple):
    """The result of decoding one field block."""

    headers: tuple[Header, ...]
    state_id: int
    unknown_refs: tuple[int, ...]  # dynamic-table indexes that were unknown
    size_updates: tuple[int, ...]  # dynamic table size updates at its start
    error: str | None
    # Nothing to report and the table left as it was: a caller may apply this
    # block from `HpackContext.cache` without calling `decode`.
    clean: bool
    # How each kept field and listed size update was written (`unpack_representations`);
    # fields past HEADER_LIST_LIMIT, like their headers, are not listed.
    representations: bytes = b""
    # The whole header list's size (RFC 7541 §4.1), the fields past HEADER_LIST_LIMIT too:
    # what an HPACK bomb is measured by.
    list_size: int = 0


def _text(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


STATIC_HEADERS: tuple[Header, ...] = tuple((_text(name), _text(value)) for name, value in STATIC_TABLE)
STATIC_FIELD_SIZES: tuple[int, ...] = tuple(len(name) + len(value) + ENTRY_OVERHEAD for name, value in STATIC_TABLE)


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


def _entry_hash(entry: Entry) -> int:
    return hash(entry) % _FP_MOD


def _evict(entries: list[Entry], size: int, limit: int, fingerprint: int) -> tuple[int, int]:
    """Drop the oldest entries until `size` fits `limit`; (new size, new fingerprint)."""
    while size > limit and entries:
        entry = entries.pop()
        size -= len(entry[0]) + len(entry[1]) + ENTRY_OVERHEAD
        fingerprint = (fingerprint - _entry_hash(entry) * pow(_FP_BASE, len(entries), _FP_MOD)) % _FP_MOD
    return size, fingerprint


def _content_key(state: TableState) -> tuple[int, int, int, bool, int]:
    return state.fingerprint, state.size, state.max_size, state.partial, len(state.entries)


class HpackContext:
    """Interned table states and the decode cache, shared by every decoder of a session.

    Callers follow one rule: the id a side holds is the one `initial_state`,
    `decode` or `lose_sync` last gave it, and `decode` and `lose_sync` are
    called with the id the side holds (they move it). `release` lets go of an
    id for good (a connection that ended); never calling it only keeps memory.
    """

    def __init__(self, cache_limit: int = 200_000) -> None:
        self.states: dict[int, TableState] = {}
        self.cache: dict[tuple[int, bytes], DecodedBlock] = {}  # the decoder reads it directly
        self.cache_limit = cache_limit
        self._next_id = 0  # ids are never reused, so a stale cache entry can never name another table
        self._ids_by_content: dict[tuple[int, int, int, bool, int], int] = {}
        self._holders: dict[int, int] = {}  # state id -> sides holding it
        self._pinned: set[int] = set()  # the empty tables every connection starts from
        self._unheld: OrderedDict[int, None] = OrderedDict()  # held by no side, least recently first
        self._unheld_entries = 0
        self._keys_from: dict[int, list[tuple[int, bytes]]] = {}  # cache keys that start at each state
        self._representations: dict[bytes, bytes] = {}  # equal packed lists, one object each

    # ---- the decoder's interface ---------------------------------------------

    def initial_state(self, *, partial: bool) -> int:
        """An empty table: complete when the connection was seen from its start."""
        sid = self._intern(TableState((), 0, DEFAULT_TABLE_SIZE, partial))
        self._pinned.add(sid)  # one id shared by every connection's two sides: never freed
        return sid

    def decode(self, state_id: int, block: bytes, max_allowed: int) -> DecodedBlock:
        """Decode `block` against table `state_id`; `max_allowed` is the decoder's SETTINGS limit.

        The side that held `state_id` holds the returned `state_id` afterwards."""
        key = (state_id, block)
        hit = self.cache.get(key)
        if hit is None or hit.state_id not in self.states:
            state = self.states.get(state_id)
            if state is None:  # released or never handed out: decode against a table we know nothing of
                hit = self._decode(state_id, TableState((), 0, DEFAULT_TABLE_SIZE, True), block, max_allowed,
                                   f"table state {state_id} is no longer kept (released); ")
            else:
                hit = self._decode(state_id, state, block, max_allowed)
                if len(self.cache) >= self.cache_limit:
                    self.cache.clear()
                    self._keys_from.clear()
                self.cache[key] = hit
                self._keys_from.setdefault(state_id, []).append(key)
        self._move(state_id, hit.state_id)
        return hit

    def lose_sync(self, state_id: int) -> int:
        """After lost bytes the table may hold entries we never saw: mark it partial."""
        state = self.states.get(state_id)
        if state is not None and state.partial and not state.entries:
            return state_id
        max_size = state.max_size if state is not None else DEFAULT_TABLE_SIZE
        new_id = self._intern(TableState((), 0, max_size, True))
        self._move(state_id, new_id)
        return new_id

    def release(self, state_id: int) -> None:
        """A side that holds `state_id` ends (its connection closed): no later block comes from it."""
        self._let_go(state_id)

    @property
    def held_states(self) -> int:
        """How many states some side holds (the rest are kept only for reuse, within a budget)."""
        return sum(1 for count in self._holders.values() if count)

    # ---- holding and freeing -------------------------------------------------

    def _move(self, old: int, new: int) -> None:
        if old != new:
            self._hold(new)
            self._let_go(old)

    def _hold(self, sid: int) -> None:
        if sid in self._pinned:
            return
        count = self._holders.get(sid, 0)
        self._holders[sid] = count + 1
        if not count and sid in self._unheld:
            del self._unheld[sid]
            self._unheld_entries -= len(self.states[sid].entries)

    def _let_go(self, sid: int) -> None:
        if sid in self._pinned or sid not in self.states:
            return
        count = self._holders.get(sid, 0)
        if count > 1:
            self._holders[sid] = count - 1
            return
        self._holders[sid] = 0
        if sid not in self._unheld:
            self._unheld[sid] = None
            self._unheld_entries += len(self.states[sid].entries)
        while self._unheld and (len(self._unheld) > UNHELD_STATES_KEPT
                                or self._unheld_entries > UNHELD_ENTRIES_KEPT):
            self._forget(self._unheld.popitem(last=False)[0])

    def _forget(self, sid: int) -> None:
        """Free a state no side holds, and the cache entries that start from it."""
        state = self.states.pop(sid)
        self._unheld_entries -= len(state.entries)
        del self._holders[sid]
        key = _content_key(state)
        if self._ids_by_content.get(key) == sid:
            del self._ids_by_content[key]
        for cache_key in self._keys_from.pop(sid, ()):
            self.cache.pop(cache_key, None)
        # Entries that lead *to* this state stay until their own start is freed;
        # `decode` sees their state is gone and decodes again.

    def _intern(self, state: TableState) -> int:
        """The id of a table state, allocating one for a state not kept now."""
        key = _content_key(state)
        sid = self._ids_by_content.get(key)
        if sid is not None and self.states[sid].entries == state.entries:
            return sid
        sid = self._next_id
        self._next_id += 1
        self.states[sid] = state
        self._ids_by_content[key] = sid  # a fingerprint collision replaces the older id here, harmlessly
        return sid

    # ---- decoding ------------------------------------------------------------

    def _decode(self, state_id: int, state: TableState, data: bytes, max_allowed: int,
                note: str = "") -> DecodedBlock:
        entries = list(state.entries)
        size, max_size, partial, fingerprint = state.size, state.max_size, state.partial, state.fingerprint
        changed = False
        headers: list[Header] = []
        unknown: list[int] = []
        updates: list[int] = []
        problems: list[str] = [note.rstrip("; ")] if note else []
        fields = kept_bytes = dropped_fields = dropped_bytes = extra_updates = 0
        words = array("I")  # REPRESENTATION_WORDS per kept field or listed size update
        pos, n = 0, len(data)

        def lookup(index: int) -> Entry | None:
            dyn = index - STATIC_COUNT - 1
            if dyn < len(entries):
                return entries[dyn]
            if partial:
                return None
            raise HpackError(f"index {index} is past the end of the dynamic table", pos)

        def keep(header: Header, field_size: int, unknown_index: int = 0) -> bool:
            nonlocal kept_bytes, dropped_fields, dropped_bytes
            if dropped_fields or kept_bytes + field_size > HEADER_LIST_LIMIT:
                dropped_fields += 1
                dropped_bytes += field_size
                return False
            kept_bytes += field_size
            headers.append(header)
            if unknown_index:
                unknown.append(unknown_index)
            return True

        try:
            while pos < n:
                start = pos
                byte = data[pos]
                if byte & 0x80:  # indexed field
                    index, pos = _integer(data, pos, 7)
                    fields += 1
                    if index == 0:
                        raise HpackError("index 0 is not allowed", pos)
                    if index <= STATIC_COUNT:
                        kept = keep(STATIC_HEADERS[index - 1], STATIC_FIELD_SIZES[index - 1])
                    else:
                        entry = lookup(index)
                        if entry is None:
                            kept = keep((f"<unknown dynamic entry {index}>", "<unknown>"), ENTRY_OVERHEAD, index)
                        else:
                            kept = keep(entry[2], len(entry[0]) + len(entry[1]) + ENTRY_OVERHEAD)
                    if kept:
                        words.extend((_INDEXED, min(index, _WORD_MAX), start, pos))
                    continue
                if byte & 0xE0 == 0x20:  # dynamic table size update
                    new_size, pos = _integer(data, pos, 5)
                    if fields:
                        raise HpackError("table size update after a field", pos)
                    if new_size > max_allowed:
                        raise HpackError(f"table size update to {new_size} exceeds the "
                                         f"SETTINGS_HEADER_TABLE_SIZE of {max_allowed}", pos)
                    if new_size > TABLE_SIZE_LIMIT and max_size <= TABLE_SIZE_LIMIT:
                        problems.append(f"table size update to {new_size} is past this tool's limit of "
                                        f"{TABLE_SIZE_LIMIT} bytes (TABLE_SIZE_LIMIT): the newest {TABLE_SIZE_LIMIT} "
                                        "bytes of entries are kept, older ones will show as unknown")
                    changed = changed or new_size != max_size
                    max_size = new_size
                    before = len(entries)
                    size, fingerprint = _evict(entries, size, max_size, fingerprint)
                    changed = changed or len(entries) != before
                    if len(updates) < SIZE_UPDATES_KEPT:
                        updates.append(new_size)
                        words.extend((_SIZE_UPDATE, min(new_size, _WORD_MAX), start, pos))
                    else:
                        extra_updates += 1
                    continue
                incremental = byte & 0xC0 == 0x40
                index, pos = _integer(data, pos, 6 if incremental else 4)
                fields += 1
                unknown_name = 0  # the index of a name the table does not know
                flags = _INCREMENTAL if incremental else _NEVER if byte & 0x10 else _WITHOUT
                if not index:
                    if pos < n and data[pos] & 0x80:
                        flags |= _NAME_HUFFMAN
                    raw_name, pos = _string(data, pos)
                    name = _text(raw_name)
                elif index <= STATIC_COUNT:
                    raw_name, name = STATIC_TABLE[index - 1][0], STATIC_HEADERS[index - 1][0]
                else:
                    named = lookup(index)
                    if named is not None:
                        raw_name, name = named[0], named[2][0]
                    else:
                        unknown_name = index
                        name = f"<unknown dynamic entry {index}>"
                        # Inserting an entry whose name we do not know: the table
                        # is still usable past it, but that entry's name is lost.
                        raw_name = name.encode()
                if pos < n and data[pos] & 0x80:
                    flags |= _VALUE_HUFFMAN
                raw_value, pos = _string(data, pos)
                header = (name, _text(raw_value))
                entry_size = len(raw_name) + len(raw_value) + ENTRY_OVERHEAD
                if keep(header, entry_size, unknown_name):
                    words.extend((flags, min(index, _WORD_MAX), start, pos))
                if incremental:
                    new_entry: Entry = (raw_name, raw_value, header)
                    entries.insert(0, new_entry)
                    fingerprint = (_entry_hash(new_entry) + _FP_BASE * fingerprint) % _FP_MOD
                    size, fingerprint = _evict(entries, size + entry_size, max_size, fingerprint)
                    if size > TABLE_SIZE_LIMIT:
                        # Entries the peer still holds, dropped by us: what refers to them is unknown now.
                        size, fingerprint = _evict(entries, size, TABLE_SIZE_LIMIT, fingerprint)
                        partial = True
                    changed = True
        except HpackError as exc:
            problems.append(str(exc))
            partial = True  # whatever the block would have inserted is lost
        if dropped_fields:
            problems.append(f"the header list is past this tool's limit of {HEADER_LIST_LIMIT} bytes "
                            f"(HEADER_LIST_LIMIT): {len(headers)} fields kept, {dropped_fields} more "
                            f"({dropped_bytes} bytes) decoded for the table but not kept")
        if extra_updates:
            problems.append(f"{extra_updates} more table size updates than the {SIZE_UPDATES_KEPT} listed")
        if changed or partial != state.partial or note:
            new_id = self._intern(TableState(tuple(entries), size, max_size, partial, fingerprint))
        else:
            new_id = state_id
        error = "; ".join(problems) or None
        packed = words.tobytes()
        if len(self._representations) >= self.cache_limit:
            self._representations.clear()
        packed = self._representations.setdefault(packed, packed)
        return DecodedBlock(tuple(headers), new_id, tuple(unknown), tuple(updates), error,
                            error is None and not unknown and new_id == state_id, packed, kept_bytes + dropped_bytes)
