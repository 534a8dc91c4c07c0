"""The admin site as researchers first see it: the site's own name and the role model up front."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Exposure research workbench")
admin.site.site_title = _("Exposure")
admin.site.index_title = _("Your surveys, and what each role may do")
# The index opens with the user's roles and what each role allows (surveys.core.access), above
# the list of models.
admin.site.index_template = "surveys/admin/index.html"
