"""Human coding: a coder's labels on a classification, and coding assignments."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction

from classifier.audit.services import survey_audit_refresh
from classifier.coding.selectors import classification_is_blind
from classifier.errors import CodingError
from classifier.models import Classification, Codebook, CodingAssignment, CodingFlag, HumanLabel
from surveys.analytics.services import statistics_version_bump
from surveys.core.access import audit_record
from surveys.models import Answer, AuditEntry
from surveys.respondent.services import responses_touch


def _check_codes(*, codebook: Codebook, labels: Sequence[str]) -> list[str]:
    codes = list(codebook.categories.values_list("code", flat=True))
    unknown = [label for label in labels if label not in codes]
    if unknown:
        raise CodingError(f"not a code of {codebook.slug}: {', '.join(unknown)}")
    if not codebook.multilabel and len(labels) != 1:
        raise CodingError(f"{codebook.slug} takes exactly one code")
    chosen = set(labels)
    return [code for code in codes if code in chosen]  # codebook order, no duplicates


@transaction.atomic
def classification_code(
    *,
    classification: Classification,
    coder: User,
    labels: Sequence[str],
    note: str = "",
) -> HumanLabel:
    """Record `coder`'s labels for a classification; it becomes coder-sourced and reviewed.

    Raises CodingError when the labels do not fit the codebook.
    """
    row = (
        Classification.objects.select_for_update()
        .select_related("codebook", "answer__response__survey")
        .get(pk=classification.pk)
    )
    labels = _check_codes(codebook=row.codebook, labels=labels)
    before = row.human_labels.filter(coder=coder).values_list("labels", flat=True).first()
    human, _ = HumanLabel.objects.update_or_create(
        classification=row, coder=coder, defaults={"labels": labels, "note": note}
    )
    _audit_coding(row, coder=coder, labels=labels, before=before)
    # The final coding is the latest human one; with double coding it equals the agreed one.
    row.labels = labels
    row.source = Classification.Source.CODER
    row.review_status = Classification.ReviewStatus.REVIEWED
    row.status = Classification.Status.DONE
    row.claim_token = ""
    row.error = ""
    row.save()
    # The response's coded values changed: API clients syncing with updated_since fetch it again.
    # Before the audit's rows: the order a batch of the model's labels locks them in too.
    responses_touch(
        ids=Answer.objects.filter(pk=row.answer_id).values_list("response_id", flat=True)
    )
    survey_id = row.answer.response.survey_id
    if row.audit:
        # A new audit code moves the survey's realised precision and threshold.
        survey_audit_refresh(survey_id=survey_id, codebook_id=row.codebook_id)
    # Last: the survey's cached statistics (its categories) are computed again.
    statistics_version_bump(survey_ids=[survey_id])
    return human


def coding_assignments_create(
    *,
    classification_ids: Sequence[int],
    coders: Sequence[User],
    assigned_by: User | None = None,
) -> int:
    """Assign each classification to each coder (two coders = double coding); returns new count."""
    rows = [
        CodingAssignment(classification_id=pk, coder=coder, assigned_by=assigned_by)
        for pk in classification_ids
        for coder in coders
    ]
    with transaction.atomic():
        before = CodingAssignment.objects.filter(classification_id__in=classification_ids).count()
        CodingAssignment.objects.bulk_create(rows, ignore_conflicts=True)
        after = CodingAssignment.objects.filter(classification_id__in=classification_ids).count()
    return after - before


def _audit_coding(
    row: Classification, *, coder: User, labels: list[str], before: list[str] | None
) -> None:
    verb = "coded" if before is None else "recoded"
    audit_record(
        actor=coder,
        action=AuditEntry.Action.LABEL,
        survey=row.answer.response.survey,
        summary=f"{verb} answer {row.answer_id} ({row.codebook.slug}): {', '.join(labels)}",
        details={
            "classification": row.pk,
            "answer": row.answer_id,
            "codebook": row.codebook.slug,
            "labels": labels,
            "previous": before,
            "model_labels": list(row.model_labels),
            "blind": classification_is_blind(classification=row, user=coder),
        },
    )


@transaction.atomic
def classification_flag(
    *, classification: Classification, coder: User, note: str = ""
) -> CodingFlag:
    """Mark a row as needing discussion: it leaves `coder`'s queue until the flag is removed."""
    row = Classification.objects.select_related("codebook", "answer__response__survey").get(
        pk=classification.pk
    )
    flag, _ = CodingFlag.objects.update_or_create(
        classification=row, coder=coder, defaults={"note": note}
    )
    audit_record(
        actor=coder,
        action=AuditEntry.Action.LABEL,
        survey=row.answer.response.survey,
        summary=f"flagged answer {row.answer_id} ({row.codebook.slug}) for discussion",
        details={"classification": row.pk, "answer": row.answer_id, "flag": True, "note": note},
    )
    return flag
