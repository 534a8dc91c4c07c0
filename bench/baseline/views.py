"""The baseline view: DRF's ordinary path (parse, validate ten fields, INSERT one row)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.baseline.models import Submission

TOOLS = ["sora", "runway", "pika", "kling", "jimeng", "hailuo", "veo", "midjourney", "other"]


class SubmissionSerializer(serializers.ModelSerializer):
    employment_type = serializers.ChoiceField(["staff", "freelance", "agency", "mixed", "other"])
    income_band = serializers.ChoiceField(
        ["under_10k", "10k_25k", "25k_50k", "50k_100k", "100k_200k", "200k_plus", "prefer_not"]
    )
    years_experience = serializers.IntegerField(min_value=0, max_value=70, allow_null=True)
    tools_used = serializers.ListField(child=serializers.ChoiceField(TOOLS), allow_empty=False)
    outlook = serializers.IntegerField(min_value=1, max_value=7, allow_null=True)
    change_text = serializers.CharField(max_length=5000, allow_blank=True)
    protect_text = serializers.CharField(max_length=5000, allow_blank=True)

    class Meta:
        model = Submission
        fields = [
            "occupation",
            "employment_type",
            "country",
            "years_experience",
            "income_band",
            "tools_used",
            "lost_work",
            "outlook",
            "change_text",
            "protect_text",
        ]


class SubmitView(APIView):
    """POST ten answers; 201 with the new row's id."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        serializer = SubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = serializer.save()
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)
