"""Test-only URLconf: the site's URLs plus the benchmarks' bare baselines, and the
reading pages at a new address on every request (their cache misses)."""

from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from articles import views as articles

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


def at_a_new_address(view):
    """The same view, decorators and page cache included, under /bench/miss/<n>/: the
    page's key holds the path, so a new <n> is a real cache miss, rendered then stored,
    as the first visit to that page after a save. The view never sees <n>."""

    def view_at_a_new_address(request, n, **kwargs):
        return view(request, **kwargs)

    return view_at_a_new_address


urlpatterns = [
    path("bench/constant/", constant),
    path("bench/bare/", bare_insert),
    path("bench/miss/<slug:n>/", at_a_new_address(articles.home)),
    path("bench/miss/<slug:n>/articles/", at_a_new_address(articles.index)),
    path("bench/miss/<slug:n>/articles/<slug:slug>/", at_a_new_address(articles.detail)),
    path("", include("config.urls")),
]
