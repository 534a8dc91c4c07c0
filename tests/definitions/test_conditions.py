"""Skip logic: conditions as a pure function (property-based) and pages/questions in the flow."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.definitions import conditions
from surveys.definitions.conditions import ConditionError
from tests.surveys.helpers import page_title, post, question_codes, start, text, ui, url

# Strategies ------------------------------------------------------------------------------------
CODES = ["q1", "q2", "grid"]
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
# Near-misses are more interesting than noise: objects built from the condition vocabulary.
keys = st.sampled_from(["question", "op", "value", "row", "all", "any", "not", "x"])
fuzzy_conditions = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            keys,
            inner
            | st.sampled_from([*sorted(conditions.OPERATORS), *CODES, "r1"])
            | st.lists(inner),
            max_size=4,
        )
    ),
    max_leaves=25,
)

values = st.one_of(
    st.sampled_from(["a", "b", "yes", "no", "1", "4", "5", "na", ""]),
    st.integers(-5, 10),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-100, max_value=100),
    st.booleans(),
)


def leaf(op: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    ops = st.just(op) if op else st.sampled_from(sorted(conditions.OPERATORS))

    def build(draw_op: str, question: str, value: Any, items: list[Any], row: str | None) -> dict:
        condition: dict[str, Any] = {"question": question, "op": draw_op}
        if row is not None:
            condition["row"] = row
        if draw_op in {"in", "not_in"}:
            condition["value"] = items
        elif draw_op in {"gt", "gte", "lt", "lte"}:
            numeric = isinstance(value, int | Decimal) and not isinstance(value, bool)
            condition["value"] = str(value) if numeric else "3"
        elif draw_op not in {"answered", "not_answered"}:
            condition["value"] = value
        return condition

    return st.builds(
        build,
        ops,
        st.sampled_from(CODES),
        values,
        st.lists(values, max_size=3),
        st.none() | st.sampled_from(["r1", "r2"]),
    )


valid_conditions = st.recursive(
    leaf(),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts})
        | st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts})
        | inner.map(lambda part: {"not": part})
    ),
    max_leaves=8,
)
answer_values = st.one_of(
    st.none(),
    values,
    st.lists(st.sampled_from(["a", "b", "video", "none"]), max_size=3),
    st.dictionaries(st.sampled_from(["r1", "r2"]), st.sampled_from(["1", "3", "5", "na"])),
    json_values,
)
answer_sets = st.dictionaries(st.sampled_from([*CODES, "other"]), answer_values, max_size=4)


# Properties ------------------------------------------------------------------------------------
@settings(max_examples=250, deadline=None)
@given(st.one_of(json_values, fuzzy_conditions))
def test_validate_raises_only_condition_errors(candidate):
    try:
        conditions.validate(candidate)
    except ConditionError as error:
        assert str(error)
    else:
        # What validate accepts, evaluate and condition_problems can handle; with no earlier
        # questions, every problem names a question the condition refers to.
        conditions.evaluate(candidate, {})
        for problem in conditions.condition_problems(candidate, earlier={}):
            code = re.fullmatch(r"refers to (.*), not a question on an earlier page\.", problem)
            assert code is not None
            assert ast.literal_eval(code.group(1)) in _all_strings(candidate)


def _all_strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_all_strings(v) for v in value.values()), set())
    if isinstance(value, list):
        return set().union(*(_all_strings(v) for v in value), set())
    return set()


@settings(max_examples=200, deadline=None)
@given(valid_conditions, answer_sets)
def test_evaluate_never_raises_on_valid_conditions(condition, answers):
    conditions.validate(condition)
    assert conditions.evaluate(condition, answers) in (True, False)


@settings(max_examples=200, deadline=None)
@given(valid_conditions, answer_sets)
def test_not_negates(condition, answers):
    assert conditions.evaluate({"not": condition}, answers) is (
        not conditions.evaluate(condition, answers)
    )


@settings(max_examples=120, deadline=None)
@given(st.lists(valid_conditions, min_size=1, max_size=4), answer_sets)
def test_all_and_any(parts, answers):
    results = [conditions.evaluate(part, answers) for part in parts]
    assert conditions.evaluate({"all": parts}, answers) is all(results)
    assert conditions.evaluate({"any": parts}, answers) is any(results)
    # De Morgan, through the combinators themselves.
    negated = [{"not": part} for part in parts]
    assert conditions.evaluate({"not": {"all": parts}}, answers) is conditions.evaluate(
        {"any": negated}, answers
    )


@settings(max_examples=200, deadline=None)
@given(leaf("answered"), answer_sets)
def test_answered_and_not_answered_are_opposites(condition, answers):
    opposite = {**condition, "op": "not_answered"}
    assert conditions.evaluate(condition, answers) is not conditions.evaluate(opposite, answers)


@pytest.mark.parametrize(
    ("condition", "answers", "expected"),
    [
        ({"question": "q", "op": "equals", "value": True}, {"q": True}, True),
        ({"question": "q", "op": "equals", "value": True}, {"q": False}, False),
        ({"question": "q", "op": "equals", "value": "yes"}, {"q": True}, True),
        ({"question": "q", "op": "equals", "value": 3}, {"q": Decimal("3.0000")}, True),
        ({"question": "q", "op": "not_equals", "value": "a"}, {}, True),
        ({"question": "q", "op": "contains", "value": "none"}, {"q": ["video", "none"]}, True),
        ({"question": "q", "op": "contains", "value": "none"}, {"q": ["video"]}, False),
        ({"question": "q", "op": "in", "value": ["a", "b"]}, {"q": "b"}, True),
        ({"question": "q", "op": "not_in", "value": ["a", "b"]}, {"q": "c"}, True),
        ({"question": "m", "row": "r", "op": "gte", "value": "4"}, {"m": {"r": "4"}}, True),
        ({"question": "m", "row": "r", "op": "gte", "value": "4"}, {"m": {"r": "3"}}, False),
        ({"question": "m", "row": "r", "op": "gte", "value": "4"}, {"m": {"r": "na"}}, False),
        ({"question": "m", "row": "r", "op": "gte", "value": "4"}, {"m": "5"}, False),
        ({"question": "q", "op": "lt", "value": 10}, {"q": Decimal("9.5")}, True),
        ({"question": "q", "op": "answered"}, {"q": False}, True),
        ({"question": "q", "op": "answered"}, {"q": Decimal("0")}, True),
        ({"question": "q", "op": "answered"}, {"q": []}, False),
        ({"question": "q", "op": "gt", "value": 1}, {}, False),
    ],
)
def test_operators(condition, answers, expected):
    conditions.validate(condition)
    assert conditions.evaluate(condition, answers) is expected


@pytest.mark.parametrize(
    "condition",
    [
        [],
        "q",
        {"all": []},
        {"all": [{"question": "q", "op": "answered"}], "any": []},
        {"not": {"question": "q", "op": "answered"}, "question": "q"},
        {"question": "", "op": "answered"},
        {"question": "q", "op": "resembles"},
        {"question": "q", "op": ["equals"]},
        {"question": "q", "op": {"equals": 1}},
        {"question": "q", "op": "equals"},
        {"question": "q", "op": "in", "value": "a"},
        {"question": "q", "op": "gte", "value": "many"},
        {"question": "q", "op": "gte", "value": float("nan")},
        {"question": "q", "op": "answered", "row": 3},
        {"question": "q", "op": "answered", "colour": "red"},
        {
            "not": {
                "not": {
                    "not": {
                        "not": {
                            "not": {
                                "not": {
                                    "not": {
                                        "not": {
                                            "not": {
                                                "not": {
                                                    "not": {
                                                        "not": {"question": "q", "op": "answered"}
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ],
)
def test_malformed_conditions_are_rejected(condition):
    with pytest.raises(ConditionError):
        conditions.validate(condition)


# Skip logic in the flow ------------------------------------------------------------------------
def _titles_in_order(client, token: str, answers: dict[str, dict[str, Any]]) -> list[str]:
    titles = []
    while True:
        page = client.get(url(token))
        if page.status_code != 200:
            return titles
        titles.append(page_title(page))
        result = post(client, token, answers.get(page_title(page), {}))
        assert result.status_code == 302
        if "/thanks/" in result["Location"]:
            return titles


@pytest.mark.django_db
def test_pages_follow_the_answers(client, skip_logic_survey):
    token = start(client, skip_logic_survey)
    answers = {"Start": {"q_paid": "yes", "q_media": ["image"], "q_pet": "cat"}}
    assert _titles_in_order(client, token, answers) == ["Start", "About pay", "Details", "End"]

    other = start(client, skip_logic_survey)
    answers = {"Start": {"q_paid": "no", "q_media": ["image", "video"], "q_pet": "cat"}}
    assert _titles_in_order(client, other, answers) == ["Start", "About video", "Details", "End"]


@pytest.mark.django_db
def test_progress_never_moves_back_as_branches_open(client, skip_logic_survey):
    token = start(client, skip_logic_survey)
    first = client.get(url(token))
    progress = "Page %(number)s · %(percent)s%% done"
    assert ui(progress, number=1, percent=0) in text(first)
    post(client, token, {"q_paid": "yes", "q_media": ["video"]})
    second = client.get(url(token))
    assert page_title(second) == "About pay"
    # Opening branches adds pages to the path, but never moves the figure back.
    assert ui(progress, number=2, percent=20) in text(second)


@pytest.mark.django_db
def test_hidden_pages_are_skipped_going_back(client, skip_logic_survey):
    token = start(client, skip_logic_survey)
    post(client, token, {"q_paid": "yes", "q_media": ["video"], "q_pet": "cat"})
    assert page_title(client.get(url(token))) == "About pay"
    post(client, token, {"q_paid_detail": "Per day"})
    assert page_title(client.get(url(token))) == "About video"
    post(client, token, {}, action="back")
    post(client, token, {}, action="back")
    assert page_title(client.get(url(token))) == "Start"
    # Now hide both middle pages: forwards and backwards they are passed over.
    post(client, token, {"q_paid": "no", "q_media": ["image"], "q_pet": "cat"})
    assert page_title(client.get(url(token))) == "Details"
    post(client, token, {}, action="back")
    assert page_title(client.get(url(token))) == "Start"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start_answers", "shown"),
    [
        ({"q_pet": "cat"}, ["always"]),
        ({"q_pet": "dog"}, ["not_cat", "always"]),
        ({}, ["not_cat", "always"]),  # not(pet equals cat) holds when pet is unanswered
        ({"q_pet": "cat", "q_grid__r1": "4"}, ["high_r1", "always"]),
        ({"q_pet": "cat", "q_grid__r1": "5", "q_grid__r2": "1"}, ["high_r1", "always"]),
        ({"q_pet": "cat", "q_grid__r1": "3"}, ["always"]),
        ({"q_pet": "cat", "q_grid__r1": "na"}, ["always"]),
        ({"q_pet": "cat", "q_grid__r2": "5"}, ["always"]),
        ({"q_pet": "cat", "q_nickname": "Ace"}, ["named", "always"]),
    ],
)
def test_question_conditions(client, skip_logic_survey, start_answers, shown):
    token = start(client, skip_logic_survey)
    post(client, token, start_answers)
    details = client.get(url(token))
    assert page_title(details) == "Details"
    assert question_codes(details) == shown


@pytest.mark.django_db
def test_hidden_required_question_does_not_block(client, skip_logic_survey):
    token = start(client, skip_logic_survey)
    post(client, token, {"q_pet": "dog"})
    assert post(client, token, {"q_always": "x"}).status_code == 400  # not_cat is required
    post(client, token, {}, action="back")
    post(client, token, {"q_pet": "cat"})
    assert post(client, token, {"q_always": "x"}).status_code == 302
    assert page_title(client.get(url(token))) == "End"


@pytest.mark.django_db
@pytest.mark.parametrize("paid", ["yes", "no"])
@pytest.mark.parametrize("media", [["video"], ["image"]])
def test_progress_only_grows_going_forward_on_every_path(client, skip_logic_survey, paid, media):
    token = start(client, skip_logic_survey)
    seen: list[int] = []
    for _ in range(6):
        page = client.get(url(token))
        found = re.search(r"· (\d+)% done", text(page))
        assert found, text(page)
        seen.append(int(found.group(1)))
        result = post(client, token, {"q_paid": paid, "q_media": media, "q_pet": "cat"})
        assert result.status_code == 302
        if result["Location"].endswith("/thanks/"):
            break
    assert seen == sorted(set(seen)) and seen[0] == 0 and len(seen) >= 3, seen
