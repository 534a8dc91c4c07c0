"""Ship a third codebook, task-exposure: each work task a respondent lists, coded E0, E1 or E2.

The categories follow the exposure rubric of Eloundou, Manning, Mishkin & Rock (2023), "GPTs are
GPTs", rewritten in our own words. It codes only the default survey's `main_tasks` question (one
line at a time); the texts are frozen here, like the other shipped codebooks'.
"""

from django.db import migrations

SOURCE_EN = (
    " After the exposure rubric of Eloundou, Manning, Mishkin & Rock (2023), 'GPTs are GPTs: An "
    "early look at the labor market impact potential of large language models'; its human-labelled "
    "O*NET task statements (MIT License) are the seed corpus. A respondent's alpha, beta and gamma "
    "are computed from their coded tasks as in the paper."
)
SOURCE_ZH = (
    "依据 Eloundou、Manning、Mishkin 与 Rock（2023）《GPTs are GPTs》的暴露度评分标准改写；"
    "种子语料为该研究人工标注的 O*NET 任务描述（MIT 许可）。受访者的 alpha、beta、gamma "
    "按论文的方法由其已编码的任务计算。"
)

CODEBOOK = {
    "slug": "task-exposure",
    "multilabel": False,
    "question_codes": ["main_tasks"],
    "name": {"en": "Task exposure to language models", "zh-hans": "任务受语言模型影响的程度"},
    "description": {
        "en": "One work task, as the respondent wrote it: could a large language model, alone or "
        "through software built on it, cut the time the task takes by at least half at the same "
        "quality? Judged from the task's text alone, not from the respondent's occupation."
        + SOURCE_EN,
        "zh-hans": "受访者所写的一项工作任务：大型语言模型单独使用、或通过基于它开发的软件，能否在质量"
        "不变的前提下把完成该任务的时间至少缩短一半？只依据任务文字本身判断，不看受访者的职业。"
        + SOURCE_ZH,
    },
    "categories": [
        (
            "E0",
            {"en": "E0 No exposure", "zh-hans": "E0 无暴露"},
            {
                "en": "Neither the model nor software built on it would halve the time the task "
                "takes at the same quality: physical, hands-on or in-person work, live "
                "performance, care, or judgement and relationships the tools cannot carry.",
                "zh-hans": "无论是模型本身还是基于它的软件，都无法在质量不变的情况下把完成时间缩短一半："
                "体力或动手的工作、现场或面对面的工作、现场表演、照护，以及工具无法承担的判断与人际关系。",
            },
            [
                {"en": "Operate a camera crane on set.", "zh-hans": "在片场操作摄影摇臂。"},
                {"en": "Fit costumes on actors.", "zh-hans": "给演员试穿戏服。"},
            ],
        ),
        (
            "E1",
            {"en": "E1 Direct exposure", "zh-hans": "E1 直接暴露"},
            {
                "en": "A chat model by itself (text in, text out, with what fits in a prompt) "
                "could do the task, or most of it, in half the time or less at the same quality: "
                "writing, rewriting, summarising, translating, drafting, answering questions, "
                "simple code.",
                "zh-hans": "仅凭对话式模型本身（输入文字、输出文字，只用能放进提示词的信息）就能以一半"
                "或更少的时间、相同的质量完成该任务或其大部分：写作、改写、摘要、翻译、起草、答问、简单的代码。",
            },
            [
                {
                    "en": "Write the voice-over script for a product video.",
                    "zh-hans": "为产品视频撰写旁白脚本。",
                },
                {"en": "Translate subtitles into English.", "zh-hans": "把字幕翻译成英文。"},
            ],
        ),
        (
            "E2",
            {"en": "E2 Exposure through software", "zh-hans": "E2 经由软件暴露"},
            {
                "en": "The model alone would not halve the time, but software built on it "
                "reasonably could: tools that search a company's own records, generate or edit "
                "images, connect to other systems or specialised applications.",
                "zh-hans": "仅靠模型本身不能把时间缩短一半，但基于模型开发的软件可以合理地做到："
                "检索本单位资料、生成或编辑图像、连接其他系统或专业应用的工具。",
            },
            [
                {
                    "en": "Keep the production schedule and budget records up to date.",
                    "zh-hans": "更新制作进度表和预算记录。",
                },
                {
                    "en": "Prepare storyboards from the director's notes.",
                    "zh-hans": "根据导演的笔记准备分镜。",
                },
            ],
        ),
    ],
}


def add_codebook(apps, schema_editor):
    Codebook = apps.get_model("classifier", "Codebook")
    Category = apps.get_model("classifier", "Category")
    codebook, created = Codebook.objects.get_or_create(
        slug=CODEBOOK["slug"],
        defaults={"question_codes": CODEBOOK["question_codes"]},
    )
    codebook.name = CODEBOOK["name"]
    codebook.description = CODEBOOK["description"]
    codebook.multilabel = CODEBOOK["multilabel"]
    codebook.save(update_fields=["name", "description", "multilabel"])
    for position, (code, label, definition, examples) in enumerate(CODEBOOK["categories"]):
        Category.objects.update_or_create(
            codebook=codebook,
            code=code,
            defaults={
                "position": position,
                "label": label,
                "definition": definition,
                "examples": examples,
            },
        )


def remove_codebook(apps, schema_editor):
    Codebook = apps.get_model("classifier", "Codebook")
    Codebook.objects.filter(slug=CODEBOOK["slug"]).delete()


class Migration(migrations.Migration):
    dependencies = [("classifier", "0005_audit_sample_and_questions")]

    operations = [migrations.RunPython(add_codebook, remove_codebook)]
