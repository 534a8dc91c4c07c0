"""Every URL pattern of the site, requested by an anonymous visitor and by an unrelated researcher.

The patterns come from the URL resolver itself, so a view added later is swept without anyone
remembering to list it; its parameters are filled with real ids, slugs and tokens of a populated
survey. What may answer an anonymous visitor is the explicit allowlist below; everything else
must send them to the login page or answer 401/403/404/405, and no answer may ever carry
research data (a planted answer text, a response id, a researcher's address).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from surveys.core.access import audit_record
from surveys.core.apitokens import api_token_issue
from surveys.models import AuditEntry, ExportJob, Response, Survey, SurveyRole
from surveys.respondent import services
from tests.api.helpers import respond

# Public by design, and why. Anything not named here is private.
PUBLIC = {
    "surveys:home": "the list of open surveys",
    "surveys:landing": "a survey's consent page",
    "surveys:thanks": "the thank-you page (the receipt is in the respondent's own session only)",
    "surveys:respond": "a respondent's page: the unguessable resume token is the credential",
    "surveys:withdraw": "the withdrawal form (the receipt code is the credential)",
    "set_language": "the language switcher",
    "api-schema": "the OpenAPI description: no data",
    "api-docs": "the API documentation page: no data",
    "api:token": "password-for-token exchange (throttled)",
    "admin:login": "the sign-in page",
    "admin:logout": "signing out",
}
# Public only for a survey whose owners published its statistics (public_statistics).
PUBLIC_WHEN_PUBLISHED = {"api:survey-detail", "api:survey-statistics"}
# The public results page ("surveys:results", "surveys:results-data", "surveys:results-csv") is
# public only while its owners publish it; the sweep's survey does not, so it must answer 404
# like any private URL (tests/results covers it published).
LOGIN = "/admin/login/"
MARKER = "Confidential-answer-7f3a91"
OWNER_EMAIL = "owner-7f3a91@example.org"
DENIED = {401, 403, 404, 405}


@dataclass(frozen=True)
class Route:
    name: str
    route: str


def _routes(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield Route(namespace + (pattern.name or ""), prefix + str(pattern.pattern))


ROUTES = sorted(set(_routes(get_resolver().url_patterns)), key=lambda r: r.route)


@dataclass
class World:
    survey: Survey
    token: str
    objects: dict[type[models.Model], models.Model]
    secrets: list[str]
    owner: Any
    stranger: Any


@pytest.fixture
def world(default_survey: Survey) -> World:
    """The default survey with one object of every admin-registered model, owned by someone."""
    from knox.models import AuthToken

    from classifier.models import (
        Classification,
        Codebook,
        CodingAssignment,
        HumanLabel,
        Job,
        ModelVersion,
        SurveyAudit,
    )
    from classifier.training.codebooks import codebooks_install

    codebooks_install()
    user_model = get_user_model()
    owner = user_model.objects.create_user(
        "sweep-owner", email=OWNER_EMAIL, password="a long pass phrase 1", is_staff=True
    )
    SurveyRole.objects.create(survey=default_survey, user=owner, role="owner")
    stranger = user_model.objects.create_user(
        "sweep-stranger", password="a long pass phrase 1", is_staff=True
    )
    # The stranger is a researcher with a survey of their own, so their admin is not empty.
    own = Survey.objects.create(
        slug="strangers-own", title={"en": "Stranger's survey"}, languages=["en"]
    )
    SurveyRole.objects.create(survey=own, user=stranger, role="owner")
    Survey.objects.filter(pk=default_survey.pk).update(public_statistics=False)
    default_survey.refresh_from_db()

    response = respond(
        default_survey,
        {"employment_type": "staff", "lost_work": True, "change_text": f"{MARKER} my client"},
    )
    _in_progress, token = services.response_start(survey=default_survey, language="en")
    answer = response.answers.get(question__code="change_text")
    codebook = Codebook.objects.get(slug="displacement-risk")
    version = ModelVersion.objects.create(
        codebook=codebook, version=99, artifact_path="x.joblib", checksum="0" * 64, threshold=0.5
    )
    classification = Classification.objects.create(
        answer=answer,
        codebook=codebook,
        status=Classification.Status.DONE,
        labels=["displaced"],
        model_labels=["displaced"],
        confidence=0.5,
        model_version=version,
    )
    services.invitations_create(survey=default_survey, count=1)
    audit_record(
        actor=owner, action=AuditEntry.Action.SURVEY, summary="swept", survey=default_survey
    )
    export = ExportJob.objects.create(
        survey=default_survey, requested_by=owner, format="csv", language="en"
    )
    from django.contrib.auth.models import Group

    objects: dict[type[models.Model], models.Model] = {
        Survey: default_survey,
        Response: response,
        ExportJob: export,
        Codebook: codebook,
        ModelVersion: version,
        Classification: classification,
        HumanLabel: HumanLabel.objects.create(
            classification=classification, coder=owner, labels=["displaced"]
        ),
        CodingAssignment: CodingAssignment.objects.create(
            classification=classification, coder=owner, assigned_by=owner
        ),
        Job: Job.objects.create(kind=Job.Kind.RETRAIN, codebook=codebook, requested_by=owner),
        SurveyAudit: SurveyAudit.objects.create(
            survey=default_survey, codebook=codebook, salt="0" * 32
        ),
        Group: Group.objects.create(name="sweep-group"),
        user_model: owner,
    }
    objects[AuthToken] = api_token_issue(user=owner).record
    for model in apps.get_models():
        if model not in objects and model._meta.app_label == "surveys":
            found = model.objects.filter(**_survey_filter(model, default_survey)).first()
            if found is not None:
                objects[model] = found
    secrets = [MARKER, str(response.public_id), OWNER_EMAIL]
    return World(default_survey, token, objects, secrets, owner, stranger)


def _survey_filter(model: type[models.Model], survey: Survey) -> dict[str, Any]:
    names = {field.name for field in model._meta.get_fields()}
    return {"survey": survey} if "survey" in names else {}


def _admin_model(route: str) -> type[models.Model] | None:
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    try:
        return apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return None


def _fill(route: Route, world: World) -> str:
    """The route with each parameter replaced by a real value from `world`."""
    model = _admin_model(route.route)

    def object_of(name: str) -> models.Model:
        assert model is not None, f"{route.route}: no model for <{name}>"
        if model not in world.objects:
            pytest.fail(f"{route.route}: add an object of {model.__name__} to the sweep's world")
        return world.objects[model]

    def value(name: str) -> str:
        survey_type = ContentType.objects.get_for_model(Survey)
        known = {
            "slug": world.survey.slug,
            "token": world.token,
            "job_id": str(world.objects[ExportJob].pk),
            "content_type_id": str(survey_type.pk),
            "app_label": "surveys",
            "url": "no-such-page/",
            "key": "lost_work",  # a results table (the page answers 404 until published)
        }
        if name == "object_id" and "content_type_id" in route.route:
            return str(world.survey.pk)
        if name in known:
            return known[name]
        if name in {"object_id", "pk", "id"}:
            return str(object_of(name).pk)
        pytest.fail(f"{route.route}: the sweep does not know how to fill <{name}>; teach it")

    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), route.route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), path)
    return "/" + path.lstrip("^").rstrip("$")


def _follow(client: Client, method: str, url: str) -> list[Any]:
    """The answers along the redirect chain inside the site (at most five hops)."""
    answer = getattr(client, method)(url)
    chain = [answer]
    while answer.status_code in (301, 302) and len(chain) < 6:
        location = answer["Location"]
        if not location.startswith("/") or location.startswith(LOGIN):
            break
        answer = client.get(location)
        chain.append(answer)
    return chain


def _body(answer: Any) -> str:
    if getattr(answer, "streaming", False):
        return b"".join(answer.streaming_content).decode(errors="replace")
    return answer.content.decode(errors="replace")


def _sweep(client: Client, world: World, *, who: str) -> list[str]:
    problems: list[str] = []
    for route in ROUTES:
        url = _fill(route, world)
        for method in ("get", "post"):
            if method == "post" and route.name == "admin:logout" and who != "anonymous":
                continue  # it would end the session the rest of the sweep runs in
            chain = _follow(client, method, url)
            first = chain[0]
            where = f"{who} {method.upper()} {url} ({route.name or 'unnamed'})"
            codes = [a.status_code for a in chain]
            if any(code >= 500 for code in codes):
                problems.append(f"{where}: server error {codes}")
                continue
            leaked = [s for a in chain for s in world.secrets if s in _body(a)]
            if leaked:
                problems.append(f"{where}: shows {leaked}")
            if route.name in PUBLIC:
                continue
            if route.name in PUBLIC_WHEN_PUBLISHED and who == "anonymous":
                if first.status_code not in (401, 405):
                    problems.append(f"{where}: unpublished survey answered {codes}, not 401")
                continue
            problems.extend(_check_private(route, where, chain, who))
    return problems


def _check_private(route: Route, where: str, chain: list[Any], who: str) -> list[str]:
    first, last = chain[0], chain[-1]
    codes = [(a.status_code, a.get("Location", "")) for a in chain]
    if who == "anonymous":
        to_login = first.status_code == 302 and first["Location"].startswith(LOGIN)
        via_redirect = last.status_code == 302 and last["Location"].startswith(LOGIN)
        if first.status_code in DENIED or to_login or via_redirect:
            return []
        return [f"{where}: private URL answered {codes}"]
    # A researcher without a role on the survey: pages that take no parameter (index,
    # changelists, add forms) may open, their contents scoped; anything naming one of this
    # survey's objects must be refused or send them back to the admin index.
    if "<" not in route.route and "(?P" not in route.route:
        return []
    if last.status_code in DENIED or (
        last.status_code == 302 and last["Location"].startswith(LOGIN)
    ):
        return []
    if last.status_code == 200 and last.wsgi_request.path in ("/admin/", LOGIN):
        return []
    return [f"{where}: another researcher's object answered {codes}"]


def test_the_sweep_covers_every_url_pattern() -> None:
    """The sweep's list comes from the resolver, the admin's patterns included, and every
    allowlisted name still exists (a renamed view cannot linger on the allowlist)."""
    names = {route.name for route in ROUTES}
    assert set(PUBLIC) <= names, set(PUBLIC) - names
    assert names >= PUBLIC_WHEN_PUBLISHED
    assert len(ROUTES) > 100  # the admin's patterns are included


def test_anonymous_visitors_reach_only_public_pages(world: World) -> None:
    problems = _sweep(Client(raise_request_exception=False), world, who="anonymous")
    assert not problems, "\n".join(problems)


def test_a_researcher_without_a_role_reaches_none_of_the_surveys_objects(world: World) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.stranger)
    problems = _sweep(client, world, who="stranger")
    assert not problems, "\n".join(problems)


def test_published_statistics_open_to_anonymous_visitors(world: World) -> None:
    """The allowlisted exception: once published, structure and statistics answer 200."""
    Survey.objects.filter(pk=world.survey.pk).update(public_statistics=True)
    client = Client(raise_request_exception=False)
    slug = world.survey.slug
    assert client.get(f"/api/v1/surveys/{slug}/").status_code == 200
    answer = client.get(f"/api/v1/surveys/{slug}/statistics/?variable=employment_type")
    assert answer.status_code == 200
    assert not [s for s in world.secrets if s in answer.content.decode()]
    # Raw responses stay private whatever the survey publishes.
    assert client.get(f"/api/v1/surveys/{slug}/responses/").status_code == 401
