from django.urls import path

from . import views

app_name = "signups"
urlpatterns = [
    path("newsletter/", views.list_page, {"slug": "newsletter"}, name="newsletter"),
    path("atelier/", views.list_page, {"slug": "atelier"}, name="workshop"),
    path("entretiens/", views.list_page, {"slug": "entretiens"}, name="interviews"),
    path("entretiens/candidature/", views.apply, name="apply"),
    path("inscription/<slug:slug>/", views.subscribe, name="subscribe"),
    path("inscription/<slug:slug>/merci/", views.thanks, name="thanks"),
    path("confirmer/<str:token>/", views.confirm, name="confirm"),
    path("desinscription/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path(
        "preferences/<str:token>/donnees.json", views.preferences_export, name="preferences_export"
    ),
    path("rester-inscrit/<str:token>/", views.reconsent, name="reconsent"),
]
