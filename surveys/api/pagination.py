"""Keyset cursor pagination on (a timestamp, id): every row once, however many share a timestamp.

DRF's CursorPagination keys its cursor on the first ordering field only and steps over rows that
share it with an offset it caps at 1,000, so a bulk load (thousands of responses with one
updated_at) paged forever. Here the cursor holds the whole key, the timestamp and the id, and a
page is the rows strictly after (or, going back, strictly before) that key.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib import parse

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

_MAX_ID = 2**63 - 1  # a bigint: a forged id beyond it must not reach the database


@dataclass(frozen=True)
class Key:
    """A position between rows: after (or, when `back`, before) the row (moment, pk)."""

    moment: datetime
    pk: int
    back: bool = False


class KeysetPagination(BasePagination):
    """Pages ordered by (`field`, id), oldest first, with opaque next and previous links."""

    field = "updated_at"
    page_size = 100
    max_page_size = 500
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"
    invalid_cursor_message = "Invalid cursor: use the next or previous link as given."

    def paginate_queryset(  # type: ignore[override]  # only ever given a QuerySet
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.base_url = request.build_absolute_uri()
        size = self._page_size(request)
        key = self._decode(request)
        back = key is not None and key.back
        order = (f"-{self.field}", "-id") if back else (self.field, "id")
        if key is not None:
            queryset = queryset.filter(self._beyond(key))
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if back:
            rows.reverse()
        self.next_key, self.previous_key = self._neighbours(key, rows, more)
        self.at_start = back and not rows  # nothing before the key: the first page follows
        return rows

    def _beyond(self, key: Key) -> Q:
        op = "lt" if key.back else "gt"
        return Q(**{f"{self.field}__{op}": key.moment}) | Q(
            **{self.field: key.moment, f"id__{op}": key.pk}
        )

    def _key_of(self, row: Model, *, back: bool = False) -> Key:
        return Key(getattr(row, self.field), int(row.pk), back)

    def _neighbours(
        self, key: Key | None, rows: list[Any], more: bool
    ) -> tuple[Key | None, Key | None]:
        """The keys of the next and previous links (None: no such link)."""
        back = key is not None and key.back
        if rows:
            after = self._key_of(rows[-1]) if (more or back) else None
            before = (
                self._key_of(rows[0], back=True)
                if (key is not None and (more or not back))
                else None
            )
            return after, before
        if key is None:
            return None, None
        # An empty page past a key: ids are whole numbers, so "after (t, id - 1)" is "from the
        # row at the key on" and "before (t, id + 1)" is "up to it".
        if back:
            return None, None
        return None, Key(key.moment, key.pk + 1, back=True)

    def _page_size(self, request: Request) -> int:
        given = request.query_params.get(self.page_size_query_param)
        try:
            size = int(given) if given else self.page_size
        except ValueError:
            size = self.page_size
        return max(1, min(size, self.max_page_size))

    def _decode(self, request: Request) -> Key | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        invalid = exceptions.ValidationError(
            {self.cursor_query_param: [self.invalid_cursor_message]}
        )
        try:
            text = base64.b64decode(encoded.encode("ascii"), validate=False).decode("ascii")
            fields = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            moment = parse_datetime(fields["p"][0])
            pk = int(fields["i"][0])
            back = fields.get("r", ["0"])[0]
        except (ValueError, KeyError, UnicodeError, binascii.Error) as error:
            raise invalid from error
        # The key is compared in SQL: a forged one must not get that far.
        if moment is None or not 0 <= pk <= _MAX_ID or back not in {"0", "1"}:
            raise invalid
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        return Key(moment, pk, back == "1")

    def _encode(self, key: Key) -> str:
        text = parse.urlencode(
            {"p": key.moment.isoformat(), "i": str(key.pk), "r": "1" if key.back else "0"}
        )
        encoded = base64.b64encode(text.encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def get_next_link(self) -> str | None:
        if self.at_start:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._encode(self.next_key) if self.next_key else None

    def get_previous_link(self) -> str | None:
        return self._encode(self.previous_key) if self.previous_key else None

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
