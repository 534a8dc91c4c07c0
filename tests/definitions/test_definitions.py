"""Survey definitions: validation, atomic import, export round trip, management commands."""

from __future__ import annotations

import copy
import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.definitions.transfer import (
    DefinitionError,
    survey_export_definition,
    survey_import,
    validate_definition,
)
from surveys.models import Choice, MatrixRow, Page, Question, Survey
from tests.surveys.helpers import ALL_TYPES_DEFINITION, SKIP_LOGIC_DEFINITION

DEFAULT_SLUG = "genai-video-creative-work"


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Survey, Page, Question, Choice, MatrixRow))


def test_shipped_and_test_definitions_are_valid(default_definition):
    assert validate_definition(default_definition) == []
    assert validate_definition(ALL_TYPES_DEFINITION) == []
    assert validate_definition(SKIP_LOGIC_DEFINITION) == []


def test_missing_translations_are_reported(all_types_definition):
    definition = all_types_definition
    del definition["title"]["zh-hans"]
    definition["pages"][0]["questions"][0]["choices"][1]["label"]["zh-hans"] = "  "
    definition["pages"][0]["questions"][4]["rows"][0]["text"] = {"en": "Fast"}
    problems = validate_definition(definition)
    assert "title: missing translation for zh-hans." in problems
    assert "question pet choice dog: missing translation for zh-hans." in problems
    assert "question grid row fast: missing translation for zh-hans." in problems
    assert len(problems) == 3


def test_duplicate_codes_are_reported(all_types_definition):
    definition = all_types_definition
    pages = definition["pages"]
    pages[1]["questions"][0]["code"] = "pet"  # a question code used on an earlier page
    pages.append(copy.deepcopy(pages[1]) | {"code": "closing"})
    pages[0]["questions"][0]["choices"][1]["code"] = "cat"
    problems = validate_definition(definition)
    assert "question pet: duplicate question code." in problems
    assert "page 3 (closing): duplicate page code." in problems
    assert "question pet: choice codes must be present and unique." in problems


@pytest.mark.parametrize(
    "condition",
    [
        {"question": "last_words", "op": "answered"},  # on a later page
        {"question": "pet", "op": "equals", "value": "cat"},  # on the same page
        {"question": "nowhere", "op": "answered"},
        {
            "any": [
                {"question": "pet", "op": "answered"},
                {"not": {"question": "zzz", "op": "answered"}},
            ]
        },
    ],
)
def test_conditions_must_refer_to_earlier_questions(all_types_definition, condition):
    all_types_definition["pages"][0]["questions"][1]["condition"] = condition
    problems = validate_definition(all_types_definition)
    assert problems
    for problem in problems:
        assert problem.startswith("question media condition: refers to")
        assert problem.endswith("not a question on an earlier page.")


def test_malformed_condition_is_reported(all_types_definition):
    all_types_definition["pages"][1]["condition"] = {"question": "pet", "op": ["equals"]}
    assert validate_definition(all_types_definition) == [
        "page 2 (closing) condition: Unknown operator ['equals']; use one of answered, contains, "
        "equals, gt, gte, in, lt, lte, not_answered, not_equals, not_in."
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"scale": 6}, "Likert 'scale' must be 5 or 7."),
        ({"scale": None}, "Likert 'scale' must be 5 or 7."),
        (
            {
                "choices": [
                    {"code": str(n), "label": {"en": "x", "zh-hans": "x"}} for n in range(0, 5)
                ]
            },
            "Likert choices must be coded '1'..'5' (plus 'na').",
        ),
        (
            {"choices": [{"code": c, "label": {"en": "x", "zh-hans": "x"}} for c in "54321"]},
            "Likert choices must be coded '1'..'5' (plus 'na').",
        ),
        ({"scale": 7}, "Likert choices must be coded '1'..'7' (plus 'na')."),
    ],
)
def test_bad_likert_definitions(all_types_definition, change, expected):
    all_types_definition["pages"][0]["questions"][2].update(change)  # agree5
    assert validate_definition(all_types_definition) == [f"question agree5: {expected}"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"type": "slider"}, "unknown type 'slider'."),
        ({"min_value": 50, "max_value": 20}, "max_value is below min_value."),
        ({"min_value": "eighteen"}, "'min_value' must be a number."),
        ({"max_value": [1]}, "'max_value' must be a number."),
        ({"classify": True}, "only long_text and multiple_short_text questions can be classified."),
        (
            {"choices": [{"code": "a", "label": {"en": "a", "zh-hans": "a"}}]},
            "a number question takes no choices.",
        ),
    ],
)
def test_bad_question_definitions(all_types_definition, change, expected):
    all_types_definition["pages"][0]["questions"][5].update(change)  # age (number)
    assert validate_definition(all_types_definition) == [f"question age: {expected}"]


