"""Test-only URLconf: the site's URLs plus a bare view, the benchmarks' baseline."""

from django.http import HttpResponse
from django.urls import include, path


def constant(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/constant/", constant),
    path("", include("config.urls")),
]
