"""Cached statistics: the same answer as computing it, after any write that changes the data.

Tables are kept per survey data version (surveys/statistics/cache.py). A hit answers the same
JSON; every kind of write (submission, withdrawal, an edited answer, questionnaire and survey
edits, a rebuild, a coder's label, the audit) moves the version on, so that the next request
computes again; a sequence of random writes never leaves a cached answer behind the data. The
entries' keys hold no trace of the caller, and with the cache down tables are computed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import redis.exceptions
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from classifier.audit.services import survey_audit_refresh
from classifier.coding.services import classification_code
from classifier.models import Classification
from surveys.analytics.selectors import statistics_version
from surveys.analytics.services import analytics_rebuild, analytics_response_store
from surveys.core import cached as cached_module
from surveys.definitions.transfer import survey_import
from surveys.models import Answer, Choice, Page, Question, Response, Survey
from surveys.respondent import services
from surveys.statistics import guarded
from surveys.statistics.requests import statistics_request_build
from tests.api.helpers import API
from tests.surveys.helpers import ALL_TYPES_DEFINITION

STATS = "variable=employment_type&by=lost_work"


def _get(client: APIClient, survey: Survey, query: str) -> Any:
    answer = client.get(f"{API}/surveys/{survey.slug}/statistics/?{query}")
    assert answer.status_code == 200, answer.content
    return answer


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per table actually computed (not read from the cache)."""
    calls: list[bool] = []
    compute = guarded._publish

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["exact"])
        return compute(**kwargs)

    monkeypatch.setattr(guarded, "_publish", counting)
    return calls


@pytest.fixture
def public(default_survey: Survey) -> Survey:
    default_survey.public_statistics = True
    default_survey.save()
    return default_survey


def test_a_hit_answers_the_same_json_without_computing(
    populated: Any, public: Survey, owner_client: APIClient, computed: list[bool]
) -> None:
    anonymous = APIClient()
    first = [_get(c, public, STATS).content for c in (owner_client, anonymous)]
    assert computed == [True, False]
    again = [_get(c, public, STATS).content for c in (owner_client, anonymous)]
    assert again == first
    assert computed == [True, False]  # both from the cache
    assert first[0] != first[1]  # exact and protected figures are kept apart


def test_other_parameters_are_other_entries(
    populated: Any, owner_client: APIClient, default_survey: Survey, computed: list[bool]
) -> None:
    queries = [STATS, f"{STATS}&lang=zh-hans", f"{STATS}&k=12", "variable=lost_work"]
    answers = [_get(owner_client, default_survey, q).json() for q in queries]
    assert len(computed) == len(queries)
    assert answers[0]["lang"] == "en" and answers[1]["lang"] == "zh-hans"
    assert answers[2]["k"] == 12


def test_tables_of_responses_in_progress_are_not_cached(
    populated: Any, owner_client: APIClient, default_survey: Survey, computed: list[bool]
) -> None:
    _get(owner_client, default_survey, "variable=employment_type&status=all")
    _get(owner_client, default_survey, "variable=employment_type&status=all")
    assert len(computed) == 2


def test_zero_seconds_turns_the_cache_off(
    populated: Any, owner_client: APIClient, default_survey: Survey, computed: list[bool], settings
) -> None:
    settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 0
    _get(owner_client, default_survey, STATS)
    _get(owner_client, default_survey, STATS)
    assert len(computed) == 2


def test_keys_hold_nothing_of_the_caller(
    populated: Any,
    public: Survey,
    people: Any,
    client_of: Any,
    statistics_cache: LocMemCache,
) -> None:
    for name in ("owner", "viewer", "editor", "superuser"):
        _get(client_of(name), public, STATS)
    _get(APIClient(REMOTE_ADDR="198.51.100.7"), public, STATS)
    keys = list(statistics_cache._cache)  # type: ignore[attr-defined]
    assert len(keys) == 2  # one entry for every exact caller, one for everyone else
    users = [people.by_name(n) for n in ("owner", "viewer", "editor", "superuser")]
    identities = ["198.51.100.7", *(u.username for u in users)]
    assert not any(identity in key for key in keys for identity in identities)
    for key in keys:
        survey_part, digest = key.rsplit(":", 2)[-2:]
        assert survey_part == str(public.pk) and len(digest) == 64


