"""Read side of the audit: each survey's realised precision, and category shares by PPI.

A category's share is estimated by prediction-powered inference (`classifier.pipeline.ppi`):
the model's labels over all of the survey's coded answers, corrected by the model's error on
the human-coded audit sample, so the interval holds even when the model is biased on this
survey. Beside it, the naive share among auto-coded answers alone (model labels taken as truth).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from classifier.models import Classification, Codebook, SurveyAudit
from classifier.pipeline import ppi


def audit_ready(audit: SurveyAudit) -> bool:
    """Whether the survey's coded audit is large enough to vouch for auto-coding.

    EXPOSURE_AUDIT_MIN = 0 turns the requirement off: model labels are then final at the model
    version's threshold until audit codes exist (not recommended for published figures).
    """
    return audit.audited >= settings.EXPOSURE_AUDIT_MIN


@dataclass(frozen=True)
class AuditSummary:
    """What researchers see of a survey's audit of one codebook."""

    codebook: str
    status: str  # "final" once the audit vouches for auto-coding, else "provisional"
    audit_size: int  # items drawn into the sample
    audited: int  # of those, coded by a person
    audit_min: int
    precision: float | None
    precision_low: float | None
    precision_high: float | None
    precision_n: int
    threshold: float | None
    threshold_lower_bound: float | None
    target_precision: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def audit_summary(*, survey_id: int, codebook: Codebook) -> AuditSummary:
    """The survey's audit of `codebook` (an empty, provisional one if nothing was drawn yet)."""
    audit = SurveyAudit.objects.filter(survey_id=survey_id, codebook=codebook).first()
    size = Classification.objects.filter(
        answer__response__survey_id=survey_id, codebook=codebook, audit=True
    ).count()
    return AuditSummary(
        codebook=codebook.slug,
        status="final" if audit and audit_ready(audit) else "provisional",
        audit_size=size,
        audited=audit.audited if audit else 0,
        audit_min=settings.EXPOSURE_AUDIT_MIN,
        precision=audit.precision if audit else None,
        precision_low=audit.precision_low if audit else None,
        precision_high=audit.precision_high if audit else None,
        precision_n=audit.auto_audited if audit else 0,
        threshold=audit.threshold if audit else None,
        threshold_lower_bound=audit.threshold_lower if audit else None,
        target_precision=codebook.target_precision,
    )


def _indicators(
    rows: list[tuple[list[str], list[str], bool, bool, str]], code: str
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"all": [], "f_audit": [], "y_audit": [], "auto": []}
    for model_labels, labels, audit, auto, source in rows:
        predicted = float(code in model_labels)
        out["all"].append(predicted)
        if audit and source == Classification.Source.CODER:
            out["f_audit"].append(predicted)
            out["y_audit"].append(float(code in labels))
        if auto:
            out["auto"].append(predicted)
    return out


def category_shares(
    *, survey_id: int, question_id: int, codebook: Codebook
) -> dict[str, dict[str, Any]]:
    """{code: {"ppi": share, "naive": share}} over the survey's answers to the question.

    "ppi" is undefined (None) until at least two audit items are coded; "naive" counts the
    answers the model auto-coded (or would, for provisional labels) and trusts their labels.
    """
    rows = list(
        Classification.objects.filter(
            answer__response__survey_id=survey_id,
            answer__question_id=question_id,
            codebook=codebook,
            status=Classification.Status.DONE,
            model_version__isnull=False,
        ).values_list("model_labels", "labels", "audit", "auto_coded", "source")
    )
    shares = {}
    for code in codebook.categories.values_list("code", flat=True):
        values = _indicators(rows, code)
        shares[code] = {
            "ppi": ppi.ppi_mean(values["all"], values["f_audit"], values["y_audit"]).as_dict(),
            "naive": ppi.naive_share(values["auto"]).as_dict(),
        }
    return shares
