from django.urls import re_path

from . import webhooks

app_name = "mailings"
urlpatterns = [
    # The configured ESP's anymail webhooks at anymail's own paths, e.g.
    # /webhooks/anymail/mailgun/tracking/; the others answer 404 (mailings/webhooks.py).
    re_path(r"^webhooks/anymail/(?P<route>.*)$", webhooks.endpoint, name="webhooks"),
]
