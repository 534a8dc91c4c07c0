""".sav and .dta written chunk by chunk, read back by pyreadstat and pandas.

Random variables, labels, missing codes and Unicode text (hypothesis) go through the writers;
what the readers see is compared with what the values and the layout say it must be. Chunk
boundaries change nothing, and memory does not grow with the number of rows.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from surveys.exports.formats import (
    Codebook,
    Variable,
    statistical,
    variable_layouts,
    write_dta,
    write_sav,
)

# Labels and text as people write them: any letters, digits, punctuation, CJK, emoji; no
# control characters (NUL ends a fixed-width string) and no trailing blanks (SPSS pads with them).
_printable = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="\x00"
)
labels = st.text(_printable, min_size=1, max_size=40).map(str.strip).filter(bool)
texts = st.text(_printable, max_size=80).map(str.rstrip)
UTC = dt.UTC
# Naive bounds, as hypothesis takes them; the values drawn are aware (UTC).
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=UTC).replace(tzinfo=None)
LATEST = dt.datetime(2100, 1, 1, tzinfo=UTC).replace(tzinfo=None)
REASONS = {"-99": "Not shown (skip logic)", "-98": "Shown but not answered"}


@st.composite
def categorical(draw: Any, index: int) -> Variable:
    count = draw(st.integers(1, 6))
    integer = draw(st.booleans())
    codes = [str(n + 1) for n in range(count)] if integer else [f"c{n}" for n in range(count)]
    value_labels = {code: draw(labels) for code in codes} | REASONS
    dont_know = draw(st.sampled_from([None, *codes]))
    missing = {"-99", "-98"} | ({dont_know} if dont_know else set())
    return Variable(
        f"cat{index}", draw(labels), "categorical", value_labels, missing_codes=frozenset(missing)
    )


@st.composite
def export(draw: Any) -> tuple[list[Variable], list[list[Any]]]:
    variables: list[Variable] = []
    for index, kind in enumerate(
        draw(
            st.lists(
                st.sampled_from(["categorical", "multi_flag", "numeric", "text", "datetime"]),
                min_size=1,
                max_size=6,
            )
        )
    ):
        if kind == "categorical":
            variables.append(draw(categorical(index)))
        elif kind in {"multi_flag", "numeric"}:
            variables.append(
                Variable(
                    f"{kind}{index}", draw(labels), kind, REASONS, missing_codes=frozenset(REASONS)
                )
            )
        else:
            variables.append(Variable(f"{kind}{index}", draw(labels), kind))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row: list[Any] = []
        for variable in variables:
            if variable.kind == "categorical":
                value = draw(st.sampled_from([None, *variable.value_labels]))
            elif variable.kind == "multi_flag":
                value = draw(st.sampled_from([None, 0, 1, "-99", "-98"]))
            elif variable.kind == "numeric":
                value = draw(
                    st.one_of(
                        st.none(),
                        st.sampled_from(["-99", "-98"]),
                        st.floats(-1e9, 1e9, allow_nan=False),
                        st.integers(-1000, 1000),
                    )
                )
            elif variable.kind == "text":
                value = draw(st.one_of(st.none(), texts))
            else:
                value = draw(
                    st.one_of(
                        st.none(),
                        st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC)).map(
                            lambda moment: moment.replace(microsecond=0)
                        ),
                    )
                )
            row.append(value)
        rows.append(row)
    return variables, rows


def _number(value: Any, variable: Variable, layout: Any, missing_as_nan: bool) -> float:
    """What a numeric cell must read back as, missing codes declared missing or kept."""
    if value is None:
        return math.nan
    if variable.kind == "categorical":
        code = str(value)
        if missing_as_nan and code in variable.missing_codes:
            return math.nan
        return float(layout.numeric_codes[code])
    if isinstance(value, str):  # a reason code of a number or flag
        return math.nan if missing_as_nan else float(value)
    if missing_as_nan and str(value) in variable.missing_codes:
        # An answer equal to a declared missing value (-98) is missing to SPSS, as the code is.
        return math.nan
    return float(value)


def _naive(moment: dt.datetime | None) -> pd.Timestamp | None:
    """A UTC datetime as the files hold it: naive."""
    return None if moment is None else pd.Timestamp(moment.replace(tzinfo=None))


def _same(actual: list[Any], expected: list[Any]) -> bool:
    def norm(v: Any) -> Any:
        if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            return None
        return v

    return [norm(v) for v in actual] == [norm(v) for v in expected]


# An answer that equals a missing code (a number -98), beside the code itself.
ANSWER_AS_CODE = (
    [Variable("numeric0", "n", "numeric", REASONS, missing_codes=frozenset(REASONS))],
    [[-98], ["-98"], [None], [-97.5]],
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export())
@example(ANSWER_AS_CODE)
def test_sav_reads_back_with_labels_missing_codes_and_text(
    tmp_path_factory: pytest.TempPathFactory, data: tuple[list[Variable], list[list[Any]]]
) -> None:
    variables, rows = data
    path = tmp_path_factory.mktemp("sav") / "random.sav"
    assert write_sav(
        iter(rows), variables, path, codebook=Codebook(variables, title="随机")
    ) == len(rows)
    frame, meta = pyreadstat.read_sav(str(path))
    raw, declared = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.number_rows == len(rows)
    assert meta.file_label == "随机"
    for column, (variable, layout) in enumerate(zip(variables, variable_layouts(variables))):
        name = layout.sav_name
        values = [row[column] for row in rows]
        assert meta.column_names_to_labels[name] == layout.sav_label
        if variable.kind == "text":
            assert frame[name].tolist() == [v or "" for v in values]
        elif variable.kind == "datetime":
            assert _same(frame[name].tolist(), [_naive(v) for v in values])
        else:
            for table, as_nan in ((frame, True), (raw, False)):
                expected = [_number(v, variable, layout, as_nan) for v in values]
                assert np.allclose(
                    table[name].astype(float), expected, equal_nan=True, rtol=0, atol=1e-6
                )
            if layout.numeric_value_labels:
                assert meta.variable_value_labels[name] == layout.sav_value_labels
            declared_values: list[Any] = declared.missing_ranges.get(name, [])
            wanted: list[dict[str, Any]] = [
                m if isinstance(m, dict) else {"lo": m, "hi": m} for m in layout.sav_missing
            ]
            assert sorted((r["lo"], r["hi"]) for r in declared_values) == sorted(
                (float(r["lo"]), float(r["hi"])) for r in wanted
            )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export())
@example(ANSWER_AS_CODE)
def test_dta_reads_back_in_pyreadstat_and_pandas_with_extended_missing_values(
    tmp_path_factory: pytest.TempPathFactory, data: tuple[list[Variable], list[list[Any]]]
) -> None:
    variables, rows = data
    path = tmp_path_factory.mktemp("dta") / "random.dta"
    assert write_dta(
        iter(rows), variables, path, codebook=Codebook(variables, title="随机")
    ) == len(rows)
    frame, meta = pyreadstat.read_dta(str(path))
    _, declared = pyreadstat.read_dta(str(path), user_missing=True)
    stata = pd.read_stata(
        io.BytesIO(path.read_bytes()),
        convert_missing=True,
        convert_categoricals=False,
        convert_dates=False,
    )
    assert meta.number_rows == len(rows)
    assert meta.file_label == "随机"
    for column, (variable, layout) in enumerate(zip(variables, variable_layouts(variables))):
        name = layout.dta_name
        values = [row[column] for row in rows]
        assert meta.column_names_to_labels[name] == layout.dta_label
        if variable.kind == "text":
            assert frame[name].tolist() == [v or "" for v in values]
            assert stata[name].tolist() == [v or "" for v in values]
        elif variable.kind == "datetime":
            assert _same(frame[name].tolist(), [_naive(v) for v in values])
        else:
            expected = [_number(v, variable, layout, True) for v in values]
            assert np.allclose(frame[name].astype(float), expected, equal_nan=True, atol=1e-6)
            # pandas sees Stata's own missing values: "." for empty, ".a", ".b", ... for codes.
            letters = layout.dta_missing
            for value, cell in zip(values, stata[name], strict=True):
                if value is None:
                    assert str(cell) == "."
                elif (code := layout.numeric_codes.get(str(value))) in letters:
                    assert str(cell) == f".{letters[code]}"
                else:
                    assert float(cell) == pytest.approx(_number(value, variable, layout, True))
            if layout.numeric_value_labels:
                assert declared.variable_value_labels[name] == layout.dta_value_labels


def _long_rows(count: int) -> Iterator[list[Any]]:
    for n in range(count):
        yield [
            str(n % 3 + 1) if n % 5 else "-99",
            n % 2,
            n / 7,
            ("长文本 " * (n % 400)) + str(n),
            dt.datetime(2025, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=n),
        ]


LONG_VARIABLES = [
    Variable(
        "q",
        "问题",
        "categorical",
        {"1": "一", "2": "二", "3": "三", **REASONS},
        missing_codes=frozenset(REASONS),
    ),
    Variable("f", "flag", "multi_flag"),
    Variable("x", "x", "numeric"),
    Variable("t", "文本", "text"),
    Variable("at", "at", "datetime"),
]


@pytest.mark.parametrize(
    ("fmt", "read"), [("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)]
)
def test_chunk_boundaries_change_nothing(
    fmt: str, read: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = write_sav if fmt == "sav" else write_dta
    # Texts up to 4,000 bytes: SPSS segments of 255 bytes cut through Chinese characters, and
    # Stata keeps them as strL.
    write(_long_rows(500), LONG_VARIABLES, tmp_path / f"whole.{fmt}")
    monkeypatch.setattr(statistical, "CHUNK_ROWS", 7)
    write(_long_rows(500), LONG_VARIABLES, tmp_path / f"chunked.{fmt}")
    whole, whole_meta = read(str(tmp_path / f"whole.{fmt}"))
    chunked, chunked_meta = read(str(tmp_path / f"chunked.{fmt}"))
    pd.testing.assert_frame_equal(whole, chunked)
    assert whole_meta.variable_value_labels == chunked_meta.variable_value_labels
    expected = list(_long_rows(500))
    assert chunked["t"].tolist() == [row[3] for row in expected]
    assert chunked["at"].tolist() == [_naive(row[4]) for row in expected]
    assert chunked["q"].isna().sum() == 100  # -99 declared missing (SPSS) or .a (Stata)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_memory_does_not_grow_with_the_rows(fmt: str, tmp_path: Path) -> None:
    write = write_sav if fmt == "sav" else write_dta

    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            write(_long_rows(count), LONG_VARIABLES, tmp_path / f"m{count}.{fmt}")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(5_000), peak(40_000)
    # Eight times the rows, about the same peak: one chunk at a time, never the whole file.
    assert large < small * 1.5, (small, large)
    assert (tmp_path / f"m40000.{fmt}").stat().st_size > 2 * large


@pytest.mark.parametrize(
    "width", [1, 8, 9, 254, 255, 256, 257, 503, 504, 505, 506, 1000, 2045, 2046, 32_767]
)
@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_strings_of_every_width_around_the_segment_limits(
    fmt: str, width: int, tmp_path: Path
) -> None:
    # ASCII up to the width exactly, and a Chinese text cut anywhere by SPSS's segments.
    texts = ["x" * width, ("文字" * width)[: width // 3], "", "y"]
    write = write_sav if fmt == "sav" else write_dta
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    write([[t] for t in texts], [Variable("t", "t", "text")], tmp_path / f"w.{fmt}")
    frame, meta = read(str(tmp_path / f"w.{fmt}"))
    assert frame["t"].tolist() == texts
    assert meta.number_rows == len(texts)
