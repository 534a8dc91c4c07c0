from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from surveys.exports.receivers import on_response_withdrawn
        from surveys.signals import response_withdrawn

        response_withdrawn.connect(
            on_response_withdrawn, dispatch_uid="surveys.exports.response_withdrawn"
        )
