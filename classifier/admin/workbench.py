"""The coding workbench: one answer at a time, the codebook beside it, driven from the keyboard.

The view only reads the request and picks the next row; coding, flagging and the audit entries
are `classifier.coding.services`, the queue and what a coder sees `classifier.coding.selectors`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from classifier.admin.common import admin_user, fmt
from classifier.coding.selectors import (
    classifications_for_user,
    coding_item,
    coding_progress,
    coding_queue,
    user_codes_anything,
)
from classifier.coding.services import classification_code, classification_flag
from classifier.errors import CodingError
from classifier.models import Classification

SKIPPED = "classifier_workbench_skipped"  # session key: ids skipped in this sitting


def _skipped(request: HttpRequest) -> list[int]:
    value = request.session.get(SKIPPED, [])
    return [pk for pk in value if isinstance(pk, int)]


def _url(codebook: str, **params: Any) -> str:
    query = {key: value for key, value in {"codebook": codebook, **params}.items() if value}
    base = reverse("admin:classifier_classification_workbench")
    return f"{base}?{urlencode(query)}" if query else base


def _row(request: HttpRequest, raw: str | None) -> Classification | None:
    """The row a request names, if the user may code it; a bad id is a 400, not a 500."""
    if not raw:
        return None
    if not raw.isdigit():
        raise PermissionDenied("Unknown answer.")
    row = classifications_for_user(user=request.user).filter(pk=int(raw)).first()
    if row is None:
        raise PermissionDenied("This answer is not yours to code.")
    return row


def _next_row(request: HttpRequest, codebook: str) -> Classification | None:
    queue = coding_queue(user=request.user, codebook=codebook)
    return queue.exclude(pk__in=_skipped(request)).select_related("answer__question").first()


def workbench(request: HttpRequest, *, model_admin: Any) -> HttpResponse:
    """GET: the next answer (or `?item=`); POST: save, skip or flag it, then go on."""
    if not (request.user.is_staff and user_codes_anything(user=request.user)):
        raise PermissionDenied("You have no coding role.")
    codebook = request.GET.get("codebook", "")
    if request.method == "POST":
        return _post(request, model_admin, codebook)
    row = _row(request, request.GET.get("item")) or _next_row(request, codebook)
    return _render(request, model_admin, codebook, row)


def _post(request: HttpRequest, model_admin: Any, codebook: str) -> HttpResponse:
    action = request.POST.get("action", "save")
    if action == "unskip":
        request.session[SKIPPED] = []
        return HttpResponseRedirect(_url(codebook))
    row = _row(request, request.POST.get("classification"))
    if row is None:
        return HttpResponseRedirect(_url(codebook))
    coder = admin_user(request)
    note = request.POST.get("note", "").strip()
    if action == "skip":
        request.session[SKIPPED] = [*_skipped(request), row.pk]
    elif action == "flag":
        classification_flag(classification=row, coder=coder, note=note)
        messages.info(request, f"Answer {row.answer_id} flagged for discussion.")
    else:
        codes = request.POST.getlist("codes")
        try:
            classification_code(classification=row, coder=coder, labels=codes, note=note)
        except CodingError as exc:
            message = "Pick a code first." if not codes else str(exc)
            return _render(request, model_admin, codebook, row, error=message, chosen=codes)
    return HttpResponseRedirect(_url(codebook))


def _render(
    request: HttpRequest,
    model_admin: Any,
    codebook: str,
    row: Classification | None,
    *,
    error: str = "",
    chosen: list[str] | None = None,
) -> HttpResponse:
    user = admin_user(request)
    item = coding_item(classification=row, user=user) if row is not None else None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": item.title if item else "Coding workbench",
        "item": item,
        "chosen": chosen if chosen is not None else (item.chosen if item else []),
        "note": request.POST.get("note", "") if error else (item.note if item else ""),
        "error": error,
        "confidence": fmt(item.confidence) if item else "",
        "progress": coding_progress(user=user, codebook=codebook),
        "skipped": len(_skipped(request)),
        "codebook": codebook,
        "action_url": _url(codebook),
    }
    status = 400 if error else 200
    return TemplateResponse(request, "admin/classifier/workbench.html", context, status=status)
