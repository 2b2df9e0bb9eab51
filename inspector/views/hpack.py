"""HPACK (RFC 7541) made visible: how each field of a header block was written on
the wire, its bytes, the sender's dynamic table after the block, and why a block
is shorter than the one before it.

Everything here reads the model: the representations the decoder kept with each
block (`HeaderBlock.representations`), its headers, and the block's bytes read
back from the source. The dynamic table after a block is replayed from the
representations of that side's earlier blocks (insertions, size updates,
evictions), so nothing is decoded twice. The teaching timeline prints
`block_lines`; the TUI's frame detail can show the same lines for any HEADERS
frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.http2 import frames as F
from inspector.http2 import payloads as P
from inspector.http2.hpack_decoder import (
    DEFAULT_TABLE_SIZE,
    ENTRY_OVERHEAD,
    STATIC_COUNT,
    STATIC_HEADERS,
    TABLE_SIZE_LIMIT,
    FieldKind,
    FieldRepresentation,
    unpack_representations,
)
from inspector.model import Direction, Header, HeaderBlock, Role, Session
from inspector.tutorial.phrases import phrase

BYTES_SHOWN = 16  # a field's bytes are shown up to this many, then "…"


@dataclass(slots=True, frozen=True)
class FieldOnWire:
    """One representation of a block: how it was written, the field it gave, its bytes."""

    representation: FieldRepresentation
    header: Header | None  # None for a table size update
    raw: bytes  # block[start:end]; empty when the bytes could not be read back


@dataclass(slots=True, frozen=True)
class TableEntry:
    """One entry of a dynamic table: its index then, the field, its size (RFC 7541 §4.1)."""

    index: int  # the RFC's word (a dataclass field, not a NamedTuple one: no clash with tuple.index)
    name: str
    value: str
    size: int


@dataclass(slots=True, frozen=True)
class DynamicTable:
    """One side's dynamic table right after a block, and what that block did to it."""

    entries: tuple[TableEntry, ...]  # newest first: index 62, 63, ...
    size: int
    max_size: int
    inserted: tuple[Header, ...]  # added by this block, in order
    evicted: tuple[TableEntry, ...]  # pushed out by this block, oldest first (their sizes)
    partial: bool  # entries older than the known ones may exist (a capture begun mid-connection, bytes lost)


def entry_size(name: str, value: str) -> int:
    """The size an entry counts for in the table: its octets plus 32 (RFC 7541 §4.1)."""
    return len(name.encode("utf-8", "surrogateescape")) + len(value.encode("utf-8", "surrogateescape")) \
        + ENTRY_OVERHEAD


def block_frames(session: Session, block_index: int) -> list[int]:
    """The FrameLog indexes of the frames that carried a block: HEADERS (or PUSH_PROMISE) and its
    CONTINUATIONs, in order."""
    block = session.header_blocks[block_index]
    if block.frame < 0:
        return []
    log = session.frames
    frames = [block.frame]
    i = block.frame
    while log.type_code[i] == F.FrameType.CONTINUATION:
        i -= 1
        while i >= 0 and (log.conn_index[i] != block.conn_index or log.direction[i] != block.direction):
            i -= 1
        if i < 0:
            break
        frames.append(i)
    return frames[::-1]


def block_bytes(session: Session, block_index: int) -> bytes:
    """The field block as it was on the wire (fragments joined, padding and priority taken off)."""
    out = bytearray()
    for i in block_frames(session, block_index):
        frame = session.frames[i]
        try:
            out += P.header_block_fragment(frame.type_code, frame.flags, session.frame_payload(frame))
        except P.FieldError:
            return b""
    return bytes(out)


def representations(block: HeaderBlock) -> tuple[FieldRepresentation, ...]:
    """How each field of a block was written, as the decoder kept it."""
    return unpack_representations(block.representations)


