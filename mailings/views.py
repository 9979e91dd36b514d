"""The reader-facing page of mailings: the tracked links' redirect (mailings/clicks.py)."""

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import clicks, events


@never_cache
@require_safe
def click(request, delivery_id: int, signature: str):
    """A tracked link: 404 unless it is one we signed; a GET records the click (a HEAD,
    as link checkers send, does not), then on to the link's URL."""
    url = request.GET.get("u", "")
    if not clicks.valid(delivery_id, url, signature) or not clicks.safe_target(url):
        raise Http404
    if request.method == "GET" and clicks.enabled():
        events.click_record(delivery_id=delivery_id, url=url)
    response = HttpResponseRedirect(url)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
