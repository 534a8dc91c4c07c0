from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("surveys", "0008_choice_missing")]

    operations = [
        migrations.RemoveConstraint(model_name="exportjob", name="exportjob_status"),
        migrations.AddConstraint(
            model_name="exportjob",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    status__in=["pending", "running", "done", "failed", "expired", "withdrawn"]
                ),
                name="exportjob_status",
            ),
        ),
        migrations.AlterField(
            model_name="exportjob",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("expired", "Expired"),
                    ("withdrawn", "Withdrawn (a respondent withdrew: request a new export)"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
    ]
