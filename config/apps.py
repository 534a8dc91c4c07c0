"""App configurations of third-party apps, renamed for the people who see them in the admin."""

from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    """django-rest-knox's token model, under a name researchers recognise in the admin.

    Kept out of surveys/apps.py: a second AppConfig there would stop Django from picking
    SurveysConfig (and its ready()) by default.
    """

    name = "knox"
    label = "knox"
    verbose_name = "API tokens"
