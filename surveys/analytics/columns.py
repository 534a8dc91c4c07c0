"""A store's columns held in memory, and counting over them; imports no Django.

`Frame` holds some columns of a survey's store as numpy arrays, one position per response,
together with the survey's data version it reflects. It is filled from the store's rows
(`append`), kept up with the rows changed since (`upsert`, `remove`), and counts responses by
the values of some columns under some conditions (`count`), as the store's `GROUP BY` does:
the same groups, NULL as its own group, nothing for a group of no responses.

Integer columns hold NULL as -1 (every stored value is 0 or more); `submitted_at` holds
microseconds since the epoch (UTC); `language` holds an index into the frame's languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

NULL = -1
LANGUAGE = "language"
SUBMITTED = "submitted_at"
_BINCOUNT_LIMIT = 1 << 22  # more possible groups than this are counted with np.unique
_REINDEX_TAIL = 4096  # positions looked up through the dict before the sorted index is rebuilt


@dataclass(frozen=True)
class In:
    """The column's value is one of `values` (integers; texts for the language)."""

    column: str
    values: tuple[int | str, ...]


@dataclass(frozen=True)
class Bit:
    """A bitset column: answered at all (`chosen` None), with the bit set (True) or not (False)."""

    column: str
    bit: int
    chosen: bool | None


@dataclass(frozen=True)
class Window:
    """Submitted at or after `start` and before `end` (microseconds since the epoch, UTC)."""

    start: int | None
    end: int | None


Condition = In | Bit | Window


@dataclass(frozen=True)
class Group:
    """Group by a column's value, (`bit` given) by a bitset's flag: 1, 0 or None, or (`zone`
    given) by the day of `submitted_at` in that time zone, as a `date`."""

    column: str
    bit: int | None = None
    zone: str | None = None  # `submitted_at` by its day in this time zone (an IANA name)


def _dtype(name: str) -> type:
    return np.int64 if name == SUBMITTED else np.int32


