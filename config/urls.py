from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from surveys.api.views import ApiDocsView
from surveys.core.loginlimit import LimitedAdminAuthenticationForm

# The admin's login counts password attempts with the API's token endpoint (per address and
# per username); Django's own form has no limit at all.
admin.site.login_form = LimitedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("surveys.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("surveys.urls")),
]
