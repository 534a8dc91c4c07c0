"""Text normalisation, tokenisation and the package's import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classifier.pipeline.text import normalise, tokenize

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_normalise() -> None:
    full_width_hello = "\uff28\uff45\uff4c\uff4c\uff4f"
    assert normalise(f"  {full_width_hello}\t\nWORLD  ") == "hello world"
    assert normalise("\uff21\uff29\u3000生成") == "ai 生成"  # full-width letters, ideographic space


def test_tokenize_mixed_text() -> None:
    tokens = tokenize(normalise("我们用AI工具提高效率, faster drafts!"))
    assert "ai" in tokens and "faster" in tokens and "drafts" in tokens
    assert "我们" in tokens and "工具" in tokens  # segmented, not one long run
    assert tokenize("") == []


def test_tokenize_is_deterministic() -> None:
    text = "去年给一家电商公司做产品主图和短视频\uff0c合作了三年"
    assert tokenize(text) == tokenize(text)


@pytest.mark.slow
def test_import_is_light_and_django_free() -> None:
    code = (
        "import sys, classifier.pipeline as p; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'surveys', 'jieba')]; "
        "bad += [m for m in sys.modules if m.startswith('classifier.') "
        "and not m.startswith('classifier.pipeline')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
