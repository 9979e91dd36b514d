"""Test-only URLconf: the site's URLs plus the benchmarks' bare baselines."""

from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

BASELINE_TABLE = "bench_baseline_row"


def constant(request):
    """The pages' baseline: Django at its cheapest."""
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
def bare_insert(request):
    """The signup's baseline: one row inserted into the same database."""
    with connection.cursor() as cursor:
        sql = f"INSERT INTO {BASELINE_TABLE} (email) VALUES (%s)"  # noqa: S608
        cursor.execute(sql, [request.POST.get("email", "")])
    return HttpResponse("ok")


urlpatterns = [
    path("bench/constant/", constant),
    path("bench/bare/", bare_insert),
    path("", include("config.urls")),
]
