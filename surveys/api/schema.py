"""What the OpenAPI schema says about the API's error answers, in one place for every view.

DRF answers errors in two shapes: a 400 names what was wrong (`{"parameter": ["message"]}`, or
`{"non_field_errors": [...]}` for the request as a whole, or `{"detail": "..."}` when the body
could not be parsed), and every other error is `{"detail": "message"}`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    name="Error",
    fields={"detail": serializers.CharField(help_text="What went wrong, for a person to read.")},
)

_MESSAGES = {"type": "array", "items": {"type": "string"}}
BAD_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Each key names a parameter (or `non_field_errors`, `detail`) and holds its messages; "
        "a repeated parameter's messages may be keyed by position."
    ),
    "additionalProperties": {
        "oneOf": [
            _MESSAGES,
            {"type": "string"},
            {"type": "object", "additionalProperties": _MESSAGES},
        ]
    },
    "example": {
        "filter": ["Malformed filter 'country': write VARIABLE:CODE, for example country:CN."]
    },
}

_DESCRIPTIONS = {
    400: "Bad input: the body names each parameter at fault.",
    401: "No credentials, or a token that is unknown, expired or revoked (or an inactive user). "
    "Also the answer to anonymous callers for a survey that is not public or does not exist.",
    403: "Signed in, with a role on the survey that does not allow this (coders read no raw "
    "responses).",
    404: "No such survey, or one the caller has no role on (the two look the same).",
    429: "Too many requests (or sign-in attempts); the Retry-After header says how many seconds "
    "to wait.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers `codes` of an operation, for `extend_schema(responses=...)`."""
    return {
        code: OpenApiResponse(
            response=BAD_REQUEST_SCHEMA if code == 400 else ERROR,
            description=_DESCRIPTIONS[code],
        )
        for code in codes
    }
