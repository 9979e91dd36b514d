from django.urls import include, path

app_name = "mailings"
urlpatterns = [
    # anymail's tracking webhooks, e.g. /webhooks/anymail/mailgun/tracking/,
    # protected by WEBHOOK_SECRET (HTTP basic auth, anymail's own check).
    path("webhooks/anymail/", include("anymail.urls")),
]