class DynamicTables:
    """The dynamic tables of a session's sides, replayed from the blocks' representations.

    Replaying one side is linear in its blocks; it goes on from the last block asked for
    when the next one asked is later on the same side, so a view stepping forward pays
    for each block once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # (conn_index, direction) -> (last block replayed, entries newest first, size, max size, partial)
        self._replayed: dict[tuple[int, int], tuple[int, list[TableEntry], int, int, bool]] = {}

    def after(self, block_index: int) -> DynamicTable:
        """The sender's table right after block `block_index`."""
        blocks = self.session.header_blocks
        target = blocks[block_index]
        side = (target.conn_index, int(target.direction))
        state = self._replayed.get(side)
        if state is None or state[0] >= block_index or state[0] < blocks.base - 1:
            connection = self.session.connection(target.conn_index)
            # A bounded history dropped the side's first blocks: its table is known in part.
            partial = connection is not None and connection.protocol == "h2-midstream" or blocks.base > 0
            state = (blocks.base - 1, [], 0, DEFAULT_TABLE_SIZE, partial)
        last, entries, size, max_size, partial = state
        lost = {mark for conn_index, direction, mark in blocks.table_lost if (conn_index, direction) == side}
        conns, directions = blocks.conn_index, blocks.direction
        inserted: list[Header] = []
        evicted: list[TableEntry] = []
        for i in range(last + 1, block_index + 1):
            if conns[i] != side[0] or directions[i] != side[1]:
                continue
            if i in lost:
                entries, size, partial = [], 0, True
            inserted, evicted = [], []
            headers = iter(blocks.headers[i])
            for rep in unpack_representations(blocks.representations[i]):
                if rep.kind is FieldKind.SIZE_UPDATE:
                    max_size = rep.index
                    size = _evict(entries, size, max_size, evicted)
                    continue
                header = next(headers, None)
                if rep.kind is FieldKind.INCREMENTAL and header is not None:
                    name, value = header
                    new = entry_size(name, value)
                    entries.insert(0, TableEntry(0, name, value, new))
                    inserted.append(header)
                    size = _evict(entries, size + new, max_size, evicted)
                    if size > TABLE_SIZE_LIMIT:
                        size = _evict(entries, size, TABLE_SIZE_LIMIT, [])
                        partial = True
            if i in blocks.errors:
                partial = True
        self._replayed[side] = (block_index, entries, size, max_size, partial)
        numbered = tuple(TableEntry(STATIC_COUNT + 1 + n, e.name, e.value, e.size) for n, e in enumerate(entries))
        return DynamicTable(numbered, size, max_size, tuple(inserted), tuple(evicted), partial)


def _evict(entries: list[TableEntry], size: int, limit: int, evicted: list[TableEntry]) -> int:
    while size > limit and entries:
        gone = entries.pop()
        evicted.append(gone)
        size -= gone.size
    return size


def block_fields(session: Session, block_index: int) -> list[FieldOnWire]:
    """Every representation of a block with the field it gave and its bytes."""
    block = session.header_blocks[block_index]
    raw = block_bytes(session, block_index)
    headers = iter(block.headers)
    out = []
    for rep in representations(block):
        header = None if rep.kind is FieldKind.SIZE_UPDATE else next(headers, None)
        out.append(FieldOnWire(rep, header, raw[rep.start:rep.end]))
    return out


def previous_block(session: Session, block_index: int) -> int | None:
    """The latest earlier block from the same side of the same connection with the same role."""
    blocks = session.header_blocks
    block = blocks[block_index]
    conns, directions, roles = blocks.conn_index, blocks.direction, blocks.role
    for i in range(block_index - 1, -1, -1):
        if conns[i] == block.conn_index and directions[i] == block.direction and roles[i] == block.role \
                and blocks.frame[i] >= 0:
            return i
    return None


def first_block(session: Session, block_index: int) -> int | None:
    """The first block from the same side of the same connection with the same role, if earlier."""
    blocks = session.header_blocks
    block = blocks[block_index]
    conns, directions, roles = blocks.conn_index, blocks.direction, blocks.role
    for i in range(block_index):
        if conns[i] == block.conn_index and directions[i] == block.direction and roles[i] == block.role \
                and blocks.frame[i] >= 0:
            return i
    return None


# --- the words ------------------------------------------------------------------------------

def kind_words(lang: str, rep: FieldRepresentation) -> str:
    """How a representation is written: its kind, the table its index names, Huffman or not."""
    if rep.kind is FieldKind.SIZE_UPDATE:
        return phrase(lang, "hpack.kind.size_update", size=rep.index)
    if rep.kind is FieldKind.INDEXED:
        table = "static" if rep.index <= STATIC_COUNT else "dynamic"
        return phrase(lang, "hpack.kind.indexed", where=phrase(lang, f"hpack.{table}", index=rep.index))
    kind = {FieldKind.INCREMENTAL: "incremental", FieldKind.WITHOUT_INDEXING: "without",
            FieldKind.NEVER_INDEXED: "never"}[rep.kind]
    if rep.index:
        table = "static" if rep.index <= STATIC_COUNT else "dynamic"
        name = phrase(lang, "hpack.name.indexed", where=phrase(lang, f"hpack.{table}", index=rep.index))
    else:
        name = phrase(lang, "hpack.name.literal", coding=_coding(lang, rep.name_huffman))
    return phrase(lang, f"hpack.kind.{kind}", name=name, coding=_coding(lang, rep.value_huffman))


def _coding(lang: str, huffman: bool) -> str:
    return phrase(lang, "hpack.huffman" if huffman else "hpack.raw")


def _hex(raw: bytes) -> str:
    shown = raw[:BYTES_SHOWN].hex(" ")
    return shown + " …" if len(raw) > BYTES_SHOWN else shown


