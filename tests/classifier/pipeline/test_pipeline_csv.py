"""Reading labelled CSV files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.pipeline import CsvError, read_labelled_csv


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_reads_path_and_file_objects(tmp_path: Path) -> None:
    data = _csv(
        [
            ["text", "label", "voice"],
            ["first, with comma", "a", "v"],
            ["第二", "a", ""],
            ["third\nline", "b", ""],
            ["fourth", " b ", ""],
        ]
    )
    path = tmp_path / "data.csv"
    path.write_bytes(b"\xef\xbb\xbf" + data)  # with a byte-order mark
    expected = (["first, with comma", "第二", "third\nline", "fourth"], ["a", "a", "b", "b"])
    assert read_labelled_csv(path) == expected
    assert read_labelled_csv(str(path)) == expected
    assert read_labelled_csv(io.BytesIO(data)) == expected
    assert read_labelled_csv(io.StringIO(data.decode("utf-8"), newline="")) == expected
    with open(path, encoding="utf-8", newline="") as fh:
        assert read_labelled_csv(fh) == expected


def test_custom_columns_and_multilabel() -> None:
    data = _csv(
        [["answer", "codes"], ["one", "x; y"], ["two", "y"], ["three", ""], ["four", "x;;x"]]
    )
    texts, labels = read_labelled_csv(
        io.BytesIO(data), text_column="answer", label_column="codes", multilabel=True
    )
    assert texts == ["one", "two", "three", "four"]
    assert labels == [("x", "y"), ("y",), (), ("x",)]


def test_blank_lines_are_skipped() -> None:
    data = b"text,label\r\na,x\r\n\r\nb,x\r\n"
    assert read_labelled_csv(io.BytesIO(data)) == (["a", "b"], ["x", "x"])


def test_missing_column_lists_present_columns() -> None:
    data = _csv([["answer", "label", "voice"], ["a", "x"], ["b", "x"]])
    with pytest.raises(CsvError) as info:
        read_labelled_csv(io.BytesIO(data))
    message = str(info.value)
    assert "'text'" in message and "'answer'" in message and "'voice'" in message


def test_empty_text_names_the_row() -> None:
    data = _csv([["text", "label"], ["a", "x"], ["b", "x"], ["   ", "x"]])
    with pytest.raises(CsvError, match="row 3") as info:
        read_labelled_csv(io.BytesIO(data))
    assert info.value.row == 3 and info.value.line == 4
    assert "empty text" in str(info.value)


def test_missing_field_is_empty_text() -> None:
    with pytest.raises(CsvError, match="row 2"):
        read_labelled_csv(io.BytesIO(b"label,text\nx,a\nx\n"))


def test_empty_label_names_the_row() -> None:
    data = _csv([["text", "label"], ["a", "x"], ["b", ""], ["c", "x"]])
    with pytest.raises(CsvError, match=r"row 2.*empty label"):
        read_labelled_csv(io.BytesIO(data))


def test_label_seen_once_names_label_and_row() -> None:
    data = _csv([["text", "label"], ["a", "x"], ["b", "x"], ["c", "lonely"], ["d", "x"]])
    with pytest.raises(CsvError, match="row 3: label 'lonely' occurs only once") as info:
        read_labelled_csv(io.BytesIO(data))
    assert info.value.row == 3
    texts, _ = read_labelled_csv(io.BytesIO(data), check_label_counts=False)
    assert len(texts) == 4


def test_non_utf8_byte_names_the_row() -> None:
    data = _csv([["text", "label"], ["a", "x"], ["b", "x"]]) + "café,x\r\n".encode("latin-1")
    with pytest.raises(CsvError) as info:
        read_labelled_csv(io.BytesIO(data))
    assert info.value.row == 3 and info.value.line == 4
    assert "row 3 (line 4)" in str(info.value) and "0xe9" in str(info.value)


def test_non_utf8_byte_via_text_mode_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"text,label\na,x\nb\xff,x\n")
    with open(path, encoding="utf-8", newline="") as fh, pytest.raises(CsvError, match="row 2"):
        read_labelled_csv(fh)


def test_non_utf8_byte_in_header() -> None:
    with pytest.raises(CsvError, match="line 1"):
        read_labelled_csv(io.BytesIO(b"t\xe9xt,label\na,x\n"))


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(content: bytes) -> None:
    with pytest.raises(CsvError, match="empty"):
        read_labelled_csv(io.BytesIO(content))


def test_header_only_file() -> None:
    with pytest.raises(CsvError, match="no data rows"):
        read_labelled_csv(io.BytesIO(b"text,label\n"))


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(CsvError, match="cannot read"):
        read_labelled_csv(tmp_path / "absent.csv")


texts_strategy = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40
).filter(lambda s: s.strip())


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(texts_strategy, min_size=1, max_size=15), multilabel=st.booleans())
def test_round_trip_arbitrary_texts(texts: list[str], multilabel: bool) -> None:
    labels = ["a", "b"] * len(texts)
    rows = [["text", "label"]] + [[t, labels[i]] for i, t in enumerate(texts)]
    rows += [["padding a", "a"], ["padding b", "b"], ["padding b2", "b"]]
    got_texts, got_labels = read_labelled_csv(io.BytesIO(_csv(rows)), multilabel=multilabel)
    assert got_texts == [*texts, "padding a", "padding b", "padding b2"]
    expected = [*labels[: len(texts)], "a", "b", "b"]
    assert got_labels == ([(x,) for x in expected] if multilabel else expected)
