from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from . import dashboard, views
from .origin import origin_checked

admin.site.site_header = _("Pouls — administration")
admin.site.site_title = _("Pouls")
admin.site.index_title = _("Tableau de bord")
admin.site.index_template = "admin/dashboard.html"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The admin index, with the dashboard (before the admin's own URLs, which it takes).
    path("admin/", admin.site.admin_view(dashboard.index_view)),
    path("admin/", admin.site.urls),
    # The language switcher is on every cached page: checked by origin, no token.
    path("i18n/setlang/", origin_checked(set_language), name="set_language"),
    path("", include("signups.urls")),
    path("", include("mailings.urls")),
    path("", include("articles.urls")),
]
