from django.urls import path

from surveys.api import auth, views

app_name = "api"

urlpatterns = [
    path("auth/token/", auth.TokenApi.as_view(), name="token"),
    path("auth/token/rotate/", auth.TokenRotateApi.as_view(), name="token-rotate"),
    path("auth/logout/", auth.LogoutApi.as_view(), name="logout"),
    path("auth/logout-all/", auth.LogoutAllApi.as_view(), name="logout-all"),
    path("surveys/", views.SurveyListApi.as_view(), name="survey-list"),
    path("surveys/<slug:slug>/", views.SurveyDetailApi.as_view(), name="survey-detail"),
    path(
        "surveys/<slug:slug>/statistics/", views.StatisticsApi.as_view(), name="survey-statistics"
    ),
    path("surveys/<slug:slug>/exposure/", views.ExposureApi.as_view(), name="survey-exposure"),
    path(
        "surveys/<slug:slug>/responses/", views.ResponseListApi.as_view(), name="survey-responses"
    ),
    path(
        "surveys/<slug:slug>/responses/deleted/",
        views.TombstoneListApi.as_view(),
        name="survey-tombstones",
    ),
]
