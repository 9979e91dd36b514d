from django.urls import path, re_path

from . import views, webhooks

app_name = "mailings"
urlpatterns = [
    path("lien/<int:delivery_id>/<str:signature>/", views.click, name="click"),
    # The configured ESP's anymail webhooks at anymail's own paths, e.g.
    # /webhooks/anymail/mailgun/tracking/; the others answer 404 (mailings/webhooks.py).
    re_path(r"^webhooks/anymail/(?P<route>.*)$", webhooks.endpoint, name="webhooks"),
]
