"""bench/quality.py runs end to end on a tiny labelled file and reports every section."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WORDS = {
    "E0": "repair lift drive clean install weld inspect load trucks pipes engines floors",
    "E1": "draft write summarise answer translate edit reports emails letters memos minutes",
    "E2": "build query automate analyse update databases dashboards scripts spreadsheets",
}


def _write_tasks(path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label", "occupation_code", "occupation"])
        for major in range(11, 17):
            for occ in range(2):
                for label, words in WORDS.items():
                    vocab = words.split()
                    for i in range(6):
                        text = f"{vocab[i]} {vocab[-1 - i]} {vocab[(i + occ) % 5]} task {major}{i}"
                        writer.writerow([text, label, f"{major}-10{occ}1.00", "x"])


@pytest.mark.slow
def test_quality_bench_reports_every_section(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    _write_tasks(path)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "quality.py"),
            "--csv",
            str(path),
            "--quick",
            "--no-encoder",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(result["grouped_cv"]) == set(result["shift"]) == {"baseline", "tfidf"}
    assert {"macro_f1", "coverage", "realised_precision"} <= set(result["shift"]["tfidf"])
    assert result["chinese"]["tfidf"]["zh"]["reasons"] == {"language-not-trained": 39}
    assert set(result["ppi"]["tfidf"]["coverage"]) == {"ppi", "naive"}
    assert result["in_domain"]["groups"]
    assert result["baseline"]["macro_f1"] == result["grouped_cv"]["baseline"]["macro_f1"]


@pytest.mark.slow
def test_grouped_only_compares_the_fused_model_with_the_baseline(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    _write_tasks(path)
    args = ["--csv", str(path), "--quick", "--grouped-only", "--json"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "quality.py"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert set(result["grouped_cv"]) == {"baseline", "tfidf", "tfidf-no-lead", "fused"}
    assert "shift" not in result and "chinese" not in result
    assert 0.0 <= result["grouped_cv"]["fused"]["macro_f1"] <= 1.0


@pytest.mark.slow
def test_fusion_cv_reports_every_model_on_the_same_folds(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    _write_tasks(path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fusion_cv.py"), "--csv", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["n"] == 216 and result["folds"] == 5
    assert set(result["models"]) == {"baseline", "tfidf", "tfidf-no-lead", "fused"}
    assert all(0.0 <= m["macro_f1"] <= 1.0 for m in result["models"].values())
