"""Read side of human coding: who may review and code what, and the agreement between coders."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from classifier.coding import agreement
from classifier.models import (
    Category,
    Classification,
    Codebook,
    CodingAssignment,
    HumanLabel,
    SurveyAudit,
)
from surveys.core import access


def user_reviews_all(*, user: User | AnonymousUser) -> bool:
    """Whether `user` sees every classification, not only those assigned to them."""
    return bool(user.is_superuser or user.has_perm("classifier.review_all"))


def classifications_for_user(*, user: User | AnonymousUser) -> QuerySet[Classification]:
    """Classifications `user` may see and code.

    Everything for superusers and holders of `classifier.review_all`; every row of the surveys
    they own or edit; and, on surveys where their role still allows coding, the rows assigned
    to them.
    """
    queryset = Classification.objects.select_related(
        "answer", "answer__question", "codebook", "model_version"
    )
    if user_reviews_all(user=user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    managed = access.surveys_for(user=user, permission="edit")
    coding = access.surveys_for(user=user, permission="code")
    return queryset.filter(
        Q(answer__response__survey__in=managed)
        | Q(assignments__coder=user, answer__response__survey__in=coding)
    ).distinct()


def audits_for_user(*, user: User | AnonymousUser) -> QuerySet[SurveyAudit]:
    """The survey audits `user` may see: every one with review_all, else their managed surveys'."""
    audits = SurveyAudit.objects.select_related("survey", "codebook")
    if user_reviews_all(user=user):
        return audits
    if not user.is_authenticated:
        return audits.none()
    return audits.filter(survey__in=access.surveys_for(user=user, permission="edit"))


def user_codes_anything(*, user: User | AnonymousUser) -> bool:
    """Whether `user` reaches the review queue at all (a coding role or review_all)."""
    return user_reviews_all(user=user) or access.surveys_for(user=user, permission="code").exists()


def classification_is_blind(
    *, classification: Classification, user: User | AnonymousUser | None = None
) -> bool:
    """Whether coding `classification` hides the model's label and the other coders' codes.

    Audit-sample items are blind for everyone (their codes measure the model). A double-coded
    row (assigned to more than one coder) is blind for its coders, so that each coding is
    independent of the model and of the other coder; with no `user`, for anyone.
    """
    if user is not None and not user.is_authenticated:
        return True
    if classification.audit:
        return True
    assignments = CodingAssignment.objects.filter(classification_id=classification.pk)
    if user is None:
        return assignments.count() > 1
    return assignments.filter(coder=user).exists() and assignments.count() > 1


def assignment_is_blind(assignment: CodingAssignment) -> bool:
    """Whether the coder of `assignment` codes blind: an audit item, or double coding."""
    if assignment.classification.audit:
        return True
    others = CodingAssignment.objects.filter(classification_id=assignment.classification_id)
    return others.exclude(pk=assignment.pk).exists()


def user_has_blind_work(*, user: User | AnonymousUser) -> bool:
    """Whether `user` still has a blind assignment to code (lists then hide the model's labels)."""
    if not user.is_authenticated:
        return False
    pending = CodingAssignment.objects.filter(coder=user).exclude(
        classification__human_labels__coder=user
    )
    return any(assignment_is_blind(assignment) for assignment in pending.iterator())


def coding_queue(*, user: User | AnonymousUser, codebook: str = "") -> QuerySet[Classification]:
    """The rows waiting for `user`'s coding: the review queue's order (audit items first).

    Rows assigned to them, and rows needing review on surveys they may code; never a row they
    already coded or flagged. `codebook` (a slug) narrows the queue to one codebook.
    """
    if not user.is_authenticated:
        return Classification.objects.none()
    rows = classifications_for_user(user=user).filter(
        Q(assignments__coder=user) | Q(review_status=Classification.ReviewStatus.NEEDS_REVIEW)
    )
    if codebook:
        rows = rows.filter(codebook__slug=codebook)
    return (
        rows.exclude(human_labels__coder=user)
        .exclude(flags__coder=user)
        .order_by("-priority", "pk")
    )


@dataclass(frozen=True)
class CodingProgress:
    assigned: int  # rows assigned to the coder
    assigned_coded: int  # of which they have coded
    remaining: int  # rows left in their queue (skipped ones included)
    flagged: int


def coding_progress(*, user: User, codebook: str = "") -> CodingProgress:
    """How far `user` has come through their assignments and their queue."""
    assigned = CodingAssignment.objects.filter(coder=user)
    if codebook:
        assigned = assigned.filter(classification__codebook__slug=codebook)
    coded = assigned.filter(classification__human_labels__coder=user).distinct()
    flags = user.coding_flags.all()
    if codebook:
        flags = flags.filter(classification__codebook__slug=codebook)
    return CodingProgress(
        assigned=assigned.count(),
        assigned_coded=coded.count(),
        remaining=coding_queue(user=user, codebook=codebook).count(),
        flagged=flags.count(),
    )


@dataclass(frozen=True)
class CategoryGuide:
    """One category as the coder sees it: its key, label, definition and examples."""

    key: str
    code: str
    label: str
    definition: str
    examples: list[str]


@dataclass(frozen=True)
class CodingItem:
    """Everything the workbench shows for one answer."""

    classification: Classification
    title: str
    question: str
    answer: str
    categories: list[CategoryGuide]
    blind: bool
    suggestion: list[str]  # the model's labels; empty when blind or not classified yet
    confidence: float | None
    chosen: list[str]  # the codes ticked when the page opens
    note: str


