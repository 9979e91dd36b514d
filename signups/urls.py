from django.urls import path

from . import views

app_name = "signups"
urlpatterns = [
    path("newsletter/", views.list_page, {"slug": "newsletter"}, name="newsletter"),
    path("atelier/", views.list_page, {"slug": "atelier"}, name="workshop"),
    path("entretiens/", views.list_page, {"slug": "entretiens"}, name="interviews"),
    path("entretiens/candidature/", views.apply, name="apply"),
    path("entretiens/candidature/merci/", views.applied, name="applied"),
    path("inscription/<slug:slug>/", views.subscribe, name="subscribe"),
    path("inscription/<slug:slug>/merci/", views.thanks, name="thanks"),
    path("confirmer/<str:token>/", views.confirm, name="confirm"),
    path("desinscription/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("mes-donnees/<str:token>/", views.data, name="data"),
    path("mes-donnees/<str:token>/donnees.json", views.data_export, name="data_export"),
    path("rester-inscrit/<str:token>/", views.reconsent, name="reconsent"),
]
