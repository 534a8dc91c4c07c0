"""The analytics store against the answers it is built from, after random sequences of operations.

Respondents submit (some after changing a page), leave responses unfinished, withdraw; researchers
test the questionnaire, add a choice, rebuild. After every sequence the store holds exactly the
complete, non-test responses with the values the row reader reads from the answers, and every
count read from it equals the count of the answers path.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys import reference
from surveys.analytics.layout import Layout
from surveys.analytics.selectors import Wanted, analytics_counts
from surveys.analytics.services import analytics_rebuild, analytics_survey_edited
from surveys.definitions.transfer import survey_import
from surveys.models import AnalyticsTable, Choice, Page, Question, Response, Survey
from surveys.respondent import services
from surveys.respondent.testing import response_test_start
from surveys.statistics.requests import statistics_request_build
from surveys.statistics.selectors import grouped_counts, statistics_responses, store_selection
from surveys.variables.catalogue import survey_variables
from surveys.variables.reader import variable_rows
from tests.analytics.helpers import store_matches_answers, store_rows
from tests.surveys.helpers import ALL_TYPES_DEFINITION

SETTINGS = settings(
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIKERT5 = ["1", "2", "3", "4", "5", "na"]
OCCUPATIONS = [o.isco for o in reference.occupations()[:4]] + [reference.OTHER]
COUNTRIES = ["CN", "US", "GB"]


@pytest.fixture
def survey(db: Any) -> Survey:
    definition = copy.deepcopy(ALL_TYPES_DEFINITION)
    return survey_import(definition=definition)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


answers = st.fixed_dictionaries(
    {
        "pet": _maybe(st.sampled_from(["cat", "dog", "other", "bird"])),  # bird: added later
        "media": _maybe(
            st.lists(st.sampled_from(["video", "image", "other", "none"]), min_size=1, max_size=3)
        ),
        "agree5": _maybe(st.sampled_from(LIKERT5)),
        "grid": _maybe(
            st.fixed_dictionaries(
                {"fast": st.sampled_from(LIKERT5), "cheap": st.sampled_from([*LIKERT5, ""])}
            )
        ),
        "paid": _maybe(st.booleans()),
        "job": _maybe(st.sampled_from(OCCUPATIONS)),
        "where": _maybe(st.sampled_from(COUNTRIES)),
        "age": _maybe(st.integers(18, 99)),
    }
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), answers, st.sampled_from(["en", "zh-hans"]), _maybe(answers)),
        st.tuples(st.just("partial"), answers),
        st.tuples(st.just("test"), answers),
        st.tuples(st.just("withdraw"), st.integers(0, 20)),
        st.tuples(st.just("rebuild")),
        st.tuples(st.just("add_choice")),
    ),
    max_size=10,
)


def _values(survey: Survey, given: dict[str, Any]) -> dict[str, services.PageValue]:
    return {code: services.PageValue(value) for code, value in given.items() if value is not None}


def _save(survey: Survey, response: Response, given: dict[str, Any]) -> Response:
    page = Page.objects.get(survey=survey, code="everything")
    return services.response_save_page(
        response=response, page=page, values=_values(survey, given), seconds=20
    )


def _apply(survey: Survey, operation: tuple[Any, ...], receipts: list[str]) -> None:
    kind = operation[0]
    if kind in {"submit", "partial"}:
        language = operation[2] if kind == "submit" else "en"
        response, _token = services.response_start(survey=survey, language=language)
        if kind == "submit" and operation[3] is not None:
            response = _save(survey, response, operation[3])  # answered, then changed
        response = _save(survey, response, operation[1])
        if kind == "submit":
            receipts.append(services.response_complete(response=response))
    elif kind == "test":
        response = _save(survey, response_test_start(survey=survey, language="en"), operation[1])
        services.response_complete(response=response)
    elif kind == "withdraw" and receipts:
        services.response_withdraw(receipt_code=receipts.pop(operation[1] % len(receipts)))
    elif kind == "rebuild":
        analytics_rebuild(survey=survey)
    elif kind == "add_choice" and not Choice.objects.filter(code="bird").exists():
        pet = Question.objects.get(survey=survey, code="pet")
        Choice.objects.create(question=pet, code="bird", label={"en": "Bird"}, position=9)
        analytics_survey_edited(survey=survey)


TABLES = [
    ("pet", "paid", []),
    ("grid_fast", "media_video", [("where", "US"), ("where", "CN")]),
    ("job", "agree5", [("paid", "1"), ("media_none", "0")]),
    ("media_image", "language", [("grid_cheap", "3")]),
    ("status", "pet", [("language", "zh-hans"), ("pet", "dog"), ("pet", "other")]),
]


def _check_counts(survey: Survey, stored: bool) -> None:
    for variable, by, filters in TABLES:
        request = statistics_request_build(
            survey=survey,
            variable=variable,
            by=by,
            filters=filters,
            date_from=timezone.localdate() - timedelta(days=3),
        )
        responses = statistics_responses(request=request)
        wanted = [request.variable, *([request.by] if request.by else [])]
        selection = store_selection(request=request)
        assert selection is not None
        old = grouped_counts(survey=survey, responses=responses, variables=wanted)
        new = grouped_counts(
            survey=survey, responses=responses, variables=wanted, selection=selection
        )
        assert Counter(dict(new)) == Counter(dict(old))
        assert len(new) == len(Counter(dict(new)))  # each group once
        if stored:  # the store answered, rather than the fallback
            assert (
                analytics_counts(
                    survey_id=survey.pk,
                    variables=[Wanted(v.source, v.boolean) for v in wanted],
                    selection=selection,
                )
                is not None
            )


def _check_rows(survey: Survey) -> None:
    """PostgreSQL's export reader, which takes the coded cells from the store where it has
    them, gives the rows the portable reader builds from the answers alone."""
    if connection.vendor != "postgresql":
        return  # elsewhere every reader is the portable one
    source = survey_variables(survey=survey)
    fast = list(variable_rows(survey=survey, variables=source, status="complete"))
    assert fast == list(
        variable_rows(survey=survey, variables=source, status="complete", portable=True)
    )


@SETTINGS
@given(first=operations, then=operations)
def test_the_store_equals_the_answers_after_any_operations(
    survey: Survey,
    django_capture_on_commit_callbacks: Any,
    eager_celery: None,
    first: list,
    then: list,
) -> None:
    with transaction.atomic():
        receipts: list[str] = []
        for operation in first:
            with django_capture_on_commit_callbacks(execute=True):
                _apply(survey, operation, receipts)
        analytics_rebuild(survey=survey)  # the store built over whatever exists
        assert store_matches_answers(survey)
        _check_counts(survey, stored=True)
        _check_rows(survey)
        for operation in then:
            with django_capture_on_commit_callbacks(execute=True):
                _apply(survey, operation, receipts)
        stored = store_matches_answers(survey)
        _check_counts(survey, stored=stored)
        _check_rows(survey)
        transaction.set_rollback(True)


def test_a_survey_without_a_store_is_counted_from_the_answers(survey: Survey) -> None:
    services.response_complete(response=_save(survey, _start(survey), {"pet": "cat"}))
    assert not AnalyticsTable.objects.filter(survey=survey).exists()
    request = statistics_request_build(survey=survey, variable="pet")
    selection = store_selection(request=request)
    assert selection is not None
    assert analytics_counts(survey_id=survey.pk, variables=[], selection=selection) is None
    counts = grouped_counts(
        survey=survey,
        responses=statistics_responses(request=request),
        variables=[request.variable],
        selection=selection,
    )
    assert counts == [(("cat",), 1)]


def _start(survey: Survey) -> Response:
    return services.response_start(survey=survey, language="en")[0]


def test_a_new_question_marks_the_store_stale_and_a_rebuild_adds_its_column(
    survey: Survey, django_capture_on_commit_callbacks: Any, eager_celery: None
) -> None:
    analytics_rebuild(survey=survey)
    page = Page.objects.get(survey=survey, code="closing")
    Question.objects.create(
        survey=survey, page=page, code="liked", position=9, type="yes_no", text={"en": "Liked?"}
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert analytics_survey_edited(survey=survey)
    assert len(callbacks) == 1  # the rebuild, published on commit (run eagerly here)
    store = AnalyticsTable.objects.get(survey=survey)
    assert not store.stale
    question = Question.objects.get(survey=survey, code="liked")
    layout = Layout.from_json(store.layout)
    assert layout.column(("answer", question.pk, ""), boolean=True) is not None


def test_the_command_rebuilds_one_survey_or_all(survey: Survey) -> None:
    for values in ({"pet": "dog", "paid": True}, {"pet": "cat", "where": "CN"}):
        services.response_complete(response=_save(survey, _start(survey), values))
    _save(survey, _start(survey), {"pet": "cat"})  # in progress: not in the store
    out = _call("statistics_rebuild", "--survey", survey.slug)
    assert f"{survey.slug}: 2 complete responses" in out
    assert store_matches_answers(survey)
    layout = Layout.from_json(AnalyticsTable.objects.get(survey=survey).layout)
    assert len(store_rows(layout, survey)) == 2
    other = survey_import(definition={**copy.deepcopy(ALL_TYPES_DEFINITION), "slug": "second"})
    out = _call("statistics_rebuild")
    assert "all-types: 2 complete responses" in out and "second: 0 complete responses" in out
    assert AnalyticsTable.objects.filter(survey=other, stale=False).exists()
    AnalyticsTable.objects.filter(survey=other).update(stale=True)
    out = _call("statistics_rebuild", "--if-missing")
    assert "second: 0 complete responses" in out and "all-types" not in out
    assert not AnalyticsTable.objects.filter(stale=True).exists()


def test_deleting_a_survey_drops_its_store(survey: Survey) -> None:
    from surveys.analytics.services import analytics_drop

    store = analytics_rebuild(survey=survey)
    analytics_drop(survey=survey)
    survey.delete()
    assert not AnalyticsTable.objects.filter(pk=store.pk).exists()
    with connection.cursor() as cursor:
        assert store.table not in connection.introspection.table_names(cursor)


def test_the_command_refuses_an_unknown_survey(db: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No survey with slug 'nope'"):
        _call("statistics_rebuild", "--survey", "nope")


def _call(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_replaced_questionnaire_drops_the_old_store(survey: Survey) -> None:
    old = analytics_rebuild(survey=survey)
    survey_import(definition=copy.deepcopy(ALL_TYPES_DEFINITION), replace=True)
    assert not AnalyticsTable.objects.exists()  # a new survey, without a store until rebuilt
    with connection.cursor() as cursor:
        assert old.table not in connection.introspection.table_names(cursor)
