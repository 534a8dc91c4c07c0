"""The deployment configuration: production settings and the Celery contract."""

import os
import subprocess
import sys
from pathlib import Path

import kombu.exceptions
import pytest
import redis.exceptions
from django.conf import settings

from config.celery import app
from config.tasks import EXPORT_RUN, RETRY, TRANSIENT_ERRORS, publish

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_production_settings_pass_check_deploy_without_warnings() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789-abcdef",
        "DJANGO_ALLOWED_HOSTS": "survey.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_ALLOWED_HOSTS": "x"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_celery_is_configured_for_at_least_once_delivery_without_pickle() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_time_limit < visibility
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_tasks_run_eagerly_exactly_when_no_broker_is_configured() -> None:
    assert (not settings.CELERY_BROKER_URL) == settings.CELERY_TASK_ALWAYS_EAGER


def test_a_fresh_worker_finds_every_task_under_its_wire_name() -> None:
    # A new process, as a worker starts: the task modules come only from autodiscovery.
    script = (
        "import django; django.setup()\n"
        "from config.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print(' '.join(sorted(n for n in app.tasks if not n.startswith('celery.'))))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(WIRE_NAMES)


WIRE_NAMES = {
    "classifier.tasks.classify_batch": "default",
    "classifier.tasks.sweep": "default",
    "classifier.tasks.retrain": "default",
    "classifier.tasks.reclassify_all": "default",
    "surveys.tasks.export_run": "exports",
    "surveys.tasks.exports_sweep": "exports",
    "surveys.tasks.analytics_rebuild": "exports",
    "surveys.tasks.analytics_sweep": "exports",
    "surveys.tasks.responses_purge": "default",
}


def test_settings_route_and_schedule_by_the_wire_names() -> None:
    assert {name: route["queue"] for name, route in settings.CELERY_TASK_ROUTES.items()} == (
        WIRE_NAMES
    )
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "classifier.tasks.sweep",
        "surveys.tasks.exports_sweep",
        "surveys.tasks.responses_purge",
        "surveys.tasks.analytics_sweep",
    }


def test_publish_sends_by_name_when_a_broker_takes_messages(monkeypatch, eager_celery) -> None:
    sent: list[tuple[str, tuple]] = []
    app.conf.task_always_eager = False  # eager_celery restores it
    monkeypatch.setattr(app, "send_task", lambda name, args: sent.append((name, args)))
    assert publish(EXPORT_RUN, 7) is True
    assert sent == [("surveys.tasks.export_run", (7,))]


@pytest.mark.parametrize(
    "error",
    [
        kombu.exceptions.OperationalError("Error 111 connecting. Connection refused."),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_publish_reports_an_unreachable_broker_as_false(monkeypatch, eager_celery, error) -> None:
    def down(*args, **kwargs):
        raise error

    app.conf.task_always_eager = False  # eager_celery restores it
    monkeypatch.setattr(app, "send_task", down)
    assert publish(EXPORT_RUN, 7) is False


def test_publish_runs_the_task_in_process_in_eager_mode(eager_celery) -> None:
    # send_task would ignore eager mode and reach for a broker; publish runs the task instead.
    ran: list[int] = []

    @app.task(name="tests.config.probe", shared=False)
    def probe(value: int) -> None:
        ran.append(value)

    try:
        assert publish("tests.config.probe", 3) is True
    finally:
        app.tasks.unregister("tests.config.probe")
    assert ran == [3]


def test_one_retry_policy_retries_only_transient_errors() -> None:
    from django.db import InterfaceError, OperationalError

    assert set(RETRY["autoretry_for"]) == set(TRANSIENT_ERRORS)
    assert {OperationalError, InterfaceError, kombu.exceptions.OperationalError} <= set(
        TRANSIENT_ERRORS
    )
    assert {redis.exceptions.ConnectionError, redis.exceptions.TimeoutError} <= set(
        TRANSIENT_ERRORS
    )
    app.loader.import_default_modules()
    for name in WIRE_NAMES:
        # celery-types' Task omits autoretry_for, which the task decorator sets.
        assert app.tasks[name].autoretry_for == TRANSIENT_ERRORS, name  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_export_tasks_run_by_their_old_names(default_survey, settings, tmp_path, eager_celery):
    from django.contrib.auth import get_user_model

    from surveys.exports import services as export_services
    from surveys.models import ExportJob

    settings.EXPORT_DIR = tmp_path / "exports"
    app.loader.import_default_modules()  # as a worker does before it consumes anything
    user = get_user_model().objects.create_superuser("owner", password="x")
    # Requested outside an on-commit capture: its own message is never sent.
    job = export_services.export_request(user=user, survey=default_survey, format="csv")
    run = app.signature("surveys.tasks.export_run", args=(job.pk,)).apply_async()
    assert run.get() == ExportJob.Status.DONE
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and (settings.EXPORT_DIR / job.file).is_file()
    swept = app.signature("surveys.tasks.exports_sweep").apply_async().get()
    assert swept["requeued"] == 0 and swept["failed"] == 0


def test_the_surveys_app_runs_its_own_config():
    """SurveysConfig.ready connects the app's receivers; a second AppConfig beside it in
    surveys/apps.py would silently replace it by a bare AppConfig."""
    from django.apps import apps

    from surveys.apps import SurveysConfig

    assert type(apps.get_app_config("surveys")) is SurveysConfig
    assert apps.get_app_config("knox").verbose_name == "API tokens"
