"""The research API: surveys, their statistics and raw responses (thin views over selectors).

Access: a role on the survey (see `surveys.core.access`); anyone may read the structure and the
statistics of a survey published with public_statistics. A survey the caller has no business
with answers 404 (or 401 to an anonymous caller) exactly like a slug that does not exist.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User as UserModel
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api import serializers as io
from surveys.api.pagination import KeysetPagination
from surveys.api.schema import error_responses
from surveys.api.selectors import (
    api_response_values,
    api_responses,
    api_survey_detail,
    api_surveys_for,
    api_tombstones,
)
from surveys.api.throttling import AnonThrottle, UserThrottle
from surveys.core.access import audit_record, has_permission, reads_raw_answers, role_of
from surveys.core.middleware import DEFAULT_POLICY
from surveys.models import AuditEntry, Survey
from surveys.statistics.exposure import exposure_compare
from surveys.statistics.guarded import statistics_publish
from surveys.statistics.requests import StatisticsInputError, statistics_request_build

logger = logging.getLogger(__name__)

SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH)
STATISTICS_DESCRIPTION = """\
Counts and percentages (with 95% Wilson intervals) of a categorical variable, alone or by a
second one (`by`), or means with 95% t intervals (`stat=mean`). Cells of fewer than `k`
respondents are suppressed (null), with complementary suppression.

Selecting responses: `from`/`to` (submission dates, YYYY-MM-DD), `language`, `status`, and
`filter=VARIABLE:CODE`, repeatable up to 20 times: VARIABLE is a name from the survey's
`variables`, CODE one of its codes (see its `value_labels`; `1`/`0` for yes/no questions and
multiple-choice flags). Codes of one variable are alternatives, different variables must all
match: `filter=country:US&filter=country:CN&filter=lost_work:1` selects respondents in the US or
China who lost work.

Post-stratification: `weights=VARIABLE&targets=CODE:SHARE,CODE:SHARE`, e.g.
`weights=language&targets=en:0.5,zh-hans:0.5`. Every value of the weighting variable present in
the selection needs a target (narrow the selection with `filter` otherwise); shares are
normalised to sum to 1.

Answers marked as missing in the questionnaire (don't know, not applicable: the variable's
`missing_codes`) are counted in the table's `missing`, never as categories."""


def _survey_or_error(request: Request, slug: str, permission: str, *, public: bool) -> Survey:
    """The survey if the caller may use it for `permission` (or it is public and `public`).

    Unknown and other people's surveys look the same: 401 to anonymous callers, 404 to others.
    """
    survey = Survey.objects.filter(slug=slug).first()
    user = request.user
    if survey is not None:
        if has_permission(user=user, survey=survey, permission=permission):
            return survey
        if public and survey.public_statistics:
            return survey
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    if survey is None or (
        role_of(user=user, survey=survey) is None and not survey.public_statistics
    ):
        raise exceptions.NotFound("No such survey.")
    raise exceptions.PermissionDenied("Your role on this survey does not allow this.")


