"""The SPSS system file format (.sav), written chunk by chunk.

A plain writer of the documented format: a dictionary (header, variable records, value labels,
documents and the extension records for the machine, display settings, long names, very long
strings and the UTF-8 encoding), then the cases bytecode-compressed. Each chunk of cases comes
as one array per variable and is encoded with numpy as a whole: only one chunk is ever held.
The caller knows the number of cases and each string's width before the first case (see
`statistical.py`), so the header is written once and final.

The layout follows ReadStat's writer (the one pyreadstat uses), so a file reads back as before:
short names ``VAR<n>`` with the real names in the long-names record, strings wider than 255
bytes split into segments of 255 bytes of data (256 stored) declared in the very-long-string
record.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from .layout import block_ranges

SYSMIS_BITS = 0xFFEFFFFFFFFFFFFF  # -DBL_MAX: the system-missing value
HIGHEST_BITS = 0x7FEFFFFFFFFFFFFF
LOWEST_BITS = 0xFFEFFFFFFFFFFFFE
_SPACES = 0x2020202020202020  # eight spaces, as one 8-byte element
_BIAS = 100
_SHORT_STRING_MAX = 255
_SEGMENT_DATA = 255  # bytes of data in each 256-byte segment of a very long string
_SEGMENT_STORED = 256
_SEGMENT_WIDTH = 252  # width one segment adds to the variable's declared width
DOCUMENT_LINE_BYTES = 80
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

FORMAT_A = 1
FORMAT_F = 5
FORMAT_DATETIME = 22
MEASURES = {"nominal": 1, "ordinal": 2, "scale": 3}
_ALIGN_LEFT, _ALIGN_RIGHT = 0, 1
SECONDS_1582_TO_1970 = 12_219_379_200  # SPSS counts seconds from 14 October 1582


@dataclass(frozen=True)
class SavColumn:
    """One variable of a .sav file.

    ``width`` is 0 for a number, else the string's width in bytes (at least 1). ``missing`` holds
    user-missing values as ints and at most one ``{"lo": ..., "hi": ...}`` range.
    """

    name: str
    label: str
    width: int
    measure: str
    decimals: int = 0
    datetime: bool = False
    value_labels: Mapping[int | float, str] = field(default_factory=dict)
    missing: Sequence[Any] = ()

    @property
    def segments(self) -> int:
        if self.width <= _SHORT_STRING_MAX:
            return 1
        return (self.width + _SEGMENT_WIDTH - 1) // _SEGMENT_WIDTH

    @property
    def storage(self) -> int:
        """Bytes of one case of this variable (a multiple of 8)."""
        if self.width == 0:
            return 8
        if self.width <= _SHORT_STRING_MAX:
            return _round8(self.width)
        last = self.width - (self.segments - 1) * _SEGMENT_WIDTH
        return (self.segments - 1) * _SEGMENT_STORED + _round8(last)


def _round8(n: int) -> int:
    return (max(n, 1) + 7) // 8 * 8


def _format(kind: int, width: int, decimals: int = 0) -> int:
    return (kind << 16) | (width << 8) | decimals


def _padded(data: bytes, size: int, fill: bytes = b" ") -> bytes:
    return data[:size].ljust(size, fill)


def _info_record(subtype: int, size: int, payload: bytes) -> bytes:
    return struct.pack("<iiii", 7, subtype, size, len(payload) // size) + payload


class SavWriter:
    """Write a .sav file: `dictionary` first, then `cases` once per chunk, then `close`."""

    def __init__(
        self,
        out: BinaryIO,
        columns: Sequence[SavColumn],
        *,
        cases: int,
        file_label: str = "",
        notes: Sequence[str] = (),
        created: dt.datetime | None = None,
    ) -> None:
        self.out = out
        self.columns = list(columns)
        self.cases = cases
        self.file_label = file_label
        self.notes = list(notes)
        self.created = created or dt.datetime.now(dt.UTC)
        self._dtype = np.dtype(
            [(f"v{i}", "<f8" if c.width == 0 else f"S{c.storage}") for i, c in enumerate(columns)]
        )
        # Per 8-byte element of a case: True where it belongs to a number.
        numeric = [np.full(c.storage // 8, c.width == 0) for c in self.columns]
        self._numeric = np.concatenate(numeric) if numeric else np.zeros(0, dtype=bool)
        # Short (8-byte) names, one per variable record, segments included: V0, V1, ...
        self._short: list[list[str]] = []
        count = 0
        for column in self.columns:
            self._short.append([f"V{count + s}" for s in range(column.segments)])
            count += column.segments

    # --- the dictionary ----------------------------------------------------------------------
    def dictionary(self) -> None:
        """Write everything before the cases."""
        write = self.out.write
        write(self._header())
        for index, column in enumerate(self.columns):
            write(self._variable(index, column))
        write(self._value_labels())
        if self.notes:
            lines = [_padded(n.encode("utf-8"), DOCUMENT_LINE_BYTES) for n in self.notes]
            write(struct.pack("<ii", 6, len(lines)) + b"".join(lines))
        machine = struct.pack("<8i", 1, 0, 0, -1, 1, 1, 2, 65001)
        write(_info_record(3, 4, machine))
        write(_info_record(4, 8, struct.pack("<3Q", SYSMIS_BITS, HIGHEST_BITS, LOWEST_BITS)))
        # One entry per variable record, each segment of a very long string included.
        display = b"".join(
            struct.pack(
                "<3i",
                MEASURES[c.measure],
                8,
                _ALIGN_RIGHT if c.width == 0 else _ALIGN_LEFT,
            )
            * c.segments
            for c in self.columns
        )
        write(_info_record(11, 4, display))
        names = "\t".join(f"{self._short[i][0]}={c.name}" for i, c in enumerate(self.columns))
        if names:
            write(_info_record(13, 1, names.encode("utf-8")))
        very_long = b"".join(
            f"{self._short[i][0]}={c.width}".encode("ascii") + b"\x00\t"
            for i, c in enumerate(self.columns)
            if c.width > _SHORT_STRING_MAX
        )
        if very_long:
            write(_info_record(14, 1, very_long))
        write(_info_record(20, 1, b"UTF-8"))
        write(struct.pack("<ii", 999, 0))

    def _header(self) -> bytes:
        product = _padded(b"@(#) SPSS DATA FILE - Exposure survey export", 60)
        when = self.created
        date = f"{when.day:02d} {MONTHS[when.month - 1]} {when.year % 100:02d}".encode("ascii")
        time = f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}".encode("ascii")
        case_size = sum(c.storage for c in self.columns) // 8
        return struct.pack(
            "<4s60siiiiid9s8s64s3s",
            b"$FL2",
            product,
            2,  # layout code
            case_size,
            1,  # bytecode compression
            0,  # no weight variable
            self.cases,
            float(_BIAS),
            date,
            time,
            _padded(self.file_label.encode("utf-8"), 64),
            b"\x00\x00\x00",
        )

    def _variable(self, index: int, column: SavColumn) -> bytes:
        names = [_padded(short.encode("ascii"), 8) for short in self._short[index]]
        name = names[0]
        label = column.label.encode("utf-8")[:255]
        values: list[float] = []
        count = 0
        ranges = [m for m in column.missing if isinstance(m, Mapping)]
        singles = [m for m in column.missing if not isinstance(m, Mapping)]
        if ranges:
            values = [float(ranges[0]["lo"]), float(ranges[0]["hi"]), *map(float, singles[:1])]
            count = -len(values)
        elif singles:
            values = [float(v) for v in singles[:3]]
            count = len(values)
        if column.width == 0:
            kind = FORMAT_DATETIME if column.datetime else FORMAT_F
            fmt = _format(
                kind, 20 if column.datetime else 8, 0 if column.datetime else column.decimals
            )
            var_type = 0
        else:
            fmt = _format(FORMAT_A, min(column.width, _SHORT_STRING_MAX))
            var_type = min(column.width, _SHORT_STRING_MAX)
        parts = [struct.pack("<iiiiii8s", 2, var_type, bool(label), count, fmt, fmt, name)]
        if label:
            parts.append(
                struct.pack("<i", len(label)) + _padded(label, (len(label) + 3) // 4 * 4, b"\x00")
            )
        parts.append(struct.pack(f"<{len(values)}d", *values))
        if column.width:
            first = column.storage if column.segments == 1 else _SEGMENT_STORED
            parts.append(_continuations(first // 8 - 1))
            for segment in range(1, column.segments):
                last = segment == column.segments - 1
                width = column.width - segment * _SEGMENT_WIDTH if last else _SHORT_STRING_MAX
                fmt = _format(FORMAT_A, width)
                parts.append(struct.pack("<iiiiii8s", 2, width, 0, 0, fmt, fmt, names[segment]))
                parts.append(_continuations(_round8(width) // 8 - 1))
        return b"".join(parts)

    def _value_labels(self) -> bytes:
        parts: list[bytes] = []
        for index, column in enumerate(self.columns):
            if column.width or not column.value_labels:
                continue
            entries = []
            for value, text in column.value_labels.items():
                label = text.encode("utf-8")[:120]
                size = (len(label) + 1 + 7) // 8 * 8 - 1
                entries.append(struct.pack("<dB", float(value), len(label)) + _padded(label, size))
            parts.append(struct.pack("<ii", 3, len(entries)) + b"".join(entries))
            offset = sum(c.storage for c in self.columns[:index]) // 8
            parts.append(struct.pack("<iii", 4, 1, offset + 1))
        return b"".join(parts)

    # --- the cases ---------------------------------------------------------------------------
    def cases_chunk(self, columns: Sequence[Any], rows: int) -> None:
        """Write `rows` cases: per variable, float64 values (NaN: system-missing) or bytes."""
        # Wide cases (long strings) in smaller blocks, so that a block stays a few megabytes.
        for start, stop in block_ranges(rows, self._dtype.itemsize):
            self._block([values[start:stop] for values in columns], stop - start)

    def _block(self, columns: Sequence[Any], rows: int) -> None:
        block = np.empty(rows, dtype=self._dtype)
        for i, (column, values) in enumerate(zip(self.columns, columns, strict=True)):
            if column.width == 0:
                numbers = np.asarray(values, dtype=np.float64)
                block[f"v{i}"] = numbers
                if np.isnan(numbers).any():
                    bits = block[f"v{i}"].view(np.uint64)
                    bits[np.isnan(numbers)] = SYSMIS_BITS
            else:
                block[f"v{i}"] = _string_cells(values, column)
        self.out.write(_compress(block.view(np.uint64).reshape(-1), self._numeric, rows))

    def close(self) -> None:
        # End of data: command 252, in a block of its own.
        self.out.write(bytes([252, 0, 0, 0, 0, 0, 0, 0]))


def _continuations(count: int) -> bytes:
    return struct.pack("<iiiiii8s", 2, -1, 0, 0, 0, 0, b"\x00" * 8) * count


def _string_cells(values: Iterable[bytes], column: SavColumn) -> np.ndarray:
    """Fixed-width, space-padded cells; a very long string's data 255 bytes per segment."""
    size = column.storage
    if column.segments == 1:
        data = b"".join(value.ljust(size) for value in values)
    else:
        pieces = []
        for value in values:
            cell = b"".join(
                value[start : start + _SEGMENT_DATA].ljust(_SEGMENT_STORED)
                for start in range(0, len(value), _SEGMENT_DATA)
            )
            # The last segment is stored shorter than 256 bytes: only padding is cut.
            pieces.append(cell[:size].ljust(size))
        data = b"".join(pieces)
    return np.frombuffer(data, dtype=f"S{size}")


