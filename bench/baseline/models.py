"""One table the baseline view inserts into; bench/submit.py creates it (no migrations here)."""

from __future__ import annotations

from django.db import models

TABLE = "bench_baseline_submission"
CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    occupation varchar(8) NOT NULL,
    employment_type varchar(20) NOT NULL,
    country varchar(2) NOT NULL,
    years_experience integer NULL,
    income_band varchar(20) NOT NULL,
    tools_used jsonb NOT NULL,
    lost_work boolean NOT NULL,
    outlook smallint NULL,
    change_text text NOT NULL,
    protect_text text NOT NULL,
    created_at timestamptz NOT NULL
)
"""


class Submission(models.Model):
    """Ten answer fields in one row: what the baseline view writes per request."""

    occupation = models.CharField(max_length=8)
    employment_type = models.CharField(max_length=20)
    country = models.CharField(max_length=2)
    years_experience = models.IntegerField(null=True)
    income_band = models.CharField(max_length=20)
    tools_used = models.JSONField()
    lost_work = models.BooleanField()
    outlook = models.SmallIntegerField(null=True)
    change_text = models.TextField()
    protect_text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        managed = False
        db_table = TABLE

    def __str__(self) -> str:
        return f"submission {self.pk}"
