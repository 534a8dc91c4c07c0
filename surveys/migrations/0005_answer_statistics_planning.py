"""Planner statistics (and, see below, an index) for the statistics API's queries on answers.

Answers are stored one row per answer, so a cross-tabulation with filters joins surveys_answer to
itself once per variable. PostgreSQL estimates `question_id = 4 AND row = '' AND choice = 'US'`
as if the three were independent, which underestimates such a filter by 30-40x at 200,000
responses; with a few hundred matches expected it then probes the answers once per response
(nested loops with a heap fetch each) instead of hashing them. Multivariate statistics on the
columns the API filters and groups on give it the real joint frequencies.

The index (question, row, response) carrying choice and boolean lets the value of one variable
for every response be read in response order from the index alone, so it merges or hashes with
the filtered responses without touching the table; the existing answer_question_values
(question, row, choice, boolean, response) stays the one for filters, since with the value
fixed it yields the matching responses already sorted.

Both are PostgreSQL-only (INCLUDE and CREATE STATISTICS), so they are created here rather than
declared on the model; on SQLite this migration does nothing.
"""

from django.db import migrations

STATEMENTS = [
    (
        "CREATE STATISTICS IF NOT EXISTS answer_question_values_stats (dependencies, mcv) "
        'ON question_id, "row", choice, "boolean" FROM surveys_answer',
        "DROP STATISTICS IF EXISTS answer_question_values_stats",
    ),
    (
        "CREATE INDEX IF NOT EXISTS answer_question_response ON surveys_answer "
        '(question_id, "row", response_id) INCLUDE (choice, "boolean")',
        "DROP INDEX IF EXISTS answer_question_response",
    ),
]


def _run(schema_editor, statements):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute("ANALYZE surveys_answer")


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, [create for create, _ in STATEMENTS])


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for _, drop in reversed(STATEMENTS):
            schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0004_answer_covering_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
