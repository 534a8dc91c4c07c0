"""The columns held in memory count as a plain loop over the rows does, after any changes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.analytics.columns import NULL, Bit, Frame, Group, In, Window

NAMES = ("submitted_at", "language", "a", "b", "bits")
LANGUAGES = ("en", "zh-hans", "fr")

row = st.fixed_dictionaries(
    {
        "submitted_at": st.integers(0, 9),
        "language": st.sampled_from(LANGUAGES),
        "a": st.integers(-1, 4),
        "b": st.integers(-1, 2),
        "bits": st.integers(-1, 7),
    }
)
ids = st.integers(1, 40)
changes = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.dictionaries(ids, row, max_size=6)),
        st.tuples(st.just("remove"), st.lists(ids, max_size=4)),
    ),
    max_size=8,
)
conditions = st.lists(
    st.one_of(
        st.builds(
            In, st.sampled_from(["a", "b"]), st.lists(st.integers(0, 4), max_size=12).map(tuple)
        ),
        st.builds(
            In, st.just("language"), st.lists(st.sampled_from(LANGUAGES), max_size=2).map(tuple)
        ),
        st.builds(
            Bit, st.just("bits"), st.sampled_from([1, 2, 4]), st.sampled_from([None, True, False])
        ),
        st.builds(
            Window, st.one_of(st.none(), st.integers(0, 9)), st.one_of(st.none(), st.integers(0, 9))
        ),
    ),
    max_size=3,
)
groups = st.lists(
    st.one_of(
        st.builds(Group, st.sampled_from(["a", "b", "language"])),
        st.builds(Group, st.just("bits"), st.sampled_from([1, 2, 4])),
    ),
    max_size=3,
)


def _arrays(frame: Frame, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out = {
        name: np.array([r[name] for r in rows], dtype=np.int64)
        for name in NAMES
        if name != "language"
    }
    out["language"] = frame.language_codes([r["language"] for r in rows])
    return out


def _meets(row: dict[str, Any], condition: Any) -> bool:
    if isinstance(condition, Window):
        return (condition.start is None or row["submitted_at"] >= condition.start) and (
            condition.end is None or row["submitted_at"] < condition.end
        )
    if isinstance(condition, Bit):
        value = row[condition.column]
        if value == NULL:
            return False
        return condition.chosen is None or bool(value & condition.bit) == condition.chosen
    return row[condition.column] in condition.values


def _value(row: dict[str, Any], group: Group) -> Any:
    value = row[group.column]
    if group.bit is not None:
        return None if value == NULL else int(bool(value & group.bit))
    return None if value == NULL else value


@settings(max_examples=300, deadline=None)
@given(first=st.dictionaries(ids, row, max_size=30), then=changes, where=conditions, by=groups)
def test_counts_equal_a_loop_over_the_rows(
    first: dict[int, dict], then: list, where: list, by: list
) -> None:
    frame = Frame(NAMES, version=1, capacity=4)
    rows = dict(first)
    items = list(first.items())
    for start in range(0, len(items), 7):  # a fill in chunks
        chunk = items[start : start + 7]
        frame.append(
            np.array([i for i, _ in chunk], dtype=np.int64), _arrays(frame, [r for _, r in chunk])
        )
    frame.reindex()
    for kind, payload in then:
        if kind == "write":
            frame.upsert(
                np.array(list(payload), dtype=np.int64), _arrays(frame, list(payload.values()))
            )
            rows.update(payload)
        else:
            frame.remove(np.array(payload, dtype=np.int64))
            for gone in payload:
                rows.pop(gone, None)
    expected = Counter(
        tuple(_value(r, g) for g in by) for r in rows.values() if all(_meets(r, c) for c in where)
    )
    got = frame.count(where, by)
    assert {tuple(r[:-1]): r[-1] for r in got} == dict(expected)
    assert len(got) == len(expected) and all(r[-1] > 0 for r in got)
    assert frame.rows == len(rows)


ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/London")
# Around the 2026 transitions of these zones: seconds from 2026-03-01 to 2026-11-30.
moments = st.integers(1772323200, 1796083200).map(lambda s: s * 1_000_000)


@settings(max_examples=200, deadline=None)
@given(times=st.lists(moments, max_size=40), zone=st.sampled_from(ZONES))
def test_days_in_a_time_zone_equal_python_s(times: list[int], zone: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    frame = Frame(("submitted_at",), version=1)
    frame.append(
        np.arange(1, len(times) + 1, dtype=np.int64),
        {"submitted_at": np.array(times, dtype=np.int64)},
    )
    frame.reindex()
    got = {row[0]: row[1] for row in frame.count([], [Group("submitted_at", zone=zone)])}
    expected = Counter(datetime.fromtimestamp(t / 1_000_000, ZoneInfo(zone)).date() for t in times)
    assert got == dict(expected)
