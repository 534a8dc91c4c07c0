from django.apps import AppConfig


class ClassifierConfig(AppConfig):
    name = "classifier"
    verbose_name = "Classifier"

    def ready(self) -> None:
        from classifier.runs.receivers import on_response_completed
        from classifier.runs.variables import ClassificationVariables
        from surveys.signals import response_completed
        from surveys.variables.catalogue import register_provider

        register_provider(ClassificationVariables())

        response_completed.connect(
            on_response_completed, dispatch_uid="classifier.response_completed"
        )
