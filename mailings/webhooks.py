"""ESP webhooks over HTTP: which endpoints answer, who may post, how much.

- Only the configured ESP's endpoints answer, at anymail's own paths
  (`/webhooks/anymail/<esp>/tracking/`; `…/inbound/` too when MAIL_INBOUND_WEBHOOK is
  on). None answers when EMAIL_BACKEND is not an anymail backend: 404, as if unmounted.
- Every request is refused until WEBHOOK_SECRET is set (403), then unless it carries
  it as HTTP basic auth (401, with the challenge some ESPs wait for). anymail's own
  validators then check the ESP's signature where the ESP signs and its key is set
  (403 on a bad one).
- The body is read by anymail's view for that ESP. A body it cannot read answers 400,
  more than MAIL_WEBHOOK_MAX_EVENTS events 413; tracking events are then recorded all
  together (`events.events_record`), inbound ones go through anymail's `inbound` signal.
"""

import functools
import json
import logging

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, inbound, tracking
from anymail.utils import get_anymail_setting, get_request_basic_auth
from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from . import events

logger = logging.getLogger(__name__)


def esp_module(backend_path: str) -> str | None:
    """The anymail ESP module (« mailgun », « amazon_ses »…) of an EMAIL_BACKEND, a
    subclass of an anymail backend included; None for any other backend."""
    from anymail.backends.base import AnymailBaseBackend

    prefix = "anymail.backends."
    try:
        backend = import_string(backend_path)
    except ImportError:  # e.g. boto3 missing: still the ESP the configuration names
        return (
            backend_path.removeprefix(prefix).split(".")[0]
            if backend_path.startswith(prefix)
            else None
        )
    if not (isinstance(backend, type) and issubclass(backend, AnymailBaseBackend)):
        return None
    for cls in backend.__mro__:
        if cls.__module__.startswith(prefix) and cls.__module__ != prefix + "base":
            return cls.__module__.removeprefix(prefix)
    return None


@functools.lru_cache(maxsize=8)
def mounted(backend_path: str, inbound: bool) -> tuple:
    """anymail's URL patterns that answer for this configuration."""
    from anymail import urls as anymail_urls

    module = esp_module(backend_path)
    if module is None:
        return ()
    patterns = []
    for pattern in anymail_urls.urlpatterns:
        view_class = pattern.callback.view_class
        if view_class.__module__ != f"anymail.webhooks.{module}":
            continue
        if view_class.signal is tracking or inbound or view_class.signal is None:
            patterns.append(pattern)
    return tuple(patterns)


def webhooks_state() -> str:
    """One line for the logs: what answers, and why nothing does."""
    patterns = mounted(settings.EMAIL_BACKEND, settings.MAIL_INBOUND_WEBHOOK)
    if not patterns:
        return (
            "ESP webhooks: none mounted, every webhook request refused "
            "(EMAIL_BACKEND is not an anymail backend)."
        )
    paths = ", ".join(f"/webhooks/anymail/{p.pattern}" for p in patterns)
    if not _secrets():
        return f"ESP webhooks: every request refused until WEBHOOK_SECRET is set ({paths})."
    return f"ESP webhooks: {paths} (HTTP basic auth with WEBHOOK_SECRET)."


def _secrets() -> list[str]:
    secret = get_anymail_setting("webhook_secret", default=[])
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return [s for s in secrets if s]


def _resolve(route: str):
    for pattern in mounted(settings.EMAIL_BACKEND, settings.MAIL_INBOUND_WEBHOOK):
        match = pattern.resolve(route)
        if match:
            return match.func.view_class
    raise Http404


def _is_json(request) -> bool:
    return request.content_type == "application/json"


@csrf_exempt
def endpoint(request, route: str):
    view_class = _resolve(route)
    if (refused := _gate(request, route)) is not None:
        return refused
    view = view_class()  # reads its settings: a missing ESP key is the operator's error
    view.setup(request)
    parsed = _parse(view, request, route)
    if isinstance(parsed, HttpResponse):
        return parsed
    limit = settings.MAIL_WEBHOOK_MAX_EVENTS
    if len(parsed) > limit:
        logger.warning("ESP webhook refused: %d events, more than %d.", len(parsed), limit)
        return HttpResponse(
            f"Too many events in one request ({len(parsed)} > {limit}).",
            status=413,
            content_type="text/plain",
        )
    tracked = [event for event in parsed if isinstance(event, AnymailTrackingEvent)]
    events.events_record(events=tracked, esp_name=view.esp_name)
    if settings.MAIL_INBOUND_WEBHOOK:
        for event in parsed:
            if isinstance(event, AnymailInboundEvent):
                inbound.send(sender=view_class, event=event, esp_name=view.esp_name)
    return HttpResponse()


def _gate(request, route: str) -> HttpResponse | None:
    """The answer to a request refused before any ESP code reads it (no secret set, wrong
    basic auth, a method other than POST), or to a HEAD check; None to go on."""
    secrets = _secrets()
    if not secrets:
        logger.warning("ESP webhook refused: WEBHOOK_SECRET is not set.")
        return HttpResponse(status=403)
    given = get_request_basic_auth(request) or ""
    if not any(constant_time_compare(given, secret) for secret in secrets):
        logger.warning("ESP webhook refused: missing or wrong basic auth (%s).", route)
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Basic realm="webhooks"'
        return response
    if request.method == "HEAD":  # some ESPs check the URL this way
        return HttpResponse()
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, HEAD"})
    return None


def _parse(view, request, route: str):
    """The ESP's events in the request, or the answer to a request that is unreadable
    (400) or whose signature is wrong (403)."""
    try:
        if _is_json(request):
            json.loads(request.body)  # truncated or not JSON: 400 before any ESP code
        view.run_validators(request)
        return view.parse_events(request)
    except AnymailWebhookValidationFailure as exc:
        if isinstance(exc.__cause__, (KeyError, TypeError, ValueError)):
            # anymail could not even find the signature in the body: malformed.
            logger.warning("ESP webhook unreadable (%s): %s", route, exc)
            return HttpResponse(status=400)
        logger.warning("ESP webhook refused: %s", exc)
        return HttpResponse(status=403)
    except Exception as exc:  # anything the ESP's parser could not read
        logger.warning("ESP webhook unreadable (%s): %r", route, exc)
        return HttpResponse(status=400)
