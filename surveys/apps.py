from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from surveys.exports.receivers import on_response_withdrawn
        from surveys.signals import response_withdrawn
        from surveys.variables.catalogue import register_provider
        from surveys.variables.reference import OccupationReferenceVariables

        register_provider(OccupationReferenceVariables())

        response_withdrawn.connect(
            on_response_withdrawn, dispatch_uid="surveys.exports.response_withdrawn"
        )
