"""Non-substantive answers (don't know, not applicable, refused) are declared missing in SAV/DTA.

Each file is read back with pyreadstat (and pandas for Stata's extended missing values), and the
mean it gives is compared with the statistics API's mean of the same item.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from surveys.definitions.transfer import survey_export_definition
from surveys.models import Choice
from tests.api.helpers import API, token_client
from tests.exports.conftest import client_for, downloaded, respond, unzip

OUTLOOK = ["1", "2", "3", "4", "5", "6", "7", "3", "4", "5", "2", "na", "na", "6"]
MATRIX = ["1", "2", "3", "4", "5", "4", "3", "2", "na", "5", "4", "na", "1", "3"]


def _api_mean(user, survey, variable: str) -> float:  # type: ignore[no-untyped-def]
    response = token_client(user).get(
        f"{API}/surveys/{survey.slug}/statistics/?variable={variable}&stat=mean"
    )
    assert response.status_code == 200, response.content[:300]
    return response.json()["table"]["overall"]["mean"]


def _data_file(user, job, suffix: str) -> bytes:  # type: ignore[no-untyped-def]
    files = unzip(downloaded(client_for(user).get(f"/exports/{job.pk}/download/")))
    return next(content for name, content in files.items() if name.endswith(suffix))


@pytest.fixture
def answered(default_survey, people):  # type: ignore[no-untyped-def]
    for outlook, matrix in zip(OUTLOOK, MATRIX, strict=True):
        respond(
            default_survey,
            {"outlook_5y": outlook, "exposure_matrix": {"tasks_doable": matrix}},
        )
    return default_survey


def test_the_default_survey_marks_its_non_substantive_choices(default_survey):  # type: ignore[no-untyped-def]
    missing = set(
        Choice.objects.filter(question__survey=default_survey, missing=True).values_list(
            "question__code", "code"
        )
    )
    assert ("outlook_5y", "na") in missing and ("exposure_matrix", "na") in missing
    assert ("income_band", "prefer_not") in missing
    assert not Choice.objects.filter(question__survey=default_survey, code="1", missing=True)
    # The flag travels with the JSON definition.
    definition = survey_export_definition(survey=default_survey)
    outlook = next(
        q for page in definition["pages"] for q in page["questions"] if q["code"] == "outlook_5y"
    )
    assert {c["code"]: c.get("missing", False) for c in outlook["choices"]}["na"] is True
    assert "missing" not in outlook["choices"][0]


@pytest.mark.parametrize("variable", ["outlook_5y", "exposure_matrix_tasks_doable"])
def test_sav_declares_dont_know_missing_and_agrees_with_the_api(  # type: ignore[no-untyped-def]
    answered, people, run_export, variable
):
    job = run_export(people.viewer, answered, format="sav")
    assert job.status == "done", job.error
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.sav"
        path.write_bytes(_data_file(people.viewer, job, ".sav"))
        frame, meta = pyreadstat.read_sav(str(path))  # user_missing=False: declared -> NaN
        raw, declared = pyreadstat.read_sav(str(path), user_missing=True)
    na_code = next(code for code, label in meta.variable_value_labels[variable].items()
                   if "know" in label.lower())  # fmt: skip
    # Beside "don't know", the two reasons a cell is empty (not shown, not answered).
    reasons = {code for code, label in meta.variable_value_labels[variable].items()
               if label in {"Not shown (skip logic)", "Shown but not answered"}}  # fmt: skip
    declared_codes = {r["lo"] for r in declared.missing_ranges[variable]}
    assert declared_codes == {na_code, *reasons}
    assert (raw[variable] == na_code).sum() == 2  # the answers are kept, declared missing
    assert frame[variable].isna().sum() == 2
    assert frame[variable].mean() == pytest.approx(_api_mean(people.viewer, answered, variable))


@pytest.mark.parametrize("variable", ["outlook_5y", "exposure_matrix_tasks_doable"])
def test_dta_stores_dont_know_as_extended_missing_and_agrees_with_the_api(  # type: ignore[no-untyped-def]
    answered, people, run_export, variable
):
    job = run_export(people.viewer, answered, format="dta")
    assert job.status == "done", job.error
    content = _data_file(people.viewer, job, ".dta")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.dta"
        path.write_bytes(content)
        frame, _meta = pyreadstat.read_dta(str(path))
        _, user = pyreadstat.read_dta(str(path), user_missing=True)
    # .a and .b say why a cell is empty (not shown, not answered); "don't know" comes next.
    assert user.missing_user_values.get(variable) == ["c"], user.missing_user_values
    assert "know" in user.variable_value_labels[variable]["c"].lower()
    assert frame[variable].isna().sum() == 2
    assert frame[variable].mean() == pytest.approx(_api_mean(people.viewer, answered, variable))
    # An independent reader sees Stata's .a, not a number.
    stata = pd.read_stata(io.BytesIO(content), convert_missing=True, convert_categoricals=False)
    assert sum(str(value) == ".c" for value in stata[variable]) == 2
