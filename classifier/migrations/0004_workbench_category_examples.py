"""Give the shipped codebooks' categories two examples each (English and Chinese), shown to coders.

Taken from the seed corpora (classifier/data/) and frozen here. Examples a researcher has already
written are kept: only empty example lists are filled.
"""

from django.db import migrations

EXAMPLES = {
    "displacement-risk": {
        "displaced": [
            {
                "en": "I lost two regular e-learning narration clients "
                "in 2024. Both told me they'd switched to "
                "ElevenLabs voices and didn't need a human read "
                "anymore.",
                "zh-hans": "去年给一家电商公司做产品主图和短视频，合作了三年，今年春天对方直接说他们内部用AI出图了，不再外包。一个月少了差不多七千块。",
            },
            {
                "en": "my storyboard work for a mid size agency dried up "
                "last spring. The creative director started "
                "generating boards in Midjourney and just sends "
                "them to the director himself now",
                "zh-hans": "有声书平台的单子从去年下半年开始明显少了，平台自己上了AI朗读，现在只有头部作品才找真人。我原来一个月能接四五本，现在一本都难。",
            },
        ],
        "substitution": [
            {
                "en": "I haven't lost anything yet, but I'd be lying "
                "if I said the ElevenLabs demos didn't scare "
                "me. For e-learning and explainers a cloned "
                "voice is already good enough.",
                "zh-hans": "我觉得配音这行迟早会被AI替代，现在的声音克隆已经能做到八九成像了，普通的广告配音肯定是第一批。",
            },
            {
                "en": "Sora can already do what I do for mood films. "
                "It's only a matter of time before agencies "
                "stop hiring someone like me for it.",
                "zh-hans": "目前还没丢单，但看了Sora的演示，我做的那种产品展示视频它基本都能做，只是时间问题。",
            },
        ],
        "augmentation": [
            {
                "en": "I use Midjourney for mood boards before I "
                "start painting. Speeds up client sign off a "
                "lot. The final piece is still all mine.",
                "zh-hans": "我现在用MJ做前期的情绪板和风格探索，以前要找两天参考，现在半天就能给导演看。但最终设计还是得自己画，AI做不到统一和细节。",
            },
            {
                "en": "Runway has become part of my previs workflow. "
                "I can show a director 10 camera ideas in an "
                "afternoon instead of 2. They still need me to "
                "design the shots and make them work.",
                "zh-hans": "做分镜的时候先用AI生成几个构图参考，然后自己画，速度快了不少。",
            },
        ],
        "not-exposed": [
            {
                "en": "I'm a stage actor. Nobody is going to generate "
                "a live performance in a theatre. Haven't seen "
                "any effect at all.",
                "zh-hans": "我是话剧演员，现场演出，AI目前碰不到我们。",
            },
            {
                "en": "I'm a gaffer. You can't prompt a light onto a real set. Doesn't affect me.",
                "zh-hans": "我是剧组灯光师，灯要人扛，现场要人调，Sora再厉害也不会来片场打灯。",
            },
        ],
        "uncodeable": [{"en": "n/a", "zh-hans": "无"}, {"en": "don't know", "zh-hans": "不知道"}],
    },
    "concerns": {
        "income": [
            {
                "en": "Minimum rates that apply no matter what tools the client "
                "uses. My fees have already been cut in half.",
                "zh-hans": "最担心的就是收入，现在甲方动不动就压价。",
            },
            {
                "en": "a guaranteed minimum day rate for storyboard artists",
                "zh-hans": "希望行业有个最低报价标准，不然大家互相压价，最后谁都活不下去。",
            },
        ],
        "likeness": [
            {
                "en": "A law saying nobody can clone my voice without my written "
                "permission and payment each time it's used.",
                "zh-hans": "声音被克隆是我最担心的，我录过的那么多素材不知道有没有被拿去做声音模型。",
            },
            {
                "en": "Consent for digital replicas. Every time. Not a checkbox "
                "buried on page 40 of a contract.",
                "zh-hans": "希望法律明确规定：没有本人书面同意，不能用任何人的脸和声音生成内容。",
            },
        ],
        "copyright": [
            {
                "en": "Stop AI companies training on our work without permission. "
                "My entire portfolio is in LAION.",
                "zh-hans": "我的画被人拿去训练LoRA，然后在网上卖“某某画风”模型。",
            },
            {
                "en": "Opt-in, not opt-out, for training data.",
                "zh-hans": "希望AI公司公开训练数据，用了谁的作品就要给谁钱。",
            },
        ],
        "quality": [
            {
                "en": "Audiences choosing human-made work. Most AI video is generic "
                "and soulless, I hope people notice.",
                "zh-hans": "AI做出来的东西没有灵魂，千篇一律。",
            },
            {
                "en": "A 'made by humans' label, like organic food. I think people "
                "will pay for it.",
                "zh-hans": "担心观众审美被AI图拉低，以后大家觉得那种油腻的质感就是好看。",
            },
        ],
        "misinformation": [
            {
                "en": "Mandatory labelling of generated video. People "
                "already can't tell what's real.",
                "zh-hans": "最担心的是假视频，以后谁也分不清真假。",
            },
            {
                "en": "I'm more worried about fake news footage than my job. "
                "Sora makes it trivial to fake a war crime video.",
                "zh-hans": "希望所有AI生成的视频都必须加上去不掉的标识。",
            },
        ],
        "skills": [
            {
                "en": "Free training. I need to learn these tools but I can't afford "
                "courses on top of losing work.",
                "zh-hans": "不学AI就会被淘汰，但这些东西更新太快了，根本跟不上。",
            },
            {
                "en": "Where will juniors learn? Entry level roles like roto and "
                "assist are the ones disappearing.",
                "zh-hans": "担心新人没有入门机会了，以前助理干的活都被AI做了，他们怎么成长？",
            },
        ],
        "energy": [
            {
                "en": "The environmental cost. Generating a 10 second clip uses an "
                "absurd amount of electricity and water.",
                "zh-hans": "跑一次视频生成要很多算力，电费和显卡成本都很高。",
            },
            {
                "en": "I don't want to use these tools because of the energy use. "
                "Data centres are draining water in drought areas.",
                "zh-hans": "订阅费太贵了，MJ、Runway、可灵每个都要充钱，一个月好几百。",
            },
        ],
    },
}


def add_examples(apps, schema_editor):
    Category = apps.get_model("classifier", "Category")
    for slug, categories in EXAMPLES.items():
        for code, examples in categories.items():
            for category in Category.objects.filter(codebook__slug=slug, code=code):
                if not category.examples:
                    category.examples = examples
                    category.save(update_fields=["examples"])


class Migration(migrations.Migration):
    dependencies = [("classifier", "0003_workbench_codingflag")]

    operations = [migrations.RunPython(add_examples, migrations.RunPython.noop)]
