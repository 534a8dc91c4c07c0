from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.home, name="home"),
    path("s/<slug:slug>/", views.landing, name="landing"),
    path("s/<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("r/<str:token>/", views.respond, name="respond"),
    path("withdraw/", views.withdraw, name="withdraw"),
]

# --- exports (researchers' downloads; see surveys/views_exports.py) ----------------------------
from surveys import views_exports  # noqa: E402

urlpatterns += [
    path(
        "exports/<int:job_id>/download/",
        views_exports.export_download,
        name="export-download",
    ),
    path(
        "exports/survey/<slug:slug>/data.csv",
        views_exports.export_stream_csv,
        name="export-stream-csv",
    ),
    path(
        "exports/survey/<slug:slug>/codebook/",
        views_exports.export_codebook,
        name="export-codebook",
    ),
]
