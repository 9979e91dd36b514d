"""The real URLs plus the baseline: a bare view that inserts one row."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as real_urlpatterns

BASELINE_TABLE = "bench_baseline_row"


@csrf_exempt
def bare_insert(request):
    with connection.cursor() as cursor:
        sql = f"INSERT INTO {BASELINE_TABLE} (email) VALUES (%s)"  # noqa: S608
        cursor.execute(sql, [request.POST.get("email", "")])
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare_insert), *real_urlpatterns]