def test_every_write_moves_the_answer_on(
    populated: Any, owner_client: APIClient, default_survey: Survey, people: Any
) -> None:
    survey = default_survey

    def table() -> Any:
        return _get(owner_client, survey, STATS).json()

    def counted() -> int:
        return _get(owner_client, survey, "variable=employment_type&k=5").json()["n"]

    before = counted()
    response, _token = services.response_start(survey=survey, language="en")
    page = Page.objects.get(survey=survey, questions__code="employment_type")
    response = services.response_save_page(
        response=response,
        page=page,
        values={"employment_type": services.PageValue("staff")},
        seconds=5,
    )
    receipt = services.response_complete(response=response)
    assert counted() == before + 1  # submitted
    services.response_withdraw(receipt_code=receipt)
    assert counted() == before  # withdrawn

    # An edited answer of a complete response is written to the store again.
    answer = Answer.objects.filter(
        response__survey=survey,
        response__status=Response.Status.COMPLETE,
        question__code="employment_type",
        choice="staff",
    ).first()
    assert answer is not None

    def frequencies() -> Any:
        return _get(owner_client, survey, "variable=employment_type&k=5").json()

    staff = _cell(frequencies(), "staff")
    Answer.objects.filter(pk=answer.pk).update(choice="agency")
    analytics_response_store(response=answer.response)
    assert _cell(frequencies(), "staff") == staff - 1

    # The questionnaire: a choice's label (saved) and a rebuild.
    choice = Choice.objects.get(
        question__survey=survey, question__code="employment_type", code="staff"
    )
    choice.label = {**choice.label, "en": "On the staff"}
    choice.save()
    assert "On the staff" in str(table())
    version = statistics_version(survey_id=survey.pk)
    analytics_rebuild(survey=survey)
    assert statistics_version(survey_id=survey.pk) > version

    # The survey's settings.
    survey.min_cell_size = 30
    survey.save()
    assert table()["k"] == 30


def _cell(data: dict[str, Any], code: str) -> int:
    return next(c["n"] for c in data["table"]["cells"] if c["code"] == code)


def test_coders_labels_and_the_audit_move_the_answer_on(
    populated: Any, owner_client: APIClient, default_survey: Survey, people: Any, settings
) -> None:
    query = "variable=cls_change_text_displacement_risk&k=5"

    def table() -> Any:
        return _get(owner_client, default_survey, query).json()

    def uncached() -> Any:
        settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 0
        try:
            return table()
        finally:
            settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 300

    before = table()
    rows = Classification.objects.filter(
        answer__response__survey=default_survey, labels=["displaced"]
    ).order_by("pk")[:3]
    for row in rows:
        classification_code(classification=row, coder=people.owner, labels=["not-exposed"])
    after = table()
    assert after != before
    assert after == uncached()
    version = statistics_version(survey_id=default_survey.pk)
    survey_audit_refresh(survey_id=default_survey.pk, codebook_id=rows[0].codebook_id)
    assert statistics_version(survey_id=default_survey.pk) > version


