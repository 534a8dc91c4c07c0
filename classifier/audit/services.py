"""The audit sample and the routing it drives: which answers go to blind coders, what is final.

Every (survey, codebook) has a `SurveyAudit` row. An answer joins the audit sample at
classification time when a hash of its id and the row's salt falls under EXPOSURE_AUDIT_SHARE,
or while the sample holds fewer than EXPOSURE_AUDIT_MIN items; once in, it stays in (the same
answer re-classified is drawn the same way). Audit items go to coders whatever the model's
confidence. Once EXPOSURE_AUDIT_MIN audit items are coded, the threshold re-chosen from them
decides what is auto-coded for this survey; before, confident model labels are provisional.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from classifier.audit.precision import Item, precision_at, threshold_choose
from classifier.audit.selectors import audit_ready
from classifier.models import Classification, SurveyAudit
from surveys.analytics.services import statistics_version_bump

Review = Classification.ReviewStatus
NEVER = 2.0  # a threshold no confidence reaches


def audit_draw(*, salt: str, answer_id: int) -> float:
    """A reproducible uniform number in [0, 1) for an answer under a survey's salt."""
    digest = hashlib.sha256(f"{salt}:{answer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def survey_audit_get(*, survey_id: int, codebook_id: int, lock: bool = False) -> SurveyAudit:
    """The audit row of a survey and codebook, created with a fresh salt the first time."""
    SurveyAudit.objects.get_or_create(
        survey_id=survey_id, codebook_id=codebook_id, defaults={"salt": secrets.token_hex(16)}
    )
    rows = SurveyAudit.objects.select_related("codebook")
    if lock:
        # Only the audit row: locking the joined codebook too (FOR UPDATE) would block every
        # transaction inserting a classification of it (its foreign-key check) and deadlock
        # a worker's batch against a submission creating its status rows.
        rows = rows.select_for_update(of=("self",))
    return rows.get(survey_id=survey_id, codebook_id=codebook_id)


def threshold_in_use(audit: SurveyAudit, version_threshold: float) -> float:
    """The survey's re-chosen threshold once its audit is ready, else the model version's."""
    if not audit_ready(audit) or not audit.audited:
        return version_threshold
    return NEVER if audit.threshold is None else audit.threshold


def review_status_for(*, audit: SurveyAudit, in_sample: bool, auto: bool) -> str:
    """Audit items go to coders; confident labels are final only once the audit vouches."""
    if in_sample or not auto:
        return Review.NEEDS_REVIEW
    return Review.AUTO_CODED if audit_ready(audit) else Review.PROVISIONAL


@dataclass
class _Row:
    pk: int
    answer_id: int
    confidence: float
    labels: list[str]
    audit: bool
    threshold: float
    unreadable: bool = False  # the pipeline's guard: never auto-coded, whatever the threshold


def _label_key(labels: Sequence[str]) -> str:
    return ";".join(sorted(labels))


def _draw_sample(audit: SurveyAudit, rows: list[_Row]) -> None:
    """Mark the batch's audit items: drawn by hash, plus enough to reach EXPOSURE_AUDIT_MIN."""
    share = settings.EXPOSURE_AUDIT_SHARE
    draws = {row.pk: audit_draw(salt=audit.salt, answer_id=row.answer_id) for row in rows}
    for row in rows:
        row.audit = row.audit or draws[row.pk] < share
    have = Classification.objects.filter(
        answer__response__survey_id=audit.survey_id, codebook_id=audit.codebook_id, audit=True
    ).exclude(pk__in=[row.pk for row in rows])
    missing = max(0, settings.EXPOSURE_AUDIT_MIN - have.count() - sum(row.audit for row in rows))
    for row in sorted((r for r in rows if not r.audit), key=lambda r: draws[r.pk])[:missing]:
        row.audit = True


def _route_group(audit: SurveyAudit, rows: list[_Row]) -> list[Classification]:
    # A suggest-only codebook's labels go to coders, shown: no audit sample, nothing auto-coded.
    suggest = audit.codebook.suggest_only
    if not suggest:
        _draw_sample(audit, rows)
    counts = Counter(audit.label_counts)
    counts.update(_label_key(row.labels) for row in rows)
    audit.label_counts = dict(counts)
    audit.save(update_fields=["label_counts", "updated_at"])
    total = max(1, sum(counts.values()))
    out = []
    for row in rows:
        auto = (
            not suggest
            and not row.unreadable
            and row.confidence >= threshold_in_use(audit, row.threshold)
        )
        frequency = counts[_label_key(row.labels)] / total
        out.append(
            Classification(
                pk=row.pk,
                audit=row.audit,
                auto_coded=auto,
                review_status=review_status_for(audit=audit, in_sample=row.audit, auto=auto),
                # Audit items first; then the value of a human code: uncertainty x frequency.
                priority=(2.0 if row.audit else 0.0) + (1.0 - row.confidence) * frequency,
            )
        )
    return out


def classifications_route(*, ids: Sequence[int]) -> int:
    """Draw the audit sample among freshly classified model rows and route them; returns count.

    Call inside the transaction that stored the predictions (the rows are still locked there).
    """
    groups: dict[tuple[int, int], list[_Row]] = defaultdict(list)
    for pk, answer_id, survey_id, codebook_id, confidence, labels, in_sample, threshold, why in (
        Classification.objects.filter(
            pk__in=list(ids),
            source=Classification.Source.MODEL,
            status=Classification.Status.DONE,
            confidence__isnull=False,
            model_version__isnull=False,
        )
        .order_by("pk")
        .values_list(
            "pk",
            "answer_id",
            "answer__response__survey_id",
            "codebook_id",
            "confidence",
            "model_labels",
            "audit",
            "model_version__threshold",
            "review_reason",
        )
    ):
        groups[(survey_id, codebook_id)].append(
            _Row(pk, answer_id, confidence or 0.0, labels, in_sample, threshold, bool(why))
        )
    updated: list[Classification] = []
    for (survey_id, codebook_id), rows in sorted(groups.items()):
        audit = survey_audit_get(survey_id=survey_id, codebook_id=codebook_id, lock=True)
        updated += _route_group(audit, rows)
    Classification.objects.bulk_update(
        updated, ["audit", "auto_coded", "review_status", "priority"], batch_size=500
    )
    return len(updated)


def audit_items(*, survey_id: int, codebook_id: int) -> list[Item]:
    """(confidence, model label correct) for every audit item a person has coded."""
    rows = Classification.objects.filter(
        answer__response__survey_id=survey_id,
        codebook_id=codebook_id,
        audit=True,
        source=Classification.Source.CODER,
        confidence__isnull=False,
    ).values_list("confidence", "model_labels", "labels")
    return [(conf or 0.0, sorted(model) == sorted(human)) for conf, model, human in rows]


def _reroute(audit: SurveyAudit) -> None:
    """Apply the survey's routing to every model-coded row of it (set-based, per version)."""
    rows = Classification.objects.filter(
        answer__response__survey_id=audit.survey_id,
        codebook_id=audit.codebook_id,
        source=Classification.Source.MODEL,
        status=Classification.Status.DONE,
        model_version__isnull=False,
    )
    if audit.codebook.suggest_only:
        rows.update(audit=False, auto_coded=False, review_status=Review.NEEDS_REVIEW)
        return
    rows.filter(audit=True).update(review_status=Review.NEEDS_REVIEW)
    rows.filter(audit=False).exclude(review_reason="").update(
        auto_coded=False, review_status=Review.NEEDS_REVIEW
    )
    plain = rows.filter(audit=False, review_reason="")
    for version_id, version_threshold in set(
        plain.values_list("model_version_id", "model_version__threshold")
    ):
        threshold = threshold_in_use(audit, version_threshold)
        mine = plain.filter(model_version_id=version_id)
        mine.filter(confidence__gte=threshold).update(
            auto_coded=True,
            review_status=review_status_for(audit=audit, in_sample=False, auto=True),
        )
        mine.filter(confidence__lt=threshold).update(
            auto_coded=False, review_status=Review.NEEDS_REVIEW
        )


@transaction.atomic
def survey_audit_refresh(*, survey_id: int, codebook_id: int) -> SurveyAudit:
    """Re-estimate precision and re-choose the threshold from the coded audit; re-route rows."""
    audit = survey_audit_get(survey_id=survey_id, codebook_id=codebook_id, lock=True)
    items = audit_items(survey_id=survey_id, codebook_id=codebook_id)
    audit.audited = len(items)
    audit.ready = audit_ready(audit)
    audit.threshold, audit.threshold_lower = threshold_choose(
        items, audit.codebook.target_precision
    )
    in_use = audit.threshold if audit.ready and items else _version_threshold(audit)
    measured = precision_at(items, in_use)
    audit.auto_audited = measured.n
    audit.precision, audit.precision_low, audit.precision_high = (
        measured.estimate,
        measured.low,
        measured.high,
    )
    audit.save()
    _reroute(audit)
    # Review statuses and the audit's shares changed: the survey's cached statistics go.
    statistics_version_bump(survey_ids=[survey_id])
    return audit


def _version_threshold(audit: SurveyAudit) -> float | None:
    version = audit.codebook.versions.filter(is_active=True).first()
    return version.threshold if version else None
