"""Ship the two codebooks Exposure codes free-text answers into, in English and Simplified Chinese.

The texts are frozen here (not imported from app code) so that the migration keeps meaning what it
meant when it was written. Re-running it updates the texts and leaves anything else alone.
"""

from django.db import migrations

LITERATURE_EN = (
    " Grounded in Eloundou, Manning, Mishkin & Rock (2023), 'GPTs are GPTs: An early look at the "
    "labor market impact potential of large language models' (exposure rubric E0 no exposure, E1 "
    "direct exposure, E2 exposure through tools built on the model), and in ILO Working Paper 96 "
    "(Gmyrek, Berg & Bescond 2023, 'Generative AI and jobs') and its 2025 update, which separate "
    "automation potential from augmentation potential. Answers are coded semi-automatically after "
    "Schonlau & Couper (2016): the model codes what it is confident about and people code the rest."
)
LITERATURE_ZH = (
    "依据 Eloundou、Manning、Mishkin 与 Rock（2023）《GPTs are GPTs》的暴露度评分标准（E0 无暴露、"
    "E1 直接暴露、E2 经由基于模型的工具暴露），以及国际劳工组织第 96 号工作论文（Gmyrek、Berg 与 "
    "Bescond，2023，《生成式人工智能与就业》）及其 2025 年更新版对自动化潜力与增强潜力的区分。编码采用 "
    "Schonlau 与 Couper（2016）的半自动方法：模型只对有把握的回答自动编码，其余由人工编码。"
)

CODEBOOKS = [
    {
        "slug": "displacement-risk",
        "multilabel": False,
        "name": {"en": "Displacement risk", "zh-hans": "被取代风险"},
        "description": {
            "en": "How generative video AI has affected, or is expected to affect, the "
            "respondent's own work: one code per answer." + LITERATURE_EN,
            "zh-hans": "生成式视频人工智能已经或预计将如何影响受访者本人的工作：每个回答一个编码。"
            + LITERATURE_ZH,
        },
        "categories": [
            (
                "displaced",
                {"en": "Displaced", "zh-hans": "已被取代"},
                {
                    "en": "Has already lost jobs, clients, roles or income to generative AI.",
                    "zh-hans": "已经因生成式人工智能失去工作、客户、职位或收入。",
                },
            ),
            (
                "substitution",
                {"en": "Substitution", "zh-hans": "替代"},
                {
                    "en": "The tools can deliver the core of their work; expects replacement or "
                    "falling rates.",
                    "zh-hans": "这些工具能够完成其工作的核心部分；预计会被取代或报酬下降。",
                },
            ),
            (
                "augmentation",
                {"en": "Augmentation", "zh-hans": "增强"},
                {
                    "en": "The tools change how they work but they stay needed, or they use the "
                    "tools themselves.",
                    "zh-hans": "这些工具改变了其工作方式，但本人仍然被需要，或本人在使用这些工具。",
                },
            ),
            (
                "not-exposed",
                {"en": "Not exposed", "zh-hans": "未受影响"},
                {
                    "en": "The work rests on live presence, physical craft, relationships or "
                    "judgement the tools do not reach.",
                    "zh-hans": "其工作依赖现场表演、手工技艺、人际关系或判断力，这些是工具无法触及的。",
                },
            ),
            (
                "uncodeable",
                {"en": "Uncodeable", "zh-hans": "无法编码"},
                {
                    "en": "Empty, off-topic or unclear.",
                    "zh-hans": "空白、离题或含义不清。",
                },
            ),
        ],
    },
    {
        "slug": "concerns",
        "multilabel": True,
        "name": {"en": "Concerns", "zh-hans": "关切"},
        "description": {
            "en": "What the respondent is concerned about or wants protected: every code that "
            "applies (multi-label)." + LITERATURE_EN,
            "zh-hans": "受访者所担忧或希望得到保护的事项：标注所有适用的编码（多标签）。" + LITERATURE_ZH,
        },
        "categories": [
            (
                "income",
                {"en": "Income and rates", "zh-hans": "收入与报酬"},
                {
                    "en": "Income, fees, rates and the amount of paid work.",
                    "zh-hans": "收入、费用、报酬标准以及有偿工作的数量。",
                },
            ),
            (
                "likeness",
                {"en": "Likeness, voice and consent", "zh-hans": "肖像、声音与同意"},
                {
                    "en": "Use of their likeness or voice without consent: deepfakes, digital "
                    "replicas, voice clones.",
                    "zh-hans": "未经同意使用其肖像或声音：深度伪造、数字复制人、声音克隆。",
                },
            ),
            (
                "copyright",
                {"en": "Copyright and training", "zh-hans": "版权与训练数据"},
                {
                    "en": "Copyright, and models trained on their work without permission or "
                    "payment.",
                    "zh-hans": "版权问题，以及模型未经许可或付费使用其作品进行训练。",
                },
            ),
            (
                "quality",
                {"en": "Quality and authenticity", "zh-hans": "质量与真实性"},
                {
                    "en": "The quality, originality and authenticity of creative work.",
                    "zh-hans": "创意作品的质量、原创性与真实性。",
                },
            ),
            (
                "misinformation",
                {"en": "Misinformation and ethics", "zh-hans": "虚假信息与伦理"},
                {
                    "en": "Misinformation, manipulation and other ethical harms.",
                    "zh-hans": "虚假信息、操纵以及其他伦理危害。",
                },
            ),
            (
                "skills",
                {"en": "Skills and retraining", "zh-hans": "技能与再培训"},
                {
                    "en": "Keeping skills current, retraining, and the path into the profession.",
                    "zh-hans": "保持技能更新、再培训，以及进入本行业的途径。",
                },
            ),
            (
                "energy",
                {"en": "Energy and cost", "zh-hans": "能源与成本"},
                {
                    "en": "The energy use, environmental footprint and cost of the tools.",
                    "zh-hans": "这些工具的能源消耗、环境影响与成本。",
                },
            ),
        ],
    },
]


def add_codebooks(apps, schema_editor):
    Codebook = apps.get_model("classifier", "Codebook")
    Category = apps.get_model("classifier", "Category")
    for spec in CODEBOOKS:
        codebook, _ = Codebook.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "description": spec["description"],
                "multilabel": spec["multilabel"],
            },
        )
        for position, (code, label, definition) in enumerate(spec["categories"]):
            Category.objects.update_or_create(
                codebook=codebook,
                code=code,
                defaults={"position": position, "label": label, "definition": definition},
            )


def remove_codebooks(apps, schema_editor):
    Codebook = apps.get_model("classifier", "Codebook")
    Codebook.objects.filter(slug__in=[spec["slug"] for spec in CODEBOOKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("classifier", "0001_initial")]

    operations = [migrations.RunPython(add_codebooks, remove_codebooks)]
