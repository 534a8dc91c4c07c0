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
