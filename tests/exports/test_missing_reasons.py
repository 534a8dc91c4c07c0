"""An empty answer says why: not shown by skip logic (-99, .a) or shown but not answered (-98, .b).

Each format is read back with an independent reader (pandas, pyreadstat) and compared with what
the respondents were shown, which the survey's skip logic decides.
"""

from __future__ import annotations

import copy
import io
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest
from django.contrib.auth import get_user_model

from surveys.definitions.transfer import survey_import
from surveys.models import SurveyRole
from tests.exports.conftest import client_for, downloaded, respond, unzip
from tests.surveys import helpers

pytestmark = pytest.mark.django_db

# pay_kind is on a page shown only to paid respondents.
PAY_KIND = {
    "code": "pay_kind",
    "type": "single_choice",
    "text": {"en": "Paid how?", "zh-hans": "如何支付？"},
    "choices": [
        {"code": "salary", "label": {"en": "Salary", "zh-hans": "工资"}},
        {"code": "fees", "label": {"en": "Fees", "zh-hans": "费用"}},
    ],
}
PAY_DAYS = {
    "code": "pay_days",
    "type": "number",
    "text": {"en": "Paid days a month?", "zh-hans": "每月有报酬的天数？"},
    "min_value": 0,
    "max_value": 31,
}
# (answers, expected pay_kind cell in codes, expected pet cell in codes)
PEOPLE: list[tuple[dict[str, Any], str, str]] = [
    (
        {"pet": "cat", "paid": True, "pay_kind": "fees", "pay_days": 12, "media": ["video"]},
        "fees",
        "cat",
    ),
    ({"pet": "cat", "paid": True}, "-98", "cat"),  # shown, not answered
    ({"pet": "cat", "paid": False}, "-99", "cat"),  # hidden by skip logic
    ({"paid": False, "nickname": "x", "named": "y"}, "-99", "-98"),
]


@pytest.fixture
def survey_and_owner():  # type: ignore[no-untyped-def]
    definition = copy.deepcopy(helpers.SKIP_LOGIC_DEFINITION)
    paid_page = next(p for p in definition["pages"] if p["code"] == "paid_page")
    paid_page["questions"] += [PAY_KIND, PAY_DAYS]
    survey = survey_import(definition=definition)
    owner = get_user_model().objects.create_user("reasons-owner", password="pw")
    SurveyRole.objects.create(survey=survey, user=owner, role=SurveyRole.Role.OWNER)
    for answers, _pay, _pet in PEOPLE:
        respond(survey, answers)
    return survey, owner


def _data(owner: Any, job: Any, suffix: str) -> bytes:
    files = unzip(downloaded(client_for(owner).get(f"/exports/{job.pk}/download/")))
    return next(content for name, content in files.items() if name.endswith(suffix))


def test_csv_writes_the_reason_codes(survey_and_owner, run_export):  # type: ignore[no-untyped-def]
    survey, owner = survey_and_owner
    job = run_export(owner, survey, format="csv")
    assert job.status == "done", job.error
    frame = pd.read_csv(io.BytesIO(_data(owner, job, ".csv")), dtype=str, encoding="utf-8-sig")
    assert frame["pay_kind"].tolist() == [pay for _a, pay, _p in PEOPLE]
    assert frame["pet"].tolist() == [pet for _a, _pay, pet in PEOPLE]
    # Numbers and multiple-choice flags say why too.
    assert [float(v) for v in frame["pay_days"]] == [12, -98, -99, -99]
    assert frame["media_video"].tolist() == ["1", "-98", "-98", "-98"]
    labelled = run_export(owner, survey, format="csv", labels=True)
    frame = pd.read_csv(io.BytesIO(_data(owner, labelled, ".csv")), dtype=str, encoding="utf-8-sig")
    assert frame["pay_kind"].tolist() == [
        "Fees",
        "Shown but not answered",
        "Not shown (skip logic)",
        "Not shown (skip logic)",
    ]


def test_sav_declares_both_reasons_user_missing(survey_and_owner, run_export):  # type: ignore[no-untyped-def]
    survey, owner = survey_and_owner
    job = run_export(owner, survey, format="sav")
    assert job.status == "done", job.error
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.sav"
        path.write_bytes(_data(owner, job, ".sav"))
        frame, meta = pyreadstat.read_sav(str(path))
        raw, declared = pyreadstat.read_sav(str(path), user_missing=True)
    labels = meta.variable_value_labels["pay_kind"]
    by_label = {label: code for code, label in labels.items()}
    shown_not = by_label["Not shown (skip logic)"]
    unanswered = by_label["Shown but not answered"]
    assert shown_not != unanswered
    assert {r["lo"] for r in declared.missing_ranges["pay_kind"]} == {shown_not, unanswered}
    assert raw["pay_kind"].tolist() == [by_label["Fees"], unanswered, shown_not, shown_not]
    assert frame["pay_kind"].isna().tolist() == [False, True, True, True]
    assert raw["pay_days"].tolist() == [12, -98, -99, -99]
    assert frame["pay_days"].isna().tolist() == [False, True, True, True]
    assert {r["lo"] for r in declared.missing_ranges["pay_days"]} == {-99, -98}
    assert raw["media_video"].tolist() == [1, -98, -98, -98]
    assert frame["media_video"].isna().tolist() == [False, True, True, True]


