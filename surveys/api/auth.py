"""The token endpoints: a password for a token, rotation, and signing out.

Tokens are django-rest-knox's: stored as hashes, expiring (see `surveys.core.apitokens`). The
password exchange authenticates nobody from headers, so its throttles count every caller by
address and the password limits (shared with the admin's login) apply whoever asks.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.schema import error_responses
from surveys.api.throttling import LoginThrottle, TokenThrottle
from surveys.core.apitokens import (
    IssuedToken,
    api_token_issue,
    api_token_revoke,
    api_token_rotate,
    api_tokens_revoke_all,
)

BAD_CREDENTIALS = "Unable to sign in with the username and password given."


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"],
            password=attrs["password"],
        )
        if user is None:  # a wrong password, an unknown or an inactive account look the same
            raise serializers.ValidationError(BAD_CREDENTIALS, code="authorization")
        attrs["user"] = user
        return attrs


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown once.")
    expiry = serializers.DateTimeField(
        allow_null=True, help_text="When the token stops working (rotate it before then)."
    )


def _issued(issued: IssuedToken) -> Response:
    return Response(TokenOutputSerializer(issued).data)


def _current_token(request: Request) -> AuthToken:
    if not isinstance(request.auth, AuthToken):  # only token authentication reaches here
        raise exceptions.NotAuthenticated()
    return request.auth


class TokenApi(APIView):
    """Exchange a username and password for a new, expiring API token."""

    renderer_classes = [JSONRenderer]
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle, LoginThrottle]

    @extend_schema(
        summary="A username and password for a new API token",
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, **error_responses(400, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return _issued(api_token_issue(user=serializer.validated_data["user"]))


class _TokenHolderApi(APIView):
    """Endpoints acting on the token that authenticates the request (not on a session)."""

    renderer_classes = [JSONRenderer]
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]


class TokenRotateApi(_TokenHolderApi):
    @extend_schema(
        summary="Replace the token sent by a fresh one (the old one stops working)",
        request=None,
        responses={200: TokenOutputSerializer, **error_responses(401, 429)},
    )
    def post(self, request: Request) -> Response:
        return _issued(api_token_rotate(token=_current_token(request)))


class LogoutApi(_TokenHolderApi):
    @extend_schema(
        summary="Revoke the token sent",
        request=None,
        responses={204: None, **error_responses(401, 429)},
    )
    def post(self, request: Request) -> Response:
        api_token_revoke(token=_current_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllApi(_TokenHolderApi):
    @extend_schema(
        summary="Revoke every token of the caller (all devices)",
        request=None,
        responses={204: None, **error_responses(401, 429)},
    )
    def post(self, request: Request) -> Response:
        api_tokens_revoke_all(user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