def _compress(elements: np.ndarray, numeric: np.ndarray, rows: int) -> bytes:
    """Bytecode-compress a chunk of cases (8-byte elements, row after row), as one stream.

    Each element gets a command byte: 1-251 an integer -99..151 stored in the command itself,
    253 the element follows as it is, 254 eight spaces, 255 system-missing. Commands come in
    blocks of eight, each block followed by the elements it announces; the last block of the
    chunk is padded with 0 (no operation).
    """
    is_number = np.tile(numeric, rows)
    values = elements.view(np.float64)
    commands = np.full(elements.shape, 253, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        small = (
            is_number
            & (values >= -99)
            & (values <= 151)
            & (np.floor(values) == values)
            & (elements != SYSMIS_BITS)
        )
    commands[small] = (values[small] + _BIAS).astype(np.uint8)
    commands[is_number & (elements == SYSMIS_BITS)] = 255
    commands[~is_number & (elements == _SPACES)] = 254
    pad = (-commands.size) % 8
    if pad:
        commands = np.concatenate([commands, np.zeros(pad, dtype=np.uint8)])
    literal = commands == 253
    blocks = commands.size // 8
    per_block = literal.reshape(blocks, 8).sum(axis=1)
    before = np.concatenate([[0], np.cumsum(per_block)[:-1]])
    out = np.empty(blocks + int(per_block.sum()), dtype=np.uint64)
    block_at = np.arange(blocks) + before
    out[block_at] = commands.view(np.uint64)
    rank = np.cumsum(literal) - 1
    element_block = np.arange(commands.size) // 8
    positions = element_block[literal] + 1 + rank[literal]
    out[positions] = elements[literal[: elements.size]]
    return out.tobytes()
