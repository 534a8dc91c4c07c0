"""The column layout alone (no database): which columns a survey's questions get, and back."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from surveys.analytics.layout import BITS_PER_COLUMN, Layout, QuestionSpec, layout_for, row_values

OPTIONS = [f"o{n}" for n in range(70)]


@given(
    count=st.integers(1, 70),
    chosen=st.one_of(st.none(), st.sets(st.sampled_from(OPTIONS))),
)
def test_flags_survive_the_bitsets_of_any_width(count: int, chosen: set[str] | None) -> None:
    options = tuple(OPTIONS[:count])
    layout = layout_for("t", [QuestionSpec(id=7, type="multiple_choice", codes=options)])
    assert len(layout.columns) == -(-count // BITS_PER_COLUMN)
    layout = Layout.from_json(layout.as_json())
    answers = {} if chosen is None else {(7, ""): SimpleNamespace(choices=sorted(chosen))}
    values = dict(zip((c.name for c in layout.columns), row_values(layout, answers), strict=True))
    for option in options:
        flag = layout.flag(("flag", 7, option))
        assert flag is not None
        expected = None if chosen is None else ("1" if option in chosen else "0")
        assert flag.decode(values[flag.column.name]) == expected


def test_a_layout_covers_another_only_with_every_column_and_code() -> None:
    old = layout_for(
        "t",
        [
            QuestionSpec(id=1, type="single_choice", codes=("a", "b")),
            QuestionSpec(id=2, type="multiple_choice", codes=("x", "y")),
        ],
    )
    more_codes = layout_for("t", [QuestionSpec(id=1, type="single_choice", codes=("a", "c"))])
    more_options = layout_for("t", [QuestionSpec(id=2, type="multiple_choice", codes=("z",))])
    other_type = layout_for("t", [QuestionSpec(id=1, type="yes_no")])
    assert old.covers(layout_for("t", [QuestionSpec(id=2, type="multiple_choice", codes=("y",))]))
    assert not old.covers(more_codes)
    assert old.with_codes({"q1": ["c"]}).covers(more_codes)
    assert not old.covers(more_options)
    assert not old.covers(other_type)