def test_survey_level_problems():
    problems = validate_definition(
        {"languages": ["en", "fr"], "default_language": "de", "status": "paused", "pages": []}
    )
    assert problems[:4] == [
        "'slug' is missing.",
        "Language 'fr' is not supported (en, zh-hans).",
        "'default_language' must be one of 'languages'.",
        "'status' must be one of draft, open, closed.",
    ]
    assert "'pages' must list at least one page." in problems
    assert validate_definition([]) == ["The definition must be a JSON object."]


# Hypothesis: replace one node of a valid definition with arbitrary JSON; never crash.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


_ALL_PATHS = _paths(ALL_TYPES_DEFINITION)[1:]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_ALL_PATHS), _json)
def test_validate_definition_reports_instead_of_crashing(path, replacement):
    definition = copy.deepcopy(ALL_TYPES_DEFINITION)
    node = definition
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = replacement
    problems = validate_definition(definition)
    assert isinstance(problems, list)
    assert all(isinstance(problem, str) for problem in problems)


# Import and export -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_import_with_problems_writes_nothing(all_types_definition):
    all_types_definition["pages"][1]["questions"][0]["type"] = "slider"
    with pytest.raises(DefinitionError) as caught:
        survey_import(definition=all_types_definition)
    assert caught.value.problems == ["question last_words: unknown type 'slider'."]
    assert _counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_import_failing_half_way_is_rolled_back(all_types_definition, monkeypatch):
    # A database error after the survey, pages and questions were written: all or nothing.
    def fail(*args, **kwargs):
        raise IntegrityError("simulated failure while writing matrix rows")

    monkeypatch.setattr(MatrixRow.objects, "bulk_create", fail)
    with pytest.raises(IntegrityError):
        survey_import(definition=all_types_definition)
    assert _counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"max_length": -1}, "'max_length' must be a positive whole number."),
        ({"scale": 6}, "only Likert questions have a 'scale'."),
    ],
)
def test_values_the_database_would_refuse_are_reported(all_types_definition, change, expected):
    all_types_definition["pages"][1]["questions"][0].update(change)
    with pytest.raises(DefinitionError) as caught:
        survey_import(definition=all_types_definition)
    assert caught.value.problems == [f"question last_words: {expected}"]
    assert _counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_import_of_an_existing_slug_is_refused_unless_replaced(all_types_definition):
    survey_import(definition=all_types_definition)
    with pytest.raises(DefinitionError, match="exists already"):
        survey_import(definition=all_types_definition)
    all_types_definition["title"]["en"] = "Renamed"
    survey = survey_import(definition=all_types_definition, replace=True)
    assert survey.title["en"] == "Renamed"
    assert Survey.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["default", "all_types", "skip_logic"])
def test_export_import_round_trip(default_definition, source):
    definition = {
        "default": default_definition,
        "all_types": ALL_TYPES_DEFINITION,
        "skip_logic": SKIP_LOGIC_DEFINITION,
    }[source]
    exported = survey_export_definition(survey=survey_import(definition=copy.deepcopy(definition)))
    assert validate_definition(exported) == []
    # JSON all the way, as a researcher would move it between installations.
    copied = json.loads(json.dumps(exported)) | {"slug": "copy"}
    again = survey_export_definition(survey=survey_import(definition=copied))
    assert again == exported | {"slug": "copy"}
    # Nothing of the original was lost on the way.
    questions = [q for page in definition["pages"] for q in page["questions"]]
    exported_questions = [q for page in exported["pages"] for q in page["questions"]]
    assert [q["code"] for q in exported_questions] == [q["code"] for q in questions]
    for original, copy_ in zip(questions, exported_questions, strict=True):
        for key in ("type", "text", "condition", "scale", "rows", "integer", "classify"):
            if original.get(key):
                assert copy_[key] == original[key], (original["code"], key)
        for key in ("min_value", "max_value"):
            if key in original:
                assert copy_[key] == original[key]
        assert [c["code"] for c in copy_.get("choices", [])] == [
            c["code"] for c in original.get("choices", [])
        ]


# Management commands ---------------------------------------------------------------------------
def _call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_survey_import_command_default_file_and_if_missing():
    assert "Imported survey 'genai-video-creative-work'" in _call("survey_import")
    survey = Survey.objects.get(slug=DEFAULT_SLUG)
    assert survey.pages.count() == 9
    with pytest.raises(CommandError, match="exists already"):
        _call("survey_import")
    assert "already there" in _call("survey_import", "--if-missing")
    assert Survey.objects.count() == 1
    assert Survey.objects.get().pk == survey.pk


@pytest.mark.django_db
def test_survey_import_command_bad_json(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"slug": "x", ', encoding="utf-8")
    with pytest.raises(CommandError, match="is not valid UTF-8 JSON"):
        _call("survey_import", str(broken))
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"slug": "caf\xe9"}')
    with pytest.raises(CommandError, match="is not valid UTF-8 JSON"):
        _call("survey_import", str(latin))
    with pytest.raises(CommandError, match="No such file"):
        _call("survey_import", str(tmp_path / "missing.json"))
    assert Survey.objects.count() == 0


