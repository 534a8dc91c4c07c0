"""Surveys, their pages, questions and choices, and the responses with their typed answers.

Every text a respondent sees is a translation dict ``{"en": "...", "zh-hans": "..."}`` so that a
survey can carry any set of languages without schema changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.core.i18n import translate


def time_spent(page_seconds: Mapping[str, Any] | None) -> int | None:
    """Seconds spent on a response's pages: the sum of its page timings, None when none was timed.

    The one definition of "time spent": the model property, the row readers and the dashboard's
    median all call it, so that an export and a chart never disagree about a response.
    """
    if not page_seconds:
        return None
    return sum(map(int, page_seconds.values()))


DEFAULT_ITEMS = 8  # lines of a multiple-short-text question without max_items


class Survey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    slug = models.SlugField(max_length=80, unique=True)
    title = models.JSONField(default=dict)
    description = models.JSONField(default=dict, blank=True)
    consent_text = models.JSONField(default=dict)
    thank_you_text = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    languages = models.JSONField(default=list)
    default_language = models.CharField(max_length=10, default="en")
    invitation_only = models.BooleanField(default=False)
    min_cell_size = models.PositiveSmallIntegerField(
        default=10, help_text="Statistics suppress cells with fewer respondents (at least 5)."
    )
    public_statistics = models.BooleanField(
        default=False, help_text="Anyone may read this survey's aggregate statistics."
    )
    # The public results page (`/results/<slug>/`): the tables it shows, in order, each
    # {"variable": name} or {"variable": name, "by": name}; published while public_statistics.
    results_tables = models.JSONField(
        "public results page",
        default=list,
        blank=True,
        help_text="Tables of the public results page; the page is published while this lists "
        "at least one and the statistics are public.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_cell_size__gte=5), name="survey_min_cell_size_5"
            ),
            models.CheckConstraint(
                condition=Q(closes_at__isnull=True)
                | Q(opens_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
                name="survey_closes_after_opens",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def text(self, field: str, language: str) -> str:
        return translate(getattr(self, field), language, self.default_language)

    @property
    def results_published(self) -> bool:
        """Whether the public results page is live: public statistics and tables chosen."""
        return bool(self.public_statistics and self.results_tables)

    def is_accepting(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.status != self.Status.OPEN:
            return False
        if self.opens_at and now < self.opens_at:
            return False
        return not (self.closes_at and now >= self.closes_at)


class Page(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="pages")
    code = models.SlugField(max_length=64)
    position = models.PositiveIntegerField()
    title = models.JSONField(default=dict, blank=True)
    intro = models.JSONField(default=dict, blank=True)
    condition = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["survey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="page_code_unique"),
            models.UniqueConstraint(fields=["survey", "position"], name="page_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.survey.slug}/{self.code}"


class Question(models.Model):
    class Type(models.TextChoices):
        SINGLE_CHOICE = "single_choice", _("Single choice")
        MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
        LIKERT = "likert", _("Likert item")
        LIKERT_MATRIX = "likert_matrix", _("Likert matrix")
        NUMBER = "number", _("Number")
        YES_NO = "yes_no", _("Yes/no")
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long free text")
        MULTIPLE_SHORT_TEXT = "multiple_short_text", _("Multiple short texts (one per line)")
        OCCUPATION = "occupation", _("Occupation (ISCO-08)")
        COUNTRY = "country", _("Country (ISO 3166)")

    CHOICE_TYPES = {Type.SINGLE_CHOICE, Type.MULTIPLE_CHOICE, Type.LIKERT, Type.LIKERT_MATRIX}
    TEXT_TYPES = {Type.SHORT_TEXT, Type.LONG_TEXT, Type.MULTIPLE_SHORT_TEXT}

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(max_length=64)
    position = models.PositiveIntegerField()
    type = models.CharField(max_length=20, choices=Type.choices)
    text = models.JSONField(default=dict)
    help_text = models.JSONField(default=dict, blank=True)
    required = models.BooleanField(default=False)
    classify = models.BooleanField(
        default=False, help_text="Free-text answers are coded by the classifier."
    )
    condition = models.JSONField(null=True, blank=True)
    scale = models.PositiveSmallIntegerField(null=True, blank=True)
    min_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    integer = models.BooleanField(default=False)
    unit = models.JSONField(default=dict, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    # Multiple short texts: how many lines the form offers, and how many a required one needs.
    max_items = models.PositiveSmallIntegerField(null=True, blank=True)
    min_items = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["page__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="question_code_unique"),
            models.UniqueConstraint(fields=["page", "position"], name="question_position_unique"),
            models.CheckConstraint(
                condition=Q(scale__isnull=True) | Q(scale__in=[5, 7]), name="question_scale_5_or_7"
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(max_value__gte=models.F("min_value")),
                name="question_bounds_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_items__isnull=True) | Q(max_items__gte=1, max_items__lte=50),
                name="question_max_items_1_50",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey.slug}/{self.code}"

    @property
    def effective_max_length(self) -> int:
        if self.max_length:
            return self.max_length
        return 5000 if self.type == self.Type.LONG_TEXT else 300

    @property
    def item_count(self) -> int:
        """Lines a multiple-short-text question offers (DEFAULT_ITEMS unless set)."""
        return self.max_items or DEFAULT_ITEMS

    @property
    def required_items(self) -> int:
        """Lines a required multiple-short-text question needs filled (at least one)."""
        return min(max(self.min_items or 1, 1), self.item_count)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    code = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    label = models.JSONField(default=dict)
    is_other = models.BooleanField(default=False, help_text="Asks the respondent to specify.")
    exclusive = models.BooleanField(default=False, help_text="Cannot be combined with others.")
    missing = models.BooleanField(
        default=False,
        help_text="A non-substantive answer (don't know, not applicable, refused): declared "
        "missing in SPSS and Stata files and left out of means.",
    )
    hidden = models.BooleanField(
        default=False,
        help_text="No longer offered to respondents; answers that chose it keep it, and exports "
        "still label it.",
    )

    class Meta:
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="choice_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class MatrixRow(models.Model):
    """A statement of a Likert matrix, rated on the question's scale."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="rows")
    code = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    text = models.JSONField(default=dict)

    class Meta:
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="matrixrow_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class Invitation(models.Model):
    """A single-use invitation for an invitation-only survey; only the token's hash is stored."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.survey.slug} invitation {self.pk}"


class RealResponseManager(models.Manager):
    """Responses of respondents: test responses (made in the builder's preview) left out."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(is_test=False)


class Response(models.Model):
    """One respondent's answers. Holds no IP address, user agent or other identifier.

    ``Response.objects`` (and ``survey.responses``) leave test responses out, so that the
    dashboard, statistics, API and exports never count them; ``Response.all_objects`` has them.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETE = "complete", _("Complete")

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    language = models.CharField(max_length=10)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    current_page = models.PositiveIntegerField(default=0)
    # Bumped by every page post applied; each page form carries it, so a stale post is told apart.
    page_version = models.PositiveIntegerField(default=0)
    # Keyed hash of the last page post applied: an identical repeat gets that post's outcome.
    page_post = models.CharField(max_length=64, blank=True, default="", editable=False)
    page_seconds = models.JSONField(default=dict, blank=True)
    # NULL, not "", so that unique allows many responses without a link.
    resume_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    resume_expires_at = models.DateTimeField(null=True, blank=True)
    receipt_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    # Made by a researcher testing the questionnaire in the preview, not by a respondent.
    is_test = models.BooleanField(default=False, editable=False)

    all_objects = models.Manager()
    objects = RealResponseManager()

    class Meta:
        # Filtered by default (survey.responses too); the plain manager for related lookups
        # (answer.response) and deletion.
        default_manager_name = "objects"
        base_manager_name = "all_objects"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["survey", "status", "submitted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="in_progress") | Q(submitted_at__isnull=False),
                name="response_complete_has_submitted_at",
            )
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def time_spent_seconds(self) -> int | None:
        """Seconds spent on the pages (sum of `page_seconds`); None when nothing was timed."""
        return time_spent(self.page_seconds)


class ResponseTombstone(models.Model):
    """A withdrawn response's public id, kept so that API clients that synced it can delete it.

    Holds nothing the respondent answered: only which survey, which public id, and when.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="tombstones")
    public_id = models.CharField(max_length=32, unique=True, editable=False)
    deleted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["survey", "deleted_at", "id"])]

    def __str__(self) -> str:
        return self.public_id


