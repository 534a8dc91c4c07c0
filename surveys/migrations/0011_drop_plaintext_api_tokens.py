"""API tokens moved to django-rest-knox (hashed, expiring): drop DRF's plaintext token table.

Whoever held an old token asks for a new one at /api/v1/auth/token/. The table is dropped rather
than left behind because each row is a working credential in clear text.
"""

from django.db import migrations


def drop_plaintext_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if "authtoken_token" in connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name('authtoken_token')}")
    # Forget the old app's migrations, so that installing it again would start afresh.
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0010_builder_test_responses_hidden_choices"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(drop_plaintext_tokens, migrations.RunPython.noop)]
