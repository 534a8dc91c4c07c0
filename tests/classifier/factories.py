"""factory_boy factories for the classifier's rows: codebooks, model versions, codings, jobs."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from classifier.models import (
    Category,
    Classification,
    Codebook,
    CodingAssignment,
    HumanLabel,
    Job,
    ModelVersion,
)
from tests.factories import AnswerFactory


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"coder-{n}")
    is_staff = True


class CodebookFactory(factory.django.DjangoModelFactory[Codebook]):
    class Meta:
        model = Codebook
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"codebook-{n}")
    name = factory.LazyAttribute(lambda o: {"en": o.slug, "zh-hans": f"{o.slug}（中文）"})
    multilabel = False
    target_precision = 0.9


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("codebook", "code")

    codebook = factory.SubFactory(CodebookFactory)
    code = factory.Sequence(lambda n: f"code-{n}")
    position = factory.Sequence(lambda n: n)
    label = factory.LazyAttribute(lambda o: {"en": o.code, "zh-hans": f"{o.code}（中文）"})


class ModelVersionFactory(factory.django.DjangoModelFactory[ModelVersion]):
    class Meta:
        model = ModelVersion

    codebook = factory.SubFactory(CodebookFactory)
    version = factory.Sequence(lambda n: n + 1)
    artifact_path = factory.LazyAttribute(lambda o: f"{o.codebook.slug}-v{o.version}.joblib")
    checksum = ""  # no recorded checksum: any artifact at the path loads
    threshold = 0.5
    is_active = False


class ClassificationFactory(factory.django.DjangoModelFactory[Classification]):
    class Meta:
        model = Classification

    answer = factory.SubFactory(AnswerFactory, question__classify=True)
    codebook = factory.SubFactory(CodebookFactory)
    status = Classification.Status.PENDING

    class Params:
        done = factory.Trait(
            status=Classification.Status.DONE,
            attempts=1,
            labels=factory.LazyFunction(list),
            confidence=0.5,
            review_status=Classification.ReviewStatus.NEEDS_REVIEW,
        )


class HumanLabelFactory(factory.django.DjangoModelFactory[HumanLabel]):
    class Meta:
        model = HumanLabel

    classification = factory.SubFactory(ClassificationFactory, done=True)
    coder = factory.SubFactory(UserFactory)
    labels = factory.LazyFunction(list)


class CodingAssignmentFactory(factory.django.DjangoModelFactory[CodingAssignment]):
    class Meta:
        model = CodingAssignment

    classification = factory.SubFactory(ClassificationFactory, done=True)
    coder = factory.SubFactory(UserFactory)


class JobFactory(factory.django.DjangoModelFactory[Job]):
    class Meta:
        model = Job

    kind = Job.Kind.RETRAIN
    codebook = factory.SubFactory(CodebookFactory)
    status = Job.Status.QUEUED