class Answer(models.Model):
    """A typed answer to one question (or one row of a Likert matrix)."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    row = models.CharField(max_length=64, blank=True, default="")
    choice = models.CharField(max_length=64, blank=True, default="")
    choices = models.JSONField(default=list, blank=True)
    number = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    boolean = models.BooleanField(null=True, blank=True)
    text = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["response", "question__page__position", "question__position", "row"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "row"], name="answer_unique_per_question_row"
            ),
        ]
        # Covers the statistics' per-question join and filters (question and row first, then the
        # values and the response), so counting reads the index alone.
        indexes = [
            models.Index(
                fields=["question", "row", "choice", "boolean", "response"],
                name="answer_question_values",
            )
        ]

    def __str__(self) -> str:
        return f"{self.response_id}:{self.question_id}:{self.row}"


class AnalyticsTable(models.Model):
    """A survey's analytics store: one row per complete response in its own table (`table`).

    `layout` is the column layout of `surveys.analytics.layout` as JSON (which column holds which
    variable, and the codes each integer stands for). A `stale` store is being rebuilt or met a
    code its layout lacks: statistics read the answers until the rebuild clears it. `stale_since`
    is when it went stale, so that the sweep can tell a rebuild that was lost from one still on
    its way (`surveys.analytics.services.analytics_sweep`).
    """

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="analytics")
    table = models.CharField(max_length=63, unique=True)
    layout = models.JSONField(default=dict)
    stale = models.BooleanField(default=False)
    stale_since = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.table


class StatisticsVersion(models.Model):
    """A survey's data version: moves in the transaction of every write that changes its statistics.

    Cached statistics are keyed by it (`surveys.statistics.cache`). A row of its own rather than a
    column of the survey or of its store: submissions hold the store's row FOR SHARE and the
    builder holds the survey's row, so the counter is the last row every write takes and never
    makes two writes wait for each other in a cycle.
    """

    survey = models.OneToOneField(
        Survey, on_delete=models.CASCADE, primary_key=True, related_name="statistics_version"
    )
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.survey_id}@{self.version}"


class AnalyticsChange(models.Model):
    """A response whose row in its survey's analytics store was written or deleted, and the data
    version (`StatisticsVersion`) its transaction moved the survey to.

    Processes that hold a store's columns in memory (`surveys.analytics.memory`) read the rows
    changed since the version they hold, instead of the whole store. Written after the version's
    bump in the same transaction; since each bump waits for the previous one's commit, a reader
    that sees version v sees every change up to v. A rebuild deletes the survey's changes.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+", db_index=False)
    version = models.PositiveBigIntegerField()
    response_id = models.BigIntegerField()  # not a key: a withdrawn response is deleted

    class Meta:
        indexes = [models.Index(fields=["survey", "version"], name="surveys_analyticschange_sv")]

    def __str__(self) -> str:
        return f"{self.survey_id}@{self.version}: {self.response_id}"


