from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import dashboard, views

admin.site.site_header = _("Pouls — administration")
admin.site.site_title = _("Pouls")
admin.site.index_title = _("Tableau de bord")
admin.site.index_template = "admin/dashboard.html"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The admin index, with the dashboard (before the admin's own URLs, which it takes).
    path("admin/", admin.site.admin_view(dashboard.index_view)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("signups.urls")),
    path("", include("mailings.urls")),
    path("", include("articles.urls")),
]
