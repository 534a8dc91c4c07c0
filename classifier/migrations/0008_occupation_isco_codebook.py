"""Ship the occupation-isco codebook: an occupation question's "other, please specify" text.

Its categories are the ISCO-08 unit groups of the occupation list (surveys/reference/
occupations.json, read here so that the two never differ); its labels are suggestions for a
coder (`suggest_only`): the respondent's stored occupation code never changes.
"""

from django.db import migrations, models

from surveys.reference import occupations

CODEBOOK = {
    "slug": "occupation-isco",
    "multilabel": False,
    "suggest_only": True,
    "question_codes": ["occupation"],
    "name": {"en": "Occupation (ISCO-08) of 'other' answers", "zh-hans": "“其他”职业的 ISCO-08 归类"},
    "description": {
        "en": "The job title a respondent typed after choosing 'other' for their occupation: the "
        "ISCO-08 unit group of the occupation list it belongs to. The model's label is a "
        "suggestion for a coder; the respondent's answer stays 'other'.",
        "zh-hans": "受访者在职业题中选择“其他”后填写的职业名称：它属于职业列表中的哪个 ISCO-08 "
        "细类。模型的标签只是供编码员参考的建议；受访者的答案仍为“其他”。",
    },
}


def add_codebook(apps, schema_editor):
    Codebook = apps.get_model("classifier", "Codebook")
    Category = apps.get_model("classifier", "Category")
    codebook, _created = Codebook.objects.get_or_create(
        slug=CODEBOOK["slug"], defaults={"question_codes": CODEBOOK["question_codes"]}
    )
    codebook.name = CODEBOOK["name"]
    codebook.description = CODEBOOK["description"]
    codebook.multilabel = CODEBOOK["multilabel"]
    codebook.suggest_only = CODEBOOK["suggest_only"]
    # With no list it would code every classify question nobody names: give it its own back.
    codebook.question_codes = codebook.question_codes or CODEBOOK["question_codes"]
    codebook.save(
        update_fields=["name", "description", "multilabel", "suggest_only", "question_codes"]
    )
    for position, occupation in enumerate(occupations()):
        Category.objects.update_or_create(
            codebook=codebook,
            code=occupation.isco,
            defaults={
                "position": position,
                "label": {lang: f"{occupation.isco} {text}" for lang, text in occupation.label.items()},
                "definition": dict(occupation.group),
            },
        )


def remove_codebook(apps, schema_editor):
    Codebook = apps.get_model("classifier", "Codebook")
    Codebook.objects.filter(slug=CODEBOOK["slug"]).delete()


class Migration(migrations.Migration):
    dependencies = [("classifier", "0007_classification_review_reason")]

    operations = [
        migrations.AddField(
            model_name="codebook",
            name="suggest_only",
            field=models.BooleanField(
                default=False,
                help_text="Model labels are suggestions for coders: never auto-coded, never blind.",
            ),
        ),
        migrations.RunPython(add_codebook, remove_codebook),
    ]
