"""A cache (Redis) outage costs no respondent their answers: rate limiting then fails open."""

from django.test import Client, override_settings

from surveys.models import Response
from tests.surveys.helpers import complete_default

# Nothing listens on port 1: every cache call fails with a connection error.
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_a_response_is_saved_and_thanked_while_the_cache_is_down(default_survey, eager_celery):
    client = Client()
    with override_settings(CACHES=DEAD_REDIS):
        complete_default(client, default_survey, REMOTE_ADDR="203.0.113.9")
        thanks = client.get(f"/s/{default_survey.slug}/thanks/")
    assert thanks.status_code == 200
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert response.answers.count() > 10