def _among(column: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
    """Where the column holds one of `wanted`: a comparison each for a few values (np.isin
    sorts the column, ten times slower), a lookup table for many."""
    if len(wanted) <= 8:
        found = np.zeros(len(column), dtype=bool)
        for value in wanted:
            found |= column == value
        return found
    table = np.zeros(max(wanted) + 2, dtype=bool)
    table[np.asarray(wanted, dtype=np.int64) + 1] = True
    inside = (column >= NULL) & (column < len(table) - 1)
    found = np.zeros(len(column), dtype=bool)
    found[inside] = table[column[inside] + 1]
    return found


class Frame:
    """Columns of one store at one data version, one position per response (see the module)."""

    def __init__(self, names: Iterable[str], version: int, capacity: int = 1024) -> None:
        self.names = frozenset(names)
        self.version = version
        self._n = 0
        self._ids = np.empty(capacity, dtype=np.int64)
        self._alive = np.zeros(capacity, dtype=bool)
        self._values: dict[str, np.ndarray] = {
            name: np.empty(capacity, dtype=_dtype(name)) for name in self.names
        }
        self.languages: list[str] = []
        self._language_index: dict[str, int] = {}
        self._sorted = np.empty(0, dtype=np.int64)  # ids of positions [0, len(_sorted)) ...
        self._order = np.empty(0, dtype=np.int64)  # ... sorted, and their positions
        self._tail: dict[int, int] = {}  # positions added since, by id

    @property
    def rows(self) -> int:
        """Responses held (withdrawn ones excluded)."""
        return int(self._alive[: self._n].sum())

    @property
    def nbytes(self) -> int:
        return self._ids.nbytes + self._alive.nbytes + sum(a.nbytes for a in self._values.values())

    def language_codes(self, texts: Sequence[str | None]) -> np.ndarray:
        """The frame's index of each language (new ones are added), NULL for None."""
        index = self._language_index
        for text in set(texts):
            if text is not None and text not in index:
                index[text] = len(self.languages)
                self.languages.append(text)
        return np.fromiter(
            (NULL if t is None else index[t] for t in texts), dtype=np.int32, count=len(texts)
        )

    # Filling and keeping up.

    def _grow(self, needed: int) -> None:
        capacity = len(self._ids)
        if needed <= capacity:
            return
        capacity = max(needed, capacity + capacity // 2)
        self._ids = np.resize(self._ids, capacity)
        alive = np.zeros(capacity, dtype=bool)
        alive[: self._n] = self._alive[: self._n]
        self._alive = alive
        self._values = {name: np.resize(a, capacity) for name, a in self._values.items()}

    def append(self, ids: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Add responses not held yet: a first fill, in chunks, then `reindex`."""
        start, end = self._n, self._n + len(ids)
        self._grow(end)
        self._ids[start:end] = ids
        self._alive[start:end] = True
        for name in self.names:
            self._values[name][start:end] = values[name]
        self._n = end

    def reindex(self) -> None:
        """Sort the ids for lookups: after a fill, and again once changes added enough rows."""
        order = np.argsort(self._ids[: self._n], kind="stable")
        self._order = order
        self._sorted = self._ids[: self._n][order]
        self._tail = {}

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Each id's position, or -1 when the frame has never held it."""
        found = np.full(len(ids), -1, dtype=np.int64)
        if len(self._sorted):
            at = np.searchsorted(self._sorted, ids)
            inside = at < len(self._sorted)
            hit = np.zeros(len(ids), dtype=bool)
            hit[inside] = self._sorted[at[inside]] == ids[inside]
            found[hit] = self._order[at[hit]]
        for i, response in enumerate(ids.tolist()):
            if found[i] < 0:
                found[i] = self._tail.get(response, -1)
        return found

    def upsert(self, ids: np.ndarray, values: Mapping[str, np.ndarray]) -> None:
        """Responses whose rows were written (new, or written again): their current values."""
        if not len(ids):
            return
        ids, first = np.unique(ids, return_index=True)
        values = {name: np.asarray(values[name])[first] for name in self.names}
        positions = self._positions(ids)
        held = positions >= 0
        at = positions[held]
        self._alive[at] = True
        for name in self.names:
            self._values[name][at] = values[name][held]
        new = ~held
        if new.any():
            start = self._n
            self.append(ids[new], {name: values[name][new] for name in self.names})
            for offset, response in enumerate(ids[new].tolist()):
                self._tail[response] = start + offset
            if len(self._tail) > _REINDEX_TAIL:
                self.reindex()

    def remove(self, ids: np.ndarray) -> None:
        """Responses whose rows were deleted (withdrawn)."""
        if not len(ids):
            return
        positions = self._positions(np.asarray(ids, dtype=np.int64))
        self._alive[positions[positions >= 0]] = False

    # Counting.

    def _mask(self, conditions: Sequence[Condition]) -> np.ndarray:
        n = self._n
        mask = self._alive[:n].copy()
        for condition in conditions:
            if isinstance(condition, Window):
                times = self._values[SUBMITTED][:n]
                if condition.start is not None:
                    mask &= times >= condition.start
                if condition.end is not None:
                    mask &= times < condition.end
                continue
            column = self._values[condition.column][:n]
            if isinstance(condition, Bit):
                if condition.chosen is None:
                    mask &= column != NULL
                else:
                    held = (column & condition.bit) != 0
                    mask &= (column != NULL) & (held if condition.chosen else ~held)
                continue
            if condition.column == LANGUAGE:
                index = self._language_index
                wanted = [index[v] for v in condition.values if isinstance(v, str) and v in index]
            else:
                wanted = [int(v) for v in condition.values]
            mask &= _among(column, wanted)
        return mask

    def _levels(self, group: Group, mask: np.ndarray) -> tuple[np.ndarray, int, int]:
        """The selected responses' group as 0..levels-1 (0 for NULL), the number of levels, and
        for days the ordinal of level 1."""
        column = self._values[group.column][: self._n][mask]
        if group.zone is not None:
            days = _days(column, group.zone)
            first = int(days.min(initial=1))
            return days - first + 1, int(days.max(initial=first)) - first + 2, first
        if group.bit is not None:
            flags = np.where(column == NULL, 0, np.where((column & group.bit) != 0, 2, 1))
            return flags.astype(np.int64), 3, 0
        shifted = column.astype(np.int64) + 1
        return shifted, int(shifted.max(initial=0)) + 1, 0

    def _value(self, group: Group, level: int, first: int) -> int | str | date | None:
        if level == 0:
            return None
        if group.zone is not None:
            return date.fromordinal(first + level - 1)
        if group.bit is not None:
            return level - 1  # 1 chosen, 0 answered without it
        if group.column == LANGUAGE:
            return self.languages[level - 1]
        return level - 1

    def count(
        self, conditions: Sequence[Condition], groups: Sequence[Group]
    ) -> list[tuple[int | str | date | None, ...]]:
        """[(value of each group..., responses)] for the responses meeting every condition."""
        mask = self._mask(conditions)
        if not groups:
            total = int(mask.sum())
            return [(total,)] if total else []
        levels = [self._levels(group, mask) for group in groups]
        key = np.zeros(int(mask.sum()), dtype=np.int64)
        sizes = []
        for codes, size, _first in levels:
            key = key * size + codes
            sizes.append(size)
        possible = int(np.prod(sizes, dtype=object))
        if possible <= _BINCOUNT_LIMIT:
            counts = np.bincount(key, minlength=0)
            keys = np.flatnonzero(counts)
            counts = counts[keys]
        else:
            keys, counts = np.unique(key, return_counts=True)
        firsts = [first for _codes, _size, first in levels]
        rows = []
        for k, n in zip(keys.tolist(), counts.tolist(), strict=True):
            values: list[int | str | date | None] = []
            for group, size, first in zip(
                reversed(groups), reversed(sizes), reversed(firsts), strict=True
            ):
                k, level = divmod(k, size)
                values.append(self._value(group, level, first))
            rows.append((*reversed(values), n))
        return rows


_QUARTER_HOUR = 900 * 1_000_000  # microseconds


def _days(micros: np.ndarray, zone: str) -> np.ndarray:
    """The local day (date ordinal) of each time in `zone`. Offsets change only at whole quarter
    hours of UTC (every offset in use is a multiple of 15 minutes, and so are its transitions),
    so each quarter hour present is converted once."""
    if not len(micros):
        return np.zeros(0, dtype=np.int64)
    quarters, inverse = np.unique(micros // _QUARTER_HOUR, return_inverse=True)
    tz = ZoneInfo(zone)
    ordinals = np.fromiter(
        (datetime.fromtimestamp(q * 900, tz).toordinal() for q in quarters.tolist()),
        dtype=np.int64,
        count=len(quarters),
    )
    return ordinals[inverse.reshape(-1)]
