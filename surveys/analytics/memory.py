"""A store's columns kept in each process's memory, current to the last committed write.

Counting a million rows in PostgreSQL takes a few hundred milliseconds however the table is
indexed (it must visit every matching row); counting the same values held as numpy arrays takes
a few. So a process keeps the columns its queries used, per store (`columns.Frame`), and before
each count brings them up to date: it reads the store rows changed since the data version it
holds (`AnalyticsChange`, one indexed query that finds nothing when nothing was written) and
applies them. A count is therefore never older than the last write committed before it, as the
store's `GROUP BY` is not; results are not cached (that is `statistics.cache`'s job).

A frame is loaded in one snapshot (with the version it reflects), and dropped when the store is
rebuilt (its build time changes) or goes stale. Frames are not used inside a transaction (whose
own writes might still be rolled back), and are kept within `EXPOSURE_ANALYTICS_MEMORY_MB` per
process, least recently used first out; 0 turns them off, and every count is the store's SQL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from surveys.analytics.columns import LANGUAGE, SUBMITTED, Condition, Frame, Group
from surveys.models import AnalyticsChange, AnalyticsTable, StatisticsVersion

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 50_000
_BYTES_PER_VALUE = 4  # an integer column; ids and times take 8, added below
_lock = threading.Lock()
_frames: OrderedDict[tuple[Any, ...], Frame] = OrderedDict()
_refused: set[tuple[Any, ...]] = set()  # stores too large for the budget, by key and columns


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, as the frames hold submission times."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _expressions(db: BaseDatabaseWrapper, names: Sequence[str], alias: str) -> list[str]:
    """Each held column as the loader reads it: integers with NULL as -1, times as microseconds
    on PostgreSQL (SQLite's text is parsed by numpy)."""
    out = []
    for name in names:
        column = f"{alias}.{_quote(name)}"
        if name == SUBMITTED:
            if db.vendor == "postgresql":
                out.append(f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint")
            else:
                out.append(column)
        elif name == LANGUAGE:
            out.append(column)
        else:
            out.append(f"COALESCE({column}, -1)")
    return out


def _arrays(frame: Frame, names: Sequence[str], rows: list[tuple[Any, ...]], first: int) -> dict:
    """The columns of fetched rows (values from position `first` of each row) as arrays."""
    columns = list(zip(*rows, strict=True))[first:] if rows else [() for _ in names]
    out: dict[str, np.ndarray] = {}
    for name, values in zip(names, columns, strict=True):
        if name == LANGUAGE:
            out[name] = frame.language_codes(values)
        elif name == SUBMITTED and values and not isinstance(values[0], int):
            out[name] = np.array(values, dtype="datetime64[us]").astype(np.int64)
        else:
            kind = np.int64 if name == SUBMITTED else np.int32
            out[name] = np.fromiter(values, dtype=kind, count=len(values))
    return out


def _load(db: BaseDatabaseWrapper, store: AnalyticsTable, names: Sequence[str]) -> Frame:
    """The store's columns `names`, and the version they reflect, read in one snapshot."""
    table = _quote(store.table)
    selected = ", ".join(["s.response_id", *_expressions(db, names, "s")])
    with transaction.atomic(using=db.alias):
        if db.vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        version = (
            StatisticsVersion.objects.using(db.alias)
            .filter(survey_id=store.survey_id)
            .values_list("version", flat=True)
            .first()
        )
        frame = Frame(names, version or 0)
        with db.chunked_cursor() as cursor:
            cursor.execute(f"SELECT {selected} FROM {table} s")  # noqa: S608  # nosec B608  # quoted names of the layout
            while rows := cursor.fetchmany(_CHUNK):
                ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                frame.append(ids, _arrays(frame, names, rows, 1))
    frame.reindex()
    return frame


def _refresh(db: BaseDatabaseWrapper, store: AnalyticsTable, frame: Frame) -> bool:
    """Apply the store rows changed since the frame's version; False when the store was rebuilt
    or went stale since the frame was loaded (drop it)."""
    names = sorted(frame.names)
    changes = _quote(AnalyticsChange._meta.db_table)
    stores = _quote(AnalyticsTable._meta.db_table)
    selected = ", ".join(["c.version", "c.response_id", "s.response_id"])
    selected += "".join(", " + e for e in _expressions(db, names, "s"))
    sql = (
        f"SELECT {selected} FROM {stores} t "  # noqa: S608  # nosec B608  # quoted names
        f"LEFT JOIN {changes} c ON c.survey_id = t.survey_id AND c.version > %s "
        f"LEFT JOIN {_quote(store.table)} s ON s.response_id = c.response_id "
        "WHERE t.id = %s AND t.built_at = %s AND NOT t.stale ORDER BY c.version"
    )
    params = [frame.version, store.pk, db.ops.adapt_datetimefield_value(store.built_at)]
    with db.cursor() as cursor:  # one statement: one snapshot
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return False
    changed = [row for row in rows if row[0] is not None]
    if not changed:
        return True
    written = [row for row in changed if row[2] is not None]
    gone = np.array([row[1] for row in changed if row[2] is None], dtype=np.int64)
    if written:
        ids = np.array([row[2] for row in written], dtype=np.int64)
        frame.upsert(ids, _arrays(frame, names, written, 3))
    frame.remove(gone)
    frame.version = max(row[0] for row in changed)
    return True


def _estimate(rows: int, names: Iterable[str]) -> int:
    return rows * (17 + sum(8 if n == SUBMITTED else _BYTES_PER_VALUE for n in names))


def _keep(key: tuple[Any, ...], frame: Frame, budget: int) -> None:
    for other in [k for k in _frames if k[:2] == key[:2] and k != key]:
        del _frames[other]  # the same store before a rebuild
    _frames[key] = frame
    _frames.move_to_end(key)
    while sum(f.nbytes for f in _frames.values()) > budget and len(_frames) > 1:
        _frames.popitem(last=False)


def memory_count(
    db: BaseDatabaseWrapper,
    store: AnalyticsTable,
    conditions: Sequence[Condition],
    groups: Sequence[Group],
) -> list[tuple[Any, ...]] | None:
    """[(value of each group..., responses)] counted in memory, or None where the store's SQL
    should count instead: frames off, inside a transaction, or over the memory budget."""
    budget = int(settings.EXPOSURE_ANALYTICS_MEMORY_MB) * 1024 * 1024
    if budget <= 0 or db.in_atomic_block:
        return None
    needed = {SUBMITTED, LANGUAGE} | {g.column for g in groups}
    needed |= {c.column for c in conditions if hasattr(c, "column")}
    key = (db.alias, store.pk, store.table, store.built_at)
    with _lock:
        if (*key, frozenset(needed)) in _refused:
            return None
        frame = _frames.get(key)
        if frame is not None and not _refresh(db, store, frame):
            del _frames[key]
            return None
        if frame is None or not needed <= frame.names:
            names = sorted(needed | (frame.names if frame is not None else set()))
            if _estimate(frame.rows if frame is not None else 0, names) > budget:
                return None
            frame = _load(db, store, names)
            if frame.nbytes > budget:
                _frames.pop(key, None)
                _refused.add((*key, frozenset(needed)))
                return None
            _keep(key, frame, budget)
        _frames.move_to_end(key)
        return frame.count(conditions, groups)


def memory_clear() -> None:
    """Forget every frame (tests; a process that wants its memory back)."""
    with _lock:
        _frames.clear()
        _refused.clear()
