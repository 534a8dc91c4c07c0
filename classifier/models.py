"""Codebooks, trained model versions, per-answer classifications and the human coding around them.

Texts shown to researchers are translation dicts ``{"en": "...", "zh-hans": "..."}`` like the
survey texts. The database is the record of truth for every piece of asynchronous work: a
Classification row per (answer, codebook) and a Job row per retrain / re-classify request.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.core.i18n import translate
from surveys.models import Answer


class Codebook(models.Model):
    """A set of categories free-text answers are coded into (single- or multi-label)."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.JSONField(default=dict)
    description = models.JSONField(default=dict, blank=True)
    multilabel = models.BooleanField(default=False)
    target_precision = models.FloatField(
        default=0.90,
        help_text="Answers are auto-coded only at confidence levels reaching this precision.",
    )
    question_codes = models.JSONField(
        default=list,
        blank=True,
        help_text="Codes of the classify questions this codebook codes; empty means all of them.",
    )
    # Its labels only suggest a code to a person: never auto-coded, never an audit sample, shown
    # with the model's label and confidence (occupation-isco, whose answers are already coded).
    suggest_only = models.BooleanField(
        default=False,
        help_text="Model labels are suggestions for coders: never auto-coded, never blind.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_precision__gt=0) & Q(target_precision__lt=1),
                name="codebook_target_precision_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return self.slug

    def text(self, field: str, language: str = "en") -> str:
        return translate(getattr(self, field), language)


def codebooks_coding(
    question_code: str, codebooks: Iterable[Codebook], *, classify: bool = True
) -> list[Codebook]:
    """The codebooks that code a classify question: those naming it, and those naming none.

    A codebook naming no question codes every classify question that no other codebook names,
    so that a codebook made for one question (task-exposure, for `main_tasks`) keeps the others
    (displacement risk, concerns) off it. A question not flagged `classify` (an occupation's
    "other, please specify" text) is coded only by the codebooks naming it (occupation-isco).
    """
    codebooks = list(codebooks)
    claimed = {code for book in codebooks for code in book.question_codes}
    return [
        book
        for book in codebooks
        if question_code in book.question_codes
        or (classify and not book.question_codes and question_code not in claimed)
    ]


class Category(models.Model):
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="categories")
    code = models.SlugField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    label = models.JSONField(default=dict)
    definition = models.JSONField(default=dict, blank=True)
    examples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["codebook", "position", "code"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["codebook", "code"], name="category_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.codebook.slug}/{self.code}"

    def text(self, field: str, language: str = "en") -> str:
        return translate(getattr(self, field), language)


class ModelVersion(models.Model):
    """A trained classifier artifact for one codebook; at most one per codebook is active."""

    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    artifact_path = models.CharField(max_length=500)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the model payload.")
    threshold = models.FloatField()
    metrics = models.JSONField(default=dict, blank=True)
    training_size = models.PositiveIntegerField(default=0)
    sklearn_version = models.CharField(max_length=32, blank=True)
    trained_from = models.CharField(max_length=300, blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["codebook", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["codebook", "version"], name="modelversion_unique"),
            models.UniqueConstraint(
                fields=["codebook"],
                condition=Q(is_active=True),
                name="modelversion_one_active_per_codebook",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.codebook.slug} v{self.version}"


class Classification(models.Model):
    """The coding of one answer under one codebook: work status, model output and final labels."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class ReviewStatus(models.TextChoices):
        AUTO_CODED = "auto_coded", _("Auto-coded")
        # The model is confident but the survey's audit cannot vouch for it yet: not a final code.
        PROVISIONAL = "provisional", _("Provisional")
        NEEDS_REVIEW = "needs_review", _("Needs review")
        REVIEWED = "reviewed", _("Reviewed")

    class Source(models.TextChoices):
        MODEL = "model", _("Model")
        CODER = "coder", _("Coder")

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="classifications")
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="classifications")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="classifications",
    )
    # `labels` is the current coding (the model's, or the coder's once reviewed); `model_labels`
    # keeps the model's own output so that model-vs-coder agreement can still be measured.
    labels = models.JSONField(default=list, blank=True)
    model_labels = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    auto_coded = models.BooleanField(default=False)
    review_status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, blank=True, default=""
    )
    # Why the model may not code this text whatever its confidence (the pipeline's guard: empty,
    # a script the model was not trained on, mostly unknown words); empty when it may.
    review_reason = models.CharField(max_length=32, blank=True, default="")
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.MODEL)
    # In the survey's random audit sample: coded by people blind to the model's label.
    audit = models.BooleanField(default=False)
    # The review queue's order (highest first): audit items, then uncertain and frequent kinds.
    priority = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("review_all", "Can review all classifications, assigned or not")]
        constraints = [
            models.UniqueConstraint(
                fields=["answer", "codebook"], name="classification_unique_per_answer_codebook"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="classification_confidence_in_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["codebook", "review_status"]),
            models.Index(fields=["codebook", "audit"]),
        ]

    def __str__(self) -> str:
        return f"{self.codebook.slug}:{self.answer_id}"


class SurveyAudit(models.Model):
    """One survey's audit of one codebook: the sample's salt, the realised precision, the threshold.

    `threshold` is re-chosen from the audit (the lowest confidence whose one-sided 95% lower
    bound of precision reaches the codebook's target); until `ready`, model labels at or above
    the model version's threshold are provisional, not final codes.
    """

    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.CASCADE, related_name="classifier_audits"
    )
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="audits")
    salt = models.CharField(max_length=32)
    ready = models.BooleanField(default=False)
    threshold = models.FloatField(null=True, blank=True)
    threshold_lower = models.FloatField(null=True, blank=True)
    audited = models.PositiveIntegerField(default=0, help_text="Audit items coded by a person.")
    auto_audited = models.PositiveIntegerField(
        default=0, help_text="Of those, items the model would auto-code at the threshold in use."
    )
    precision = models.FloatField(null=True, blank=True)
    precision_low = models.FloatField(null=True, blank=True)
    precision_high = models.FloatField(null=True, blank=True)
    # Predicted labels seen so far, for the review queue's "frequent kinds" (approximate).
    label_counts = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["survey", "codebook"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "codebook"], name="surveyaudit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.codebook.slug}"


class HumanLabel(models.Model):
    """One coder's coding of one classification; two coders on one row is double coding."""

    classification = models.ForeignKey(
        Classification, on_delete=models.CASCADE, related_name="human_labels"
    )
    # PROTECT: deleting a coder account must not silently erase research codings.
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="human_labels"
    )
    labels = models.JSONField(default=list)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["classification", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["classification", "coder"], name="humanlabel_one_per_coder"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.classification} by {self.coder_id}"


class CodingAssignment(models.Model):
    classification = models.ForeignKey(
        Classification, on_delete=models.CASCADE, related_name="assignments"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coding_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["classification", "coder"], name="codingassignment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.classification} to {self.coder_id}"


class CodingFlag(models.Model):
    """A coder's mark that an answer needs discussion before it can be coded."""

    classification = models.ForeignKey(
        Classification, on_delete=models.CASCADE, related_name="flags"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coding_flags"
    )
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["classification", "coder"], name="codingflag_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.classification} flagged by {self.coder_id}"


class Job(models.Model):
    """A long-running request started from the admin (retrain, re-classify everything)."""

    class Kind(models.TextChoices):
        RETRAIN = "retrain", _("Retrain")
        RECLASSIFY = "reclassify", _("Re-classify everything")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    codebook = models.ForeignKey(Codebook, on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    options = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=64, blank=True, default="")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_in_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.codebook.slug} ({self.status})"
