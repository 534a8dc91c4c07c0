"""Standalone train / predict / estimate commands: verified thresholds, review reasons, PPI."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from classifier import pipeline
from tests.classifier.conftest import write_csv

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "data" / "classifier"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def verified_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "verified.clf"
    call_command(
        "classifier_train",
        "--csv",
        str(DATA / "base.csv"),
        "--in-domain-csv",
        str(DATA / "in_domain.csv"),
        "--out",
        str(out),
        stdout=StringIO(),
    )
    return out


def test_train_with_in_domain_rows_verifies_the_threshold(tmp_path: Path) -> None:
    out = tmp_path / "m.clf"
    args = ["--csv", str(DATA / "base.csv"), "--out", str(out), "--target-precision", "0.9"]
    output = run("classifier_train", *args, "--in-domain-csv", str(DATA / "in_domain.csv"))
    meta = pipeline.read_metadata(out)
    assert meta["threshold_status"] == "verified"
    assert meta["in_domain"]["n"] == 45
    assert meta["in_domain"]["precision_lower_bound"] >= 0.9
    assert meta["threshold"] < pipeline.NO_THRESHOLD and meta["in_domain"]["coverage"] > 0.5
    assert "Threshold verified on 45 in-domain rows" in output


def test_train_says_plainly_when_no_threshold_qualifies(tmp_path: Path) -> None:
    out = tmp_path / "m.clf"
    output = run(
        "classifier_train",
        "--csv",
        str(DATA / "base.csv"),
        "--in-domain-csv",
        str(DATA / "in_domain_mislabelled.csv"),
        "--out",
        str(out),
    )
    meta = pipeline.read_metadata(out)
    assert meta["threshold_status"] == "none-qualified"
    assert meta["threshold"] >= pipeline.NO_THRESHOLD
    assert "NO THRESHOLD QUALIFIES" in output
    predicted = tmp_path / "predicted.csv"
    run(
        "classifier_predict",
        "--model",
        str(out),
        "--csv",
        str(DATA / "unlabelled.csv"),
        "--out",
        str(predicted),
    )
    rows = read_csv(predicted)
    assert {r["auto_coded"] for r in rows} == {"false"}
    assert {r["reason"] for r in rows} <= {"no-threshold", "unknown-vocabulary"}


def test_train_without_in_domain_rows_is_unverified(tmp_path: Path) -> None:
    out = tmp_path / "m.clf"
    output = run("classifier_train", "--csv", str(DATA / "base.csv"), "--out", str(out))
    assert pipeline.read_metadata(out)["threshold_status"] == "unverified"
    assert "Threshold UNVERIFIED" in output


def test_predict_gives_reasons_for_texts_it_cannot_read(
    verified_model: Path, tmp_path: Path
) -> None:
    texts = [
        "Repair delivery trucks at work.",
        "修理送货卡车。",
        "???",
        "zorblat quimble frazzle",
    ]
    src = write_csv(tmp_path / "in.csv", ["id", "text"], [(str(i), t) for i, t in enumerate(texts)])
    out = tmp_path / "out.csv"
    output = run(
        "classifier_predict", "--model", str(verified_model), "--csv", str(src), "--out", str(out)
    )
    rows = read_csv(out)
    assert list(rows[0]) == ["id", "text", "label", "confidence", "auto_coded", "reason"]
    assert [r["reason"] for r in rows[1:]] == [
        "language-not-trained",
        "empty",
        "unknown-vocabulary",
    ]
    assert [r["auto_coded"] for r in rows[1:]] == ["false"] * 3
    assert rows[0]["label"] == "E0"
    assert (rows[0]["auto_coded"] == "true") == (rows[0]["reason"] == "")
    assert "4 rows" in output


def test_estimate_json_has_ppi_and_naive_shares(verified_model: Path) -> None:
    output = run(
        "classifier_estimate",
        "--model",
        str(verified_model),
        "--csv",
        str(DATA / "unlabelled.csv"),
        "--audit-csv",
        str(DATA / "audit.csv"),
        "--json",
    )
    result = json.loads(output)
    assert set(result["categories"]) == {"E0", "E1", "E2"}
    for figures in result["categories"].values():
        assert set(figures) == {"ppi", "naive"}
        for share in figures.values():
            assert set(share) == {"estimate", "low", "high"}
            assert share["low"] <= share["estimate"] <= share["high"]
    # The synthetic answers are a third of each code.
    assert (
        result["categories"]["E1"]["ppi"]["low"] < 1 / 3 < result["categories"]["E1"]["ppi"]["high"]
    )
    assert result["n_unlabelled"] == 60 and result["n_audit"] == 30


def test_estimate_table(verified_model: Path) -> None:
    output = run(
        "classifier_estimate",
        "--model",
        str(verified_model),
        "--csv",
        str(DATA / "unlabelled.csv"),
        "--audit-csv",
        str(DATA / "audit.csv"),
    )
    assert "PPI share" in output and "E2" in output and "audit sample 30" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--codebook", "displacement-risk", "--in-domain-csv", "x.csv"], "standalone"),
        (
            [
                "--csv",
                str(DATA / "base.csv"),
                "--out",
                "m.clf",
                "--in-domain-weight",
                "0",
                "--in-domain-csv",
                str(DATA / "in_domain.csv"),
            ],
            "must be positive",
        ),
        (
            [
                "--csv",
                str(DATA / "base.csv"),
                "--out",
                "m.clf",
                "--in-domain-csv",
                str(DATA / "audit.csv") + ".missing",
            ],
            "cannot read",
        ),
    ],
)
def test_train_in_domain_errors(args: list[str], message: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=message):
        run("classifier_train", *[a.replace("m.clf", str(tmp_path / "m.clf")) for a in args])


def test_estimate_errors(verified_model: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run(
            "classifier_estimate",
            "--model",
            str(verified_model),
            "--csv",
            str(DATA / "unlabelled.csv"),
            "--audit-csv",
            str(tmp_path / "missing.csv"),
        )
    with pytest.raises(CommandError, match="column 'label' not found"):
        run(
            "classifier_estimate",
            "--model",
            str(verified_model),
            "--csv",
            str(DATA / "unlabelled.csv"),
            "--audit-csv",
            str(DATA / "unlabelled.csv"),
        )