@pytest.mark.django_db
def test_survey_import_command_lists_every_problem(tmp_path, all_types_definition):
    all_types_definition["slug"] = ""
    all_types_definition["pages"][0]["questions"][2]["scale"] = 4
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(all_types_definition), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        _call("survey_import", str(path))
    text = str(caught.value)
    assert "- 'slug' is missing." in text
    assert "- question agree5: Likert 'scale' must be 5 or 7." in text
    assert Survey.objects.count() == 0


@pytest.mark.django_db
def test_survey_import_command_with_a_json_array(tmp_path):
    path = tmp_path / "array.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CommandError, match="must be a JSON object"):
        _call("survey_import", str(path))


@pytest.mark.django_db
def test_create_researcher_is_idempotent(tmp_path):
    credentials = tmp_path / "credentials.txt"
    first = _call("create_researcher", "--credentials-file", str(credentials))
    second = _call("create_researcher", "--credentials-file", str(credentials))
    assert first == second
    password = first.split("password ")[1].split(" ")[0].strip("'")
    user = get_user_model().objects.get(username="researcher")
    assert user.is_staff and user.check_password(password)
    assert get_user_model().objects.count() == 1
    assert credentials.read_text() == f"researcher:{password}\n"
    assert credentials.stat().st_mode & 0o777 == 0o600


# Skip logic that the builder's forms refuse is refused by the import too: both call
# surveys.definitions.conditions.condition_problems.
SKIP_LOGIC_BOTH_REFUSE = [
    ({"question": "pet", "op": "equals", "value": "pirate"}, "“pet” has no choice 'pirate'"),
    ({"question": "pet", "op": "in", "value": ["cat", "parrot"]}, "has no choice 'parrot'"),
    ({"question": "media", "op": "contains", "value": "radio"}, "“media” has no choice 'radio'"),
    ({"question": "agree5", "op": "equals", "value": 9}, "“agree5” has no choice '9'"),
    ({"question": "grid", "row": "nope", "op": "answered"}, "“grid” has no matrix row “nope”."),
    (
        {"question": "grid", "row": "fast", "op": "equals", "value": "8"},
        "“grid” has no choice '8'",
    ),
    ({"question": "grid", "op": "answered"}, "“grid” is a matrix: name one of its rows"),
    ({"question": "age", "row": "fast", "op": "gt", "value": 3}, "“age” has no matrix row"),
    (
        {
            "any": [
                {"question": "paid", "op": "equals", "value": True},
                {"not": {"question": "pet", "op": "not_in", "value": ["dog", "hamster"]}},
            ]
        },
        "“pet” has no choice 'hamster'",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("condition", "message"), SKIP_LOGIC_BOTH_REFUSE)
def test_import_refuses_skip_logic_the_builder_refuses(all_types_definition, condition, message):
    all_types_definition["pages"][1]["questions"][0]["condition"] = condition
    problems = validate_definition(all_types_definition)
    assert len(problems) == 1
    assert problems[0].startswith("question last_words condition: ")
    assert message in problems[0]
    with pytest.raises(DefinitionError) as refused:
        survey_import(definition=all_types_definition)
    assert refused.value.problems == problems


@pytest.mark.django_db
@pytest.mark.parametrize(("condition", "message"), SKIP_LOGIC_BOTH_REFUSE)
def test_builder_and_import_give_the_same_reasons(all_types_survey, condition, message):
    from surveys.admin.forms import skip_logic_problems

    closing = all_types_survey.pages.get(code="closing")
    from_builder = skip_logic_problems(
        condition, survey=all_types_survey, before_position=closing.position
    )
    definition = survey_export_definition(survey=all_types_survey)
    definition["pages"][1]["questions"][0]["condition"] = condition
    from_import = validate_definition(definition)
    assert [f"question last_words condition: {p}" for p in from_builder] == from_import
    assert any(message in problem for problem in from_builder)


def test_import_accepts_skip_logic_on_real_codes_and_rows(all_types_definition):
    all_types_definition["pages"][1]["questions"][0]["condition"] = {
        "all": [
            {"question": "pet", "op": "in", "value": ["cat", "other"]},
            {"question": "media", "op": "contains", "value": "video"},
            {"question": "agree5", "op": "gte", "value": 4},
            {"question": "grid", "row": "cheap", "op": "equals", "value": "na"},
            {"question": "job", "op": "equals", "value": "2166"},  # coded lists are not checked
            {"question": "paid", "op": "equals", "value": True},
        ]
    }
    assert validate_definition(all_types_definition) == []


def test_hidden_choices_travel_through_json(db):
    definition = copy.deepcopy(SKIP_LOGIC_DEFINITION)
    definition["pages"][0]["questions"][0]["choices"][1]["hidden"] = True  # pet: dog
    survey = survey_import(definition=definition)
    assert Choice.objects.get(question__survey=survey, code="dog").hidden
    exported = survey_export_definition(survey=survey)
    choices = exported["pages"][0]["questions"][0]["choices"]
    assert [c.get("hidden", False) for c in choices] == [False, True]
