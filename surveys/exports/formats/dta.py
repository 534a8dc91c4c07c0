"""The Stata .dta format 118 (Stata 14 and later, UTF-8), written chunk by chunk.

The documented layout: a tagged header with the number of observations, a map of section
offsets, the variable descriptions, then the data as fixed-width little-endian records (one chunk
of observations at a time, encoded with numpy), the long strings (strL, kept in a scratch file
while the data is written and copied after it) and the value labels. The caller knows the number
of observations, each string's width and each integer's range before the first observation (see
`statistical.py`), so the header is final when written; the map is filled in at the end.
"""

from __future__ import annotations

import datetime as dt
import shutil
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

import numpy as np

from .layout import block_ranges

RELEASE = 118
STR_MAX = 2045  # wider strings are strL
STRL = 32768
BYTE, INT, LONG, DOUBLE = 65530, 65529, 65528, 65526
# The largest valid value of each integer type; "." is the next one, ".a" the one after.
INT_TYPES = (
    (BYTE, "<i1", -127, 100),
    (INT, "<i2", -32767, 32740),
    (LONG, "<i4", -(2**31) + 1, 2_147_483_620),
)
_MAX_VALID = {code: high for code, _dtype, _low, high in INT_TYPES}
_DTYPES = {code: dtype for code, dtype, _low, _high in INT_TYPES}
DOUBLE_MISSING_BITS = 0x7FE0000000000000  # "."; ".a" adds 1 << 40, ".b" 2 << 40, ...
_DOUBLE_STEP = 1 << 40
LETTERS = "abcdefghijklmnopqrstuvwxyz"
MS_1960_TO_1970 = 315_619_200_000  # Stata's %tc counts milliseconds from 1960-01-01

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NAME_BYTES = 129
_FORMAT_BYTES = 57
_LABEL_BYTES = 321


@dataclass(frozen=True)
class DtaColumn:
    """One variable of a .dta file.

    ``type`` is a Stata type code (BYTE, INT, LONG, DOUBLE, STRL or a string width 1-2045).
    ``letters`` maps codes to the extended missing letter written instead (.a, .b, ...);
    ``value_labels`` keys are codes or such letters.
    """

    name: str
    label: str
    type: int
    format: str
    letters: Mapping[int, str] = field(default_factory=dict)
    value_labels: Mapping[int | float | str, str] = field(default_factory=dict)
    label_set: str = ""


def _tag(name: str, payload: bytes) -> bytes:
    return f"<{name}>".encode("ascii") + payload + f"</{name}>".encode("ascii")


def _padded(text: str, size: int) -> bytes:
    return text.encode("utf-8")[: size - 1].ljust(size, b"\x00")


def _label_value(key: float | str) -> int:
    """A value label's key as Stata stores it: a letter becomes that long missing value."""
    if isinstance(key, str):
        return _MAX_VALID[LONG] + 2 + LETTERS.index(key)
    return int(key)