def field_lines(session: Session, block_index: int, lang: str = "en", indent: str = "") -> list[str]:
    """One line per representation (what it is, the field, its length) and one with its bytes."""
    lines = []
    for n, on_wire in enumerate(block_fields(session, block_index), 1):
        rep = on_wire.representation
        field = f"{on_wire.header[0]}: {on_wire.header[1]}" if on_wire.header is not None else ""
        added = phrase(lang, "hpack.added") if rep.kind is FieldKind.INCREMENTAL else ""
        lines.append(f"{indent}{n:>2}. {kind_words(lang, rep)}{added}")
        if field:
            lines.append(f"{indent}    {_fit(field, 100)}")
        lines.append(f"{indent}    {phrase(lang, 'hpack.bytes', length=rep.end - rep.start)}: {_hex(on_wire.raw)}")
    return lines


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def table_lines(table: DynamicTable, side: str, lang: str = "en", indent: str = "") -> list[str]:
    """The table after a block: its fill, each entry with its size, what it evicted."""
    lines = [indent + phrase(lang, "hpack.table", side=side, count=len(table.entries), size=table.size,
                             max_size=table.max_size)]
    new = set(range(STATIC_COUNT + 1, STATIC_COUNT + 1 + len(table.inserted)))
    for entry in table.entries:
        mark = phrase(lang, "hpack.new") if entry.index in new else ""
        lines.append(f"{indent}  [{entry.index}] {_fit(f'{entry.name}: {entry.value}', 80)}  "
                     f"({phrase(lang, 'hpack.entry_size', size=entry.size)}){mark}")
    if not table.entries:
        lines.append(indent + "  " + phrase(lang, "hpack.table_empty"))
    for entry in table.evicted:
        lines.append(indent + phrase(lang, "hpack.evicted", field=_fit(f"{entry.name}: {entry.value}", 80),
                                     size=entry.size))
    if table.partial:
        lines.append(indent + phrase(lang, "hpack.partial"))
    return lines


def why_this_long(session: Session, block_index: int, lang: str = "en") -> str:
    """The sentence that says why a block is as long as it is, against the first like it."""
    block = session.header_blocks[block_index]
    reps = [r for r in representations(block) if r.kind is not FieldKind.SIZE_UPDATE]
    length = len(block_bytes(session, block_index))
    indexed_dynamic = sum(1 for r in reps if r.kind is FieldKind.INDEXED and r.index > STATIC_COUNT)
    indexed_static = sum(1 for r in reps if r.kind is FieldKind.INDEXED and r.index <= STATIC_COUNT)
    literals = len(reps) - indexed_dynamic - indexed_static
    added = sum(1 for r in reps if r.kind is FieldKind.INCREMENTAL)
    role = phrase(lang, f"hpack.role.{block.role.label}") if block.role is not Role.NONE else ""
    first = first_block(session, block_index)
    counts = dict(length=length, fields=len(reps), dynamic=indexed_dynamic, static=indexed_static,
                  literals=literals, added=added, role=role)
    if first is None:
        return phrase(lang, "hpack.why.first", **counts)
    words = {FieldKind.INCREMENTAL: "hpack.literal.added", FieldKind.WITHOUT_INDEXING: "hpack.literal.not_added",
             FieldKind.NEVER_INDEXED: "hpack.literal.never"}
    names = [phrase(lang, words[r.kind], name=header[0]) for r, header in
             zip(reps, block.headers, strict=False) if r.kind in words]
    listed = phrase(lang, "hpack.literal_list", names=", " .join(names) if lang == "en" else "、".join(names)) \
        if names else ""
    before = len(block_bytes(session, first))
    key = "hpack.why.longer" if length >= before else \
        "hpack.why.shorter" if indexed_dynamic else "hpack.why.not_shorter"
    return phrase(lang, key, before=before, literal_names=listed, **counts)


def block_lines(session: Session, block_index: int, lang: str = "en", indent: str = "",
                tables: DynamicTables | None = None) -> list[str]:
    """Everything about one block's HPACK: why it is this long, each field on the wire, and the
    sender's dynamic table after it. Pass one `tables` for a walk through many blocks."""
    block = session.header_blocks[block_index]
    tables = tables or DynamicTables(session)
    side = phrase(lang, "client" if block.direction is Direction.CLIENT else "server")
    lines = [indent + why_this_long(session, block_index, lang)]
    lines += field_lines(session, block_index, lang, indent)
    lines += table_lines(tables.after(block_index), side, lang, indent)
    return lines


def static_entry(index: int) -> Header:
    """The static table's entry (RFC 7541 Appendix A), 1-based."""
    return STATIC_HEADERS[index - 1]


def frame_lines(session: Session, frame_index: int, lang: str = "en", tables: DynamicTables | None = None) -> list[str]:
    """The HPACK listing of the header block a frame completes (HEADERS, PUSH_PROMISE, its last
    CONTINUATION), for a frame detail; [] for any other frame."""
    block = session.frames.header_block[frame_index]
    if block < 0 or session.header_blocks.frame[block] != frame_index:
        return []
    return block_lines(session, block, lang, tables=tables)