def _guide(position: int, category: Category, language: str) -> CategoryGuide:
    examples = category.examples if isinstance(category.examples, list) else []
    return CategoryGuide(
        key=str(position + 1) if position < 9 else "",
        code=category.code,
        label=category.text("label", language),
        definition=category.text("definition", language),
        examples=[
            text
            for text in (
                str(example.get(language) or example.get("en") or "")
                if isinstance(example, dict)
                else str(example)
                for example in examples
            )
            if text
        ],
    )


def coding_item(*, classification: Classification, user: User, language: str = "en") -> CodingItem:
    """One answer to code: its question, the codebook's guide and, unless blind, the model's label.

    In blind mode nothing is pre-selected; otherwise the coder's own earlier coding, else the
    model's label, is.
    """
    row = classification
    blind = classification_is_blind(classification=row, user=user)
    mine = row.human_labels.filter(coder=user).first()
    question = row.answer.question
    suggestion = [] if blind or row.model_version_id is None else list(row.model_labels)
    chosen = list(mine.labels) if mine else ([] if blind else list(row.labels))
    return CodingItem(
        classification=row,
        title=f"Answer {row.answer_id} · {question.code} · {row.codebook.text('name', language)}",
        question=str(question.text.get(language) or question.text.get("en") or ""),
        answer=row.answer.text,
        categories=[
            _guide(i, c, language)
            for i, c in enumerate(row.codebook.categories.order_by("position"))
        ],
        blind=blind,
        suggestion=suggestion,
        confidence=None if blind else row.confidence,
        chosen=chosen,
        note=mine.note if mine else "",
    )


@dataclass(frozen=True)
class PairAgreement:
    coder_a: str
    coder_b: str
    n: int
    kappa: float
    percent: float


@dataclass(frozen=True)
class Agreement:
    codebook: Codebook
    coders: list[str]
    pairs: list[PairAgreement]
    alpha: float
    alpha_units: int
    model_n: int
    model_kappa: float
    model_accuracy: float


def _nominal(labels: Sequence[str]) -> str:
    # A multi-label coding is one nominal value: the set of its codes.
    return ";".join(sorted(labels))


@dataclass(frozen=True)
class _Codings:
    """Each coder's codings of a codebook: coder id -> unit (classification id) -> value."""

    by_coder: dict[int, dict[str, str]]
    names: dict[int, str]

    @property
    def coder_ids(self) -> list[int]:
        return sorted(self.names, key=lambda pk: self.names[pk])


def _codings(codebook: Codebook) -> _Codings:
    by_coder: dict[int, dict[str, str]] = defaultdict(dict)
    names: dict[int, str] = {}
    for label in HumanLabel.objects.filter(classification__codebook=codebook).select_related(
        "coder"
    ):
        names[label.coder_id] = label.coder.get_username()
        by_coder[label.coder_id][str(label.classification_id)] = _nominal(label.labels)
    return _Codings(by_coder, names)


def _pairs(codings: _Codings) -> list[PairAgreement]:
    pairs = []
    for a, b in itertools.combinations(codings.coder_ids, 2):
        shared = sorted(codings.by_coder[a].keys() & codings.by_coder[b].keys())
        first = [codings.by_coder[a][unit] for unit in shared]
        second = [codings.by_coder[b][unit] for unit in shared]
        pairs.append(
            PairAgreement(
                codings.names[a],
                codings.names[b],
                len(shared),
                agreement.cohen_kappa(first, second),
                agreement.percent_agreement(first, second),
            )
        )
    return pairs


def _alpha(codings: _Codings) -> tuple[float, int]:
    """Krippendorff's alpha over all coders, and the number of units coded more than once."""
    coder_ids = codings.coder_ids
    units = sorted({unit for coder in coder_ids for unit in codings.by_coder[coder]})
    matrix = [[codings.by_coder[coder].get(unit) for unit in units] for coder in coder_ids]
    pairable = sum(1 for j in range(len(units)) if sum(row[j] is not None for row in matrix) > 1)
    alpha = agreement.krippendorff_alpha_nominal(matrix) if len(coder_ids) > 1 else math.nan
    return alpha, pairable


def _model_vs_coders(codebook: Codebook) -> tuple[list[str], list[str]]:
    # The model's own output against the final human coding of each row.
    model, human = [], []
    for model_labels, labels in Classification.objects.filter(
        codebook=codebook, source=Classification.Source.CODER, model_version__isnull=False
    ).values_list("model_labels", "labels"):
        model.append(_nominal(model_labels))
        human.append(_nominal(labels))
    return model, human


def codebook_agreement(*, codebook: Codebook) -> Agreement:
    """Agreement between coders (pairwise kappa, alpha) and between the model and coders."""
    codings = _codings(codebook)
    alpha, pairable = _alpha(codings)
    model, human = _model_vs_coders(codebook)
    return Agreement(
        codebook=codebook,
        coders=[codings.names[pk] for pk in codings.coder_ids],
        pairs=_pairs(codings),
        alpha=alpha,
        alpha_units=pairable,
        model_n=len(model),
        model_kappa=agreement.cohen_kappa(model, human),
        model_accuracy=agreement.percent_agreement(model, human),
    )
