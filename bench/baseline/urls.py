from django.urls import path

from bench.baseline.pages import stored_page
from bench.baseline.views import SubmitView

urlpatterns = [
    path("submit/", SubmitView.as_view(), name="baseline-submit"),
    path("page/<str:name>", stored_page, name="baseline-page"),
]