class DtaWriter:
    """Write a .dta file: `start`, then `data_chunk` per chunk, then `close`."""

    _SECTIONS = (
        "stata_data",
        "map",
        "variable_types",
        "varnames",
        "sortlist",
        "formats",
        "value_label_names",
        "variable_labels",
        "characteristics",
        "data",
        "strls",
        "value_labels",
        "stata_data_close",
        "end-of-file",
    )

    def __init__(
        self,
        out: BinaryIO,
        columns: Sequence[DtaColumn],
        *,
        observations: int,
        data_label: str = "",
        created: dt.datetime | None = None,
        strls: IO[bytes],
    ) -> None:
        self.out = out
        self.columns = list(columns)
        self.observations = observations
        self.data_label = data_label
        self.created = created or dt.datetime.now(dt.UTC)
        self._offsets: dict[str, int] = dict.fromkeys(self._SECTIONS, 0)
        self._dtype = np.dtype([(f"v{i}", _storage(c.type)) for i, c in enumerate(columns)])
        self._strls = strls  # long strings, kept here until the data is written
        self._done = 0  # observations written

    def start(self) -> None:
        out = self.out
        self._offsets["stata_data"] = out.tell()
        out.write(b"<stata_dta>")
        label = self.data_label.encode("utf-8")
        when = self.created
        stamp = f"{when.day:02d} {MONTHS[when.month - 1]} {when.year:04d} {when:%H:%M}"
        header = (
            _tag("release", str(RELEASE).encode("ascii"))
            + _tag("byteorder", b"LSF")
            + _tag("K", struct.pack("<H", len(self.columns)))
            + _tag("N", struct.pack("<Q", self.observations))
            + _tag("label", struct.pack("<H", len(label)) + label)
            + _tag("timestamp", bytes([len(stamp)]) + stamp.encode("ascii"))
        )
        out.write(_tag("header", header))
        self._offsets["map"] = out.tell()
        out.write(_tag("map", b"\x00" * 8 * len(self._SECTIONS)))
        self._section("variable_types", b"".join(struct.pack("<H", c.type) for c in self.columns))
        self._section("varnames", b"".join(_padded(c.name, _NAME_BYTES) for c in self.columns))
        self._section("sortlist", b"\x00\x00" * (len(self.columns) + 1))
        self._section("formats", b"".join(_padded(c.format, _FORMAT_BYTES) for c in self.columns))
        self._section(
            "value_label_names", b"".join(_padded(c.label_set, _NAME_BYTES) for c in self.columns)
        )
        self._section(
            "variable_labels", b"".join(_padded(c.label, _LABEL_BYTES) for c in self.columns)
        )
        self._section("characteristics", b"")
        self._offsets["data"] = out.tell()
        out.write(b"<data>")

    def _section(self, name: str, payload: bytes) -> None:
        self._offsets[name] = self.out.tell()
        self.out.write(_tag(name, payload))

    def data_chunk(self, columns: Sequence[Any], rows: int) -> None:
        """Write `rows` observations: per variable float64 values (NaN: missing) or bytes."""
        # Wide records in smaller blocks, so that a block stays a few megabytes.
        for start, stop in block_ranges(rows, self._dtype.itemsize):
            self._block([values[start:stop] for values in columns], stop - start)

    def _block(self, columns: Sequence[Any], rows: int) -> None:
        block = np.empty(rows, dtype=self._dtype)
        for i, (column, values) in enumerate(zip(self.columns, columns, strict=True)):
            field_name = f"v{i}"
            if column.type == STRL:
                block[field_name] = self._strl_refs(i + 1, values)
            elif column.type <= STR_MAX:
                block[field_name] = np.array(values, dtype=f"S{column.type}") if values else b""
            elif column.type == DOUBLE:
                block[field_name] = _doubles(np.asarray(values, dtype=np.float64), column.letters)
            else:
                block[field_name] = _integers(np.asarray(values, dtype=np.float64), column)
        self.out.write(block.tobytes())
        self._done += rows

    def _strl_refs(self, variable: int, values: Sequence[bytes]) -> np.ndarray:
        refs = np.zeros(len(values), dtype="<u8")
        parts = []
        for row, value in enumerate(values):
            if not value:
                continue  # (0, 0): the empty string
            observation = self._done + row + 1
            refs[row] = variable | (observation << 16)
            parts.append(
                b"GSO"
                + struct.pack("<IQBI", variable, observation, 130, len(value) + 1)
                + value
                + b"\x00"
            )
        self._strls.write(b"".join(parts))
        return refs

    def close(self) -> None:
        out = self.out
        out.write(b"</data>")
        self._offsets["strls"] = out.tell()
        out.write(b"<strls>")
        self._strls.seek(0)
        shutil.copyfileobj(self._strls, out, 1024 * 1024)
        out.write(b"</strls>")
        self._offsets["value_labels"] = out.tell()
        tables = [
            _tag("lbl", _label_table(c.label_set, c.value_labels))
            for c in self.columns
            if c.label_set
        ]
        out.write(_tag("value_labels", b"".join(tables)))
        self._offsets["stata_data_close"] = out.tell()
        out.write(b"</stata_dta>")
        self._offsets["end-of-file"] = out.tell()
        out.seek(self._offsets["map"] + len(b"<map>"))
        out.write(struct.pack(f"<{len(self._SECTIONS)}Q", *self._offsets.values()))
        out.seek(0, 2)


def _storage(code: int) -> str:
    if code == STRL:
        return "<u8"
    if code <= STR_MAX:
        return f"S{code}"
    if code == DOUBLE:
        return "<f8"
    return _DTYPES[code]


def _label_table(name: str, labels: Mapping[int | float | str, str]) -> bytes:
    items = sorted(((_label_value(k), v.encode("utf-8")) for k, v in labels.items()))
    offsets, text = [], b""
    for _value, label in items:
        offsets.append(len(text))
        text += label + b"\x00"
    count = len(items)
    body = struct.pack(f"<ii{count}i{count}i", count, len(text), *offsets, *[v for v, _ in items])
    body += text
    return struct.pack("<i", len(body)) + _padded(name, _NAME_BYTES) + b"\x00" * 3 + body


def _doubles(values: np.ndarray, letters: Mapping[int, str]) -> np.ndarray:
    out = values.copy()
    bits = out.view(np.uint64)
    missing = np.isnan(values)
    for code, letter in letters.items():
        bits[values == code] = DOUBLE_MISSING_BITS + (LETTERS.index(letter) + 1) * _DOUBLE_STEP
    bits[missing] = DOUBLE_MISSING_BITS
    return out


def _integers(values: np.ndarray, column: DtaColumn) -> np.ndarray:
    system = _MAX_VALID[column.type] + 1
    missing = np.isnan(values)
    out = np.where(missing, system, values)
    for code, letter in column.letters.items():
        out[values == code] = system + 1 + LETTERS.index(letter)
    return out.astype(_DTYPES[column.type])


def integer_type(low: int, high: int) -> int:
    """The smallest Stata integer type holding every value from `low` to `high`, or DOUBLE."""
    for code, _dtype, smallest, largest in INT_TYPES:
        if smallest <= low and high <= largest:
            return code
    return DOUBLE
