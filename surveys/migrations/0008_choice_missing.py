from django.db import migrations, models


def mark_non_substantive(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Flag the choices that were non-substantive by convention: Likert 'na' and 'prefer_not'."""
    Choice = apps.get_model("surveys", "Choice")
    Choice.objects.filter(code="na", question__type__in=["likert", "likert_matrix"]).update(
        missing=True
    )
    Choice.objects.filter(code="prefer_not").update(missing=True)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0007_response_tombstone")]

    operations = [
        migrations.AddField(
            model_name="choice",
            name="missing",
            field=models.BooleanField(
                default=False,
                help_text="A non-substantive answer (don't know, not applicable, refused): "
                "declared missing in SPSS and Stata files and left out of means.",
            ),
        ),
        migrations.RunPython(mark_non_substantive, migrations.RunPython.noop),
    ]