class DeadCache:
    """Fails like Django's Redis cache does when the server is unreachable."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    set = get


def test_with_the_cache_down_tables_are_computed(
    populated: Any,
    public: Survey,
    owner_client: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    computed: list[bool],
) -> None:
    expected = [_get(c, public, STATS).content for c in (owner_client, APIClient())]
    monkeypatch.setattr(cached_module, "cache", DeadCache())
    assert [_get(c, public, STATS).content for c in (owner_client, APIClient())] == expected
    assert len(computed) == 4


# --- random sequences of writes -----------------------------------------------------------------

SETTINGS = settings(
    deadline=None,
    max_examples=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
answers = st.fixed_dictionaries(
    {
        "pet": st.one_of(st.none(), st.sampled_from(["cat", "dog", "other"])),
        "paid": st.one_of(st.none(), st.booleans()),
        "where": st.one_of(st.none(), st.sampled_from(["CN", "US", "GB"])),
    }
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), answers, st.sampled_from(["en", "zh-hans"])),
        st.tuples(st.just("withdraw"), st.integers(0, 20)),
        st.tuples(st.just("edit"), st.integers(0, 20), st.sampled_from(["cat", "dog"])),
        st.tuples(st.just("relabel"), st.text("abc", min_size=1, max_size=3)),
        st.tuples(st.just("add_choice")),
        st.tuples(st.just("rebuild")),
        st.tuples(st.just("k"), st.integers(5, 12)),
    ),
    max_size=8,
)
TABLES = [("pet", None, ()), ("pet", "paid", ()), ("where", "language", (("paid", "1"),))]


def _apply(survey: Survey, operation: tuple[Any, ...], receipts: list[str]) -> None:
    kind = operation[0]
    page = Page.objects.get(survey=survey, code="everything")
    if kind == "submit":
        response, _token = services.response_start(survey=survey, language=operation[2])
        values = {c: services.PageValue(v) for c, v in operation[1].items() if v is not None}
        response = services.response_save_page(
            response=response, page=page, values=values, seconds=5
        )
        receipts.append(services.response_complete(response=response))
    elif kind == "withdraw" and receipts:
        services.response_withdraw(receipt_code=receipts.pop(operation[1] % len(receipts)))
    elif kind == "edit":
        answers = list(
            Answer.objects.filter(question__survey=survey, question__code="pet").order_by("pk")
        )
        if answers:
            answer = answers[operation[1] % len(answers)]
            with transaction.atomic():
                Answer.objects.filter(pk=answer.pk).update(choice=operation[2])
                analytics_response_store(response=answer.response)
    elif kind == "relabel":
        choice = Choice.objects.get(question__survey=survey, question__code="pet", code="cat")
        choice.label = {"en": f"Cat {operation[1]}", "zh-hans": "猫"}
        choice.save()
    elif kind == "add_choice" and not Choice.objects.filter(code="bird").exists():
        from surveys.analytics.services import analytics_survey_edited

        pet = Question.objects.get(survey=survey, code="pet")
        Choice.objects.create(question=pet, code="bird", label={"en": "Bird"}, position=9)
        analytics_survey_edited(survey=survey)
    elif kind == "rebuild":
        analytics_rebuild(survey=survey)
    elif kind == "k":
        survey.min_cell_size = operation[1]
        survey.save()


def _check(survey_id: int) -> None:
    survey = Survey.objects.get(pk=survey_id)  # as each request loads it
    for variable, by, filters in TABLES:
        request = statistics_request_build(
            survey=survey, variable=variable, by=by, filters=list(filters)
        )
        for exact in (True, False):
            cached = guarded.statistics_publish(request=request, exact=exact)
            assert cached == guarded._publish(request=request, exact=exact)


@SETTINGS
@given(first=operations, then=operations)
def test_no_sequence_of_writes_leaves_a_cached_answer_behind(
    db: Any,
    django_capture_on_commit_callbacks: Any,
    eager_celery: None,
    first: list[Any],
    then: list[Any],
) -> None:
    with transaction.atomic():
        definition = copy.deepcopy(ALL_TYPES_DEFINITION)
        definition["status"] = "open"
        survey = survey_import(definition=definition)
        receipts: list[str] = []
        for operation in first:
            with django_capture_on_commit_callbacks(execute=True):
                _apply(survey, operation, receipts)
        _check(survey.pk)  # cached after the first writes
        for operation in then:
            with django_capture_on_commit_callbacks(execute=True):
                _apply(survey, operation, receipts)
            _check(survey.pk)
        transaction.set_rollback(True)
