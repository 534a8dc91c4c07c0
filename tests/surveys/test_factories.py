"""The shared factories build consistent rows that the respondent side can use."""

from __future__ import annotations

import pytest
from django.test import Client

from surveys.models import Question, Response
from tests.factories import (
    AnswerFactory,
    ChoiceFactory,
    MatrixRowFactory,
    PageFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
)
from tests.surveys.helpers import post, start, url


@pytest.mark.django_db
def test_factories_build_one_consistent_survey():
    survey = SurveyFactory()
    page = PageFactory(survey=survey)
    single = QuestionFactory(page=page, type=Question.Type.SINGLE_CHOICE, required=True)
    ChoiceFactory.create_batch(2, question=single)
    matrix = QuestionFactory(page=page, type=Question.Type.LIKERT_MATRIX, scale=5)
    for code in "12345":
        ChoiceFactory(question=matrix, code=code)
    MatrixRowFactory.create_batch(2, question=matrix)
    assert single.survey == survey and matrix.survey == survey
    assert survey.is_accepting()

    client = Client()
    token = start(client, survey)
    assert client.get(url(token)).status_code == 200
    data = {f"q_{single.code}": single.choices.first().code}
    data |= {f"q_{matrix.code}__{row.code}": "4" for row in matrix.rows.all()}
    assert post(client, token, data, action="submit").status_code == 302
    assert Response.objects.get().answers.count() == 3


@pytest.mark.django_db
def test_response_and_answer_factories():
    complete = ResponseFactory(complete=True)
    assert complete.status == Response.Status.COMPLETE
    assert complete.submitted_at is not None
    answer = AnswerFactory(response=complete)
    assert answer.question.survey == complete.survey
    assert ResponseFactory().status == Response.Status.IN_PROGRESS
