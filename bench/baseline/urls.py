from django.urls import path

from bench.baseline.views import SubmitView

urlpatterns = [path("submit/", SubmitView.as_view(), name="baseline-submit")]
