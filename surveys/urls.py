"""Public and researcher URLs outside the admin and the API, in the `surveys` namespace."""

from django.urls import path

from surveys.exports import views as export_views
from surveys.respondent import views as respondent_views
from surveys.results import views as results_views

app_name = "surveys"

urlpatterns = [
    # the respondent's pages
    path("", respondent_views.home, name="home"),
    path("s/<slug:slug>/", respondent_views.landing, name="landing"),
    path("s/<slug:slug>/thanks/", respondent_views.thanks, name="thanks"),
    path("r/<str:token>/", respondent_views.respond, name="respond"),
    path("withdraw/", respondent_views.withdraw, name="withdraw"),
    # the public results page, while the survey's owners publish it
    path("results/<slug:slug>/", results_views.results_page, name="results"),
    path("results/<slug:slug>/data.json", results_views.results_data, name="results-data"),
    path("results/<slug:slug>/<str:key>.csv", results_views.results_csv, name="results-csv"),
    # researchers' downloads (permission-checked in the views)
    path("exports/<int:job_id>/download/", export_views.export_download, name="export-download"),
    path(
        "exports/survey/<slug:slug>/data.csv",
        export_views.export_stream_csv,
        name="export-stream-csv",
    ),
    path(
        "exports/survey/<slug:slug>/codebook/",
        export_views.export_codebook,
        name="export-codebook",
    ),
]
