"""Languages: the survey's own texts follow the respondent's language, else the survey's default."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from surveys.core.errors import SurveyNotFound
from surveys.definitions.transfer import survey_import
from surveys.models import Response
from tests.surveys.helpers import (
    ALL_TYPES_DEFINITION,
    DEFAULT_ANSWERS,
    DEFAULT_PAGES_SHOWN,
    document,
    message,
    page_title,
    post,
    response_of,
    start,
    text,
    ui,
    url,
)


def _lang(result) -> str:
    return document(result).find("html")[0]["attrs"].get("lang", "")


@pytest.mark.django_db
def test_chinese_from_accept_language(default_survey, default_definition):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    landing = client.get(f"/s/{default_survey.slug}/")
    assert landing.status_code == 200
    assert _lang(landing) == "zh-hans"
    assert default_definition["title"]["zh-hans"] in text(landing)
    assert default_definition["consent_text"]["zh-hans"].split("\n")[0] in text(landing)
    assert default_definition["title"]["en"] not in text(landing)

    token = start(client, default_survey)
    assert response_of(token).language == "zh-hans"
    page = client.get(url(token))
    assert _lang(page) == "zh-hans"
    assert page_title(page) == "关于您和您的工作"
    assert "您的主要职业是什么？" in text(page)
    assert "What is your main occupation?" not in text(page)
    assert ui("Page %(number)s · %(percent)s%% done", "zh-hans", number=1, percent=0) in text(page)
    # Reference lists follow too: occupations and countries in Chinese.
    assert ">演员<" in page.content.decode()
    assert ">中国<" in page.content.decode()


@pytest.mark.django_db
def test_explicit_zh_hans_header(default_survey):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    landing = client.get(f"/s/{default_survey.slug}/")
    assert _lang(landing) == "zh-hans"
    assert "生成式视频人工智能与创意工作" in text(landing)


@pytest.mark.django_db
def test_switching_language_mid_survey(client, default_survey, default_definition):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    assert response_of(token).language == "en"
    english = client.get(url(token))
    assert page_title(english) == "Generative AI tools" and _lang(english) == "en"

    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": url(token)})
    assert switched.status_code == 302 and switched["Location"] == url(token)
    chinese = client.get(url(token))
    assert _lang(chinese) == "zh-hans"
    assert page_title(chinese) == "生成式AI工具"
    assert "您在工作中用过以下哪些生成式AI工具？" in text(chinese)
    post(client, token, DEFAULT_ANSWERS["tools"])
    assert response_of(token).language == "zh-hans"
    # Answers given in English are still there, shown in the new language.
    post(client, token, {}, action="back")
    post(client, token, {}, action="back")
    first = client.get(url(token))
    assert page_title(first) == "关于您和您的工作"
    assert document(first).by_id("q_years_experience")["attrs"]["value"] == "12"

    client.post("/i18n/setlang/", {"language": "en", "next": url(token)})
    post(client, token, DEFAULT_ANSWERS["about_you"])
    assert response_of(token).language == "en"


@pytest.mark.django_db
def test_unsupported_language_falls_back_to_the_survey_default(default_survey):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    landing = client.get(f"/s/{default_survey.slug}/")
    assert _lang(landing) == "en"
    assert "Generative video AI and creative work" in text(landing)
    token = start(client, default_survey)
    assert response_of(token).language == "en"
    # A language the site does not offer, chosen in the switcher, changes nothing.
    client.post("/i18n/setlang/", {"language": "fr", "next": url(token)})
    assert _lang(client.get(url(token))) == "en"


def _single_language(language: str, default: str) -> dict:
    definition = copy.deepcopy(ALL_TYPES_DEFINITION)
    definition["slug"] = f"only-{language}"
    definition["languages"] = [language]
    definition["default_language"] = default
    return definition


@pytest.mark.django_db
def test_survey_only_in_chinese_shown_to_english_and_french_speakers():
    survey = survey_import(definition=_single_language("zh-hans", "zh-hans"))
    for header in ("en-US,en;q=0.9", "fr", ""):
        client = Client(HTTP_ACCEPT_LANGUAGE=header)
        landing = client.get(f"/s/{survey.slug}/")
        assert _lang(landing) == "zh-hans", header
        assert "所有题型" in text(landing)
        token = start(client, survey)
        assert response_of(token).language == "zh-hans"
        assert "哪种宠物？" in text(client.get(url(token)))


@pytest.mark.django_db
def test_survey_only_in_english_shown_to_a_chinese_speaker():
    survey = survey_import(definition=_single_language("en", "en"))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    landing = client.get(f"/s/{survey.slug}/")
    assert _lang(landing) == "en"
    assert "Every question type" in text(landing)
    token = start(client, survey)
    page = client.get(url(token))
    assert _lang(page) == "en" and "Which pet?" in text(page)
    # Even after choosing Chinese in the switcher the response stays in a language it offers.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": url(token)})
    post(client, token, {"q_pet": "cat", "q_grid__fast": "1", "q_grid__cheap": "1"})
    assert Response.objects.get().language == "en"


@pytest.mark.django_db
def test_error_pages_follow_the_language():
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    result = client.get("/s/nothing-here/")
    assert result.status_code == 404
    assert _lang(result) == "zh-hans"
    assert message(result) == ui(str(SurveyNotFound.message), "zh-hans")


@pytest.mark.django_db
def test_a_resume_link_on_another_device_keeps_the_response_language(default_survey):
    phone = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    token = start(phone, default_survey)
    post(phone, token, DEFAULT_ANSWERS["about_you"])
    assert response_of(token).language == "zh-hans"
    # The same link on an English-speaking laptop, with no language chosen there.
    laptop = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    page = laptop.get(url(token))
    assert _lang(page) == "zh-hans"
    assert page_title(page) == "生成式AI工具"
    post(laptop, token, DEFAULT_ANSWERS["tools"])
    assert response_of(token).language == "zh-hans"
    # Choosing a language in the switcher on the laptop still wins (it is saved with a page sent).
    laptop.post("/i18n/setlang/", {"language": "en", "next": url(token)})
    assert _lang(laptop.get(url(token))) == "en"
    # Finished on a third device: the thank-you page and its receipt in the response's language too.
    finisher = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    rest = DEFAULT_PAGES_SHOWN[2:]
    for index, code in enumerate(rest):
        post(finisher, token, DEFAULT_ANSWERS[code], "submit" if index == len(rest) - 1 else "next")
    thanks = finisher.get(f"/s/{default_survey.slug}/thanks/")
    assert _lang(thanks) == "zh-hans" and 'id="receipt-code"' in thanks.content.decode()