def test_dta_stores_not_shown_as_a_and_not_answered_as_b(survey_and_owner, run_export):  # type: ignore[no-untyped-def]
    survey, owner = survey_and_owner
    job = run_export(owner, survey, format="dta")
    assert job.status == "done", job.error
    content = _data(owner, job, ".dta")
    stata = pd.read_stata(io.BytesIO(content), convert_missing=True, convert_categoricals=False)
    assert [str(v) for v in stata["pay_kind"]][1:] == [".b", ".a", ".a"]
    assert [str(v) for v in stata["pet"]][3] == ".b"
    assert [str(v) for v in stata["pay_days"]] == ["12.0", ".b", ".a", ".a"]
    assert [str(v) for v in stata["media_video"]] == ["1", ".b", ".b", ".b"]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.dta"
        path.write_bytes(content)
        _frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert meta.variable_value_labels["pay_kind"]["a"] == "Not shown (skip logic)"
    assert meta.variable_value_labels["pay_kind"]["b"] == "Shown but not answered"


def test_the_codebook_explains_both_codes(survey_and_owner):  # type: ignore[no-untyped-def]
    survey, owner = survey_and_owner
    response = client_for(owner).get(f"/exports/survey/{survey.slug}/codebook/?format=json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "-99" in text and "not shown" in text.lower()
    assert "-98" in text and "not answered" in text.lower()


def _reference_reasons(row: list[Any], source: list[Any], survey: Any) -> list[Any]:
    """The rule stated plainly: every answer of the row, every condition run for every cell."""
    from surveys.definitions import conditions
    from surveys.exports.missing import NOT_ANSWERED, NOT_SHOWN, has_reasons
    from surveys.models import Question

    questions = {q.pk: q for q in Question.objects.filter(survey=survey).select_related("page")}
    codes = {pk: q.code for pk, q in questions.items()}
    answers: dict[str, Any] = {}
    for variable, value in zip(source, row, strict=True):
        origin = variable.source[0] if variable.source else ""
        if (
            origin not in {"answer", "flag"}
            or value in (None, "")
            or variable.source[1] not in codes
        ):
            continue
        code = codes[variable.source[1]]
        if origin == "answer" and variable.source[2]:
            answers.setdefault(code, {})[variable.source[2]] = value
        elif origin == "answer":
            answers[code] = (value == "1") if variable.boolean else value
        elif str(value) == "1":
            answers.setdefault(code, []).append(variable.source[2])
    out = list(row)
    for position, variable in enumerate(source):
        if has_reasons(variable) and row[position] in (None, ""):
            question = questions[variable.source[1]]
            rules = [c for c in (question.page.condition, question.condition) if c]
            shown = all(conditions.evaluate(c, answers) for c in rules)
            out[position] = NOT_ANSWERED if shown else NOT_SHOWN
    return out


def test_reasons_match_the_plain_rule_for_random_rows(survey_and_owner) -> None:  # type: ignore[no-untyped-def]
    """Whatever the answers, and however often a combination repeats (the memo), the reasons
    are those of running every condition on every row."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from surveys.exports.codebook import export_variables
    from surveys.exports.missing import rows_with_reasons

    survey, _owner = survey_and_owner
    source, _variables = export_variables(survey=survey, language="en")

    def cell(variable: Any) -> Any:
        choices: list[Any] = [None, *variable.value_labels]
        if variable.kind == "multi_flag":
            choices = [None, 0, 1]
        elif variable.kind == "numeric":
            choices = [None, 0, 12, 40]
        elif variable.kind == "text":
            choices = [None, "", "text"]
        elif variable.kind == "datetime":
            choices = [None]
        return st.sampled_from(choices)

    row = st.tuples(*[cell(v) for v in source]).map(list)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(row, min_size=1, max_size=6).map(lambda rows: rows + rows))
    def check(rows: list[list[Any]]) -> None:
        expected = [_reference_reasons(r, source, survey) for r in rows]
        got = list(rows_with_reasons([list(r) for r in rows], survey=survey, variables=source))
        assert got == expected

    check()