class SurveyRole(models.Model):
    """What a researcher may do with one survey."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        EDITOR = "editor", _("Editor")
        CODER = "coder", _("Coder")
        VIEWER = "viewer", _("Viewer")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_roles"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["survey", "user"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "user"], name="surveyrole_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.survey}"


class AuditEntry(models.Model):
    """Who exported, relabelled or changed access to what, and when; kept when objects go."""

    class Action(models.TextChoices):
        EXPORT = "export", _("Export")
        LABEL = "label", _("Label change")
        ROLE = "role", _("Role change")
        SURVEY = "survey", _("Survey change")
        MODEL = "model", _("Model change")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    survey = models.ForeignKey(
        Survey, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    survey_slug = models.CharField(max_length=80, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name}: {self.summary}"


# --- exports ------------------------------------------------------------------------------------
class ExportJob(models.Model):
    """One requested data export, written by a Celery task; this row, not the broker, is its record.

    The file lives under settings.EXPORT_DIR (``file`` is relative to it) until ``expires_at``,
    when the sweep deletes it and marks the job expired, or until a respondent withdraws a
    response, when it is deleted and the job marked withdrawn.
    """

    class Format(models.TextChoices):
        CSV = "csv", _("CSV (zipped with its codebook)")
        XLSX = "xlsx", _("Excel workbook (data and codebook sheets)")
        SAV = "sav", _("SPSS .sav (zipped with its codebook)")
        DTA = "dta", _("Stata .dta (zipped with its codebook)")

    class Values(models.TextChoices):
        LABELS = "labels", _("Labels")
        CODES = "codes", _("Codes")

    class Scope(models.TextChoices):
        COMPLETE = "complete", _("Complete responses")
        IN_PROGRESS = "in_progress", _("Responses in progress")
        ALL = "all", _("All responses")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn (a respondent withdrew: request a new export)")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="export_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    format = models.CharField(max_length=4, choices=Format.choices)
    values = models.CharField(max_length=6, choices=Values.choices, default=Values.CODES)
    language = models.CharField(max_length=10)
    responses = models.CharField(max_length=12, choices=Scope.choices, default=Scope.COMPLETE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    file = models.CharField(max_length=255, blank=True, default="")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(format__in=["csv", "xlsx", "sav", "dta"]), name="exportjob_format"
            ),
            models.CheckConstraint(
                condition=Q(values__in=["labels", "codes"]), name="exportjob_values"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending", "running", "done", "failed", "expired", "withdrawn"]
                ),
                name="exportjob_status",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(file=""), name="exportjob_done_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.format} export {self.pk} ({self.status})"

    @property
    def labels(self) -> bool:
        return self.values == self.Values.LABELS

    @property
    def progress(self) -> float | None:
        """Share of rows written, 0..1 (None before the total is known)."""
        if not self.rows_total:
            return 1.0 if self.status == self.Status.DONE else None
        return min(1.0, self.rows_done / self.rows_total)


# --- definition changes -------------------------------------------------------------------------
# The respondent pages cache a survey's pages, questions, choices and rows per process, keyed by
# the survey's id and updated_at (respondent.selectors.survey_pages). Any saved or deleted part of
# the questionnaire therefore touches its survey's updated_at, in the same transaction, whoever
# changes it (admin, import, shell), so that no process serves a definition older than the
# database's. (QuerySet.update and bulk_create send no signals: code that edits a questionnaire
# that way must call survey_definition_changed itself.)
def survey_definition_changed(*, survey_ids: models.QuerySet | list[int]) -> None:
    """Mark the definition of these surveys as changed (cached copies are then reloaded)."""
    Survey.objects.filter(pk__in=survey_ids).update(updated_at=timezone.now())


def _page_or_question_changed(sender: type, instance: Page | Question, **kwargs: object) -> None:
    survey_definition_changed(survey_ids=[instance.survey_id])


def _choice_or_row_changed(sender: type, instance: Choice | MatrixRow, **kwargs: object) -> None:
    survey_definition_changed(
        survey_ids=Question.objects.filter(pk=instance.question_id).values("survey_id")
    )


_model: type[models.Model]
for _model in (Page, Question):
    models.signals.post_save.connect(_page_or_question_changed, sender=_model)
    models.signals.post_delete.connect(_page_or_question_changed, sender=_model)
for _model in (Choice, MatrixRow):
    models.signals.post_save.connect(_choice_or_row_changed, sender=_model)
    models.signals.post_delete.connect(_choice_or_row_changed, sender=_model)
