from django.urls import path, register_converter

from articles.cache import cached_page

from . import pages, views

register_converter(pages.ListPathConverter, "listpath")

app_name = "signups"
urlpatterns = [
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
    # Last: each open list's page at its own address (signups.pages), no code per list.
    path("<listpath:path>/", cached_page(pages.list_page), name="list"),
]
