"""factory_boy factories for the survey models; texts default to English + Simplified Chinese."""

from __future__ import annotations

import factory
from django.utils import timezone

from surveys.models import Answer, Choice, MatrixRow, Page, Question, Response, Survey


def _texts(english: str, chinese: str | None = None) -> dict[str, str]:
    return {"en": english, "zh-hans": chinese or f"{english}（中文）"}


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"survey-{n}")
    title = factory.LazyAttribute(lambda o: _texts(f"Survey {o.slug}"))
    description = factory.LazyFunction(lambda: _texts("A survey used in tests."))
    consent_text = factory.LazyFunction(lambda: _texts("Please agree to take part."))
    thank_you_text = factory.LazyFunction(lambda: _texts("Thank you."))
    status = Survey.Status.OPEN
    languages = factory.LazyFunction(lambda: ["en", "zh-hans"])
    default_language = "en"
    invitation_only = False


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Page

    survey = factory.SubFactory(SurveyFactory)
    code = factory.Sequence(lambda n: f"page_{n}")
    position = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda o: _texts(f"Page {o.code}"))
    intro = factory.LazyFunction(dict)
    condition = None


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    page = factory.SubFactory(PageFactory)
    survey = factory.SelfAttribute("page.survey")
    code = factory.Sequence(lambda n: f"question_{n}")
    position = factory.Sequence(lambda n: n + 1)
    type = Question.Type.SHORT_TEXT
    text = factory.LazyAttribute(lambda o: _texts(f"Question {o.code}?"))
    help_text = factory.LazyFunction(dict)
    required = False
    classify = False
    condition = None


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory, type=Question.Type.SINGLE_CHOICE)
    code = factory.Sequence(lambda n: f"choice_{n}")
    position = factory.Sequence(lambda n: n + 1)
    label = factory.LazyAttribute(lambda o: _texts(f"Option {o.code}"))
    is_other = False
    exclusive = False


class MatrixRowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MatrixRow

    question = factory.SubFactory(QuestionFactory, type=Question.Type.LIKERT_MATRIX, scale=5)
    code = factory.Sequence(lambda n: f"row_{n}")
    position = factory.Sequence(lambda n: n + 1)
    text = factory.LazyAttribute(lambda o: _texts(f"Statement {o.code}"))


def _minute() -> timezone.datetime:
    return timezone.now().replace(second=0, microsecond=0)


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    survey = factory.SubFactory(SurveyFactory)
    public_id = factory.Sequence(lambda n: f"resp{n:018d}")
    language = "en"
    status = Response.Status.IN_PROGRESS
    started_at = factory.LazyFunction(_minute)
    submitted_at = None

    class Params:
        complete = factory.Trait(
            status=Response.Status.COMPLETE, submitted_at=factory.LazyFunction(_minute)
        )


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    response = factory.SubFactory(ResponseFactory)
    question = factory.SubFactory(
        QuestionFactory, page__survey=factory.SelfAttribute("...response.survey")
    )
    row = ""
    text = "An answer."