def _params(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class JsonApiView(APIView):
    # JSON only: the browsable API's HTML would need inline script, which the CSP forbids.
    renderer_classes = [JSONRenderer]


class SurveyListApi(JsonApiView):
    @extend_schema(
        summary="The caller's surveys",
        responses={200: io.SurveyListOutputSerializer(many=True), **error_responses(401, 429)},
    )
    def get(self, request: Request) -> Response:
        user = request.user
        if not isinstance(user, UserModel):  # IsAuthenticated lets no anonymous caller in
            raise exceptions.NotAuthenticated()
        surveys = api_surveys_for(user=user)
        data = [
            {
                "slug": s.slug,
                "title": s.title,
                "status": s.status,
                "languages": s.languages,
                "default_language": s.default_language,
                "public_statistics": s.public_statistics,
                "min_cell_size": s.min_cell_size,
                # Superusers hold no role rows; they act as owners.
                "role": s.user_role or ("owner" if user.is_superuser else None),
                "responses_complete": s.responses_complete,
            }
            for s in surveys
        ]
        return Response(io.SurveyListOutputSerializer(data, many=True).data)


class SurveyDetailApi(JsonApiView):
    permission_classes = [AllowAny]
    throttle_classes = [UserThrottle, AnonThrottle]

    @extend_schema(
        summary="A survey's questions, variables and codebooks",
        parameters=[SLUG],
        responses={200: io.SurveyDetailOutputSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request, slug: str) -> Response:
        survey = _survey_or_error(request, slug, "statistics", public=True)
        detail = api_survey_detail(survey=survey, role=role_of(user=request.user, survey=survey))
        return Response(io.SurveyDetailOutputSerializer(detail).data)


class StatisticsApi(JsonApiView):
    permission_classes = [AllowAny]
    throttle_classes = [UserThrottle, AnonThrottle]

    @extend_schema(
        summary="Counts, percentages or means of a variable, with disclosure control",
        parameters=[SLUG, io.StatisticsParamsSerializer],
        description=STATISTICS_DESCRIPTION,
        responses={200: io.StatisticsOutputSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request: Request, slug: str) -> Response:
        survey = _survey_or_error(request, slug, "statistics", public=True)
        params = _params(io.StatisticsParamsSerializer, request)
        try:
            statistics_request = statistics_request_build(
                survey=survey,
                variable=params["variable"],
                by=params.get("by"),
                stat=params["stat"],
                **_population(params),
            )
            result = statistics_publish(
                request=statistics_request,
                exact=reads_raw_answers(user=request.user, survey=survey),
            )
        except StatisticsInputError as error:
            raise exceptions.ValidationError({error.field: [error.message]}) from error
        except (ValueError, ArithmeticError) as error:
            # The statistics core rejects data it cannot summarise; that is the request's doing.
            logger.info("statistics request rejected: %s", error)
            raise exceptions.ValidationError({"detail": [str(error)]}) from error
        return Response(io.StatisticsOutputSerializer(result).data)


def _population(params: dict[str, Any]) -> dict[str, Any]:
    """The statistics and exposure endpoints' shared parameters, as statistics_request_build's."""
    return {
        "status": params["status"],
        "date_from": params.get("from"),
        "date_to": params.get("to"),
        "language": params.get("language"),
        "filters": params.get("filter", []),
        "k": params.get("k"),
        "weights": params.get("weights"),
        "targets": params.get("targets"),
        "lang": params.get("lang"),
    }


_RESTRICTIONS = ("status", "from", "to", "language", "filter", "k", "weights", "targets")


def _refuse_restrictions(request: Request) -> None:
    """Callers without raw access get the whole population only (no differencing pairs)."""
    given = [name for name in _RESTRICTIONS if name in request.query_params]
    if given:
        message = (
            "Not available to callers without access to the raw responses: the table covers "
            "every complete response."
        )
        raise exceptions.ValidationError({name: [message] for name in given})


class ExposureApi(JsonApiView):
    permission_classes = [AllowAny]
    throttle_classes = [UserThrottle, AnonThrottle]

    @extend_schema(
        summary="Respondents' task exposure (alpha, beta, gamma) per occupation beside the "
        "reference",
        parameters=[SLUG, io.ExposureParamsSerializer],
        description=(
            "Callers who may read the raw responses may narrow the population (status, from, "
            "to, language, filter), choose k and weight. For everyone else the table covers "
            "every complete response with the survey's own k: those parameters answer 400, so "
            "that two tables cannot be subtracted to reveal a few respondents.\n\n"
            "Each row says which share of its task codes is provisional (model labels the "
            "survey's audit cannot vouch for yet, or that wait for a coder). Callers who may "
            "read the raw responses also get `corrected`: the means corrected by the survey's "
            "audit sample (prediction-powered inference, 95% intervals), beside the naive means "
            "of the labels as they stand; `estimates` says whether the correction is available "
            "and why not. Everyone else gets null there."
        ),
        responses={200: io.ExposureOutputSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request: Request, slug: str) -> Response:
        survey = _survey_or_error(request, slug, "statistics", public=True)
        params = _params(io.ExposureParamsSerializer, request)
        exact = reads_raw_answers(user=request.user, survey=survey)
        if not exact:
            _refuse_restrictions(request)
        try:
            result = exposure_compare(
                survey=survey,
                question=params.get("question"),
                # The audit's corrected means, like the statistics' estimates: raw access only.
                corrected=exact,
                **_population(params),
            )
        except StatisticsInputError as error:
            raise exceptions.ValidationError({error.field: [error.message]}) from error
        except (ValueError, ArithmeticError) as error:
            logger.info("exposure request rejected: %s", error)
            raise exceptions.ValidationError({"detail": [str(error)]}) from error
        return Response(io.ExposureOutputSerializer(result).data)


class ResponsePagination(KeysetPagination):
    field = "updated_at"
    max_page_size = io.MAX_PAGE_SIZE


class TombstonePagination(KeysetPagination):
    field = "deleted_at"
    max_page_size = io.MAX_PAGE_SIZE


class ResponseListApi(JsonApiView):
    pagination_class = ResponsePagination

    @extend_schema(
        summary="Raw responses, for incremental sync (not for coders)",
        description=(
            "Responses ordered by (updated_at, id), oldest change first; follow `next` as given. "
            "updated_at moves whenever what a row shows changes (answers, status, "
            "classifications finished by the model, a coder's labels). Withdrawn responses "
            "disappear from here and are listed by responses/deleted/."
        ),
        parameters=[SLUG, io.ResponsesParamsSerializer],
        responses={
            200: io.ResponseOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        survey = _survey_or_error(request, slug, "view", public=False)
        params = _params(io.ResponsesParamsSerializer, request)
        responses = api_responses(
            survey=survey, status=params["status"], updated_since=params.get("updated_since")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(responses, request, view=self)
        if not params.get("cursor"):
            audit_record(
                actor=request.user,
                action=AuditEntry.Action.EXPORT,
                survey=survey,
                summary="Raw responses read through the API",
                details={
                    "status": params["status"],
                    "updated_since": request.query_params.get("updated_since", ""),
                },
            )
        data = [
            {
                "public_id": response.public_id,
                "language": response.language,
                "status": response.status,
                "started_at": response.started_at,
                "submitted_at": response.submitted_at,
                "updated_at": response.updated_at,
                "values": values,
            }
            for response, values in api_response_values(survey=survey, responses=page or [])
        ]
        return paginator.get_paginated_response(io.ResponseOutputSerializer(data, many=True).data)


class TombstoneListApi(JsonApiView):
    pagination_class = TombstonePagination

    @extend_schema(
        summary="Withdrawn responses, for incremental sync (not for coders)",
        description=(
            "The ids of responses withdrawn by their respondents, ordered by (deleted_at, id), "
            "oldest first: delete them from your copy. Pass the largest deleted_at received "
            "so far as deleted_since."
        ),
        parameters=[SLUG, io.TombstonesParamsSerializer],
        responses={
            200: io.TombstoneOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        survey = _survey_or_error(request, slug, "view", public=False)
        params = _params(io.TombstonesParamsSerializer, request)
        tombstones = api_tombstones(survey=survey, deleted_since=params.get("deleted_since"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tombstones, request, view=self)
        return paginator.get_paginated_response(io.TombstoneOutputSerializer(page, many=True).data)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files, its start-up script in a separate request.

    The page's only inline code is drf-spectacular's small <style> block: this page's policy
    allows exactly that block by its hash and is otherwise the site's policy.
    """

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.GET.get("script") is None and response.status_code == 200:
            response.render()
            hashes = " ".join(
                f"'sha256-{base64.b64encode(hashlib.sha256(block).digest()).decode()}'"
                for block in re.findall(rb"<style>(.*?)</style>", response.content, re.S)
            )
            policy = getattr(settings, "EXPOSURE_CSP", DEFAULT_POLICY)
            if hashes:
                policy = policy.replace("style-src 'self'", f"style-src 'self' {hashes}", 1)
            response["Content-Security-Policy"] = policy
        return response
