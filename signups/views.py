from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt

from . import services, tokens
from .models import MailingList, Subscription


def list_page(request, slug: str):
    mailing_list = get_object_or_404(MailingList, slug=slug, is_active=True)
    return render(request, f"signups/{slug}.html", {"mailing_list": mailing_list})


@csrf_exempt  # RFC 8058: mail clients POST without cookies or CSRF token
def unsubscribe(request, token: str):
    """GET shows one button; POST (the button, or a mail client's one-click) unsubscribes."""
    try:
        subscription = Subscription.objects.select_related("mailing_list").get(
            pk=tokens.read_token("unsubscribe", token)
        )
    except (tokens.InvalidToken, Subscription.DoesNotExist):
        return HttpResponseBadRequest("Lien de désinscription invalide.")
    if request.method == "POST":
        services.subscription_unsubscribe(subscription=subscription)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(
                "Désinscription enregistrée.", content_type="text/plain; charset=utf-8"
            )
        return render(request, "signups/unsubscribed.html", {"subscription": subscription})
    return render(request, "signups/unsubscribe.html", {"subscription": subscription})


def confirm(request, token: str):
    raise NotImplementedError  # built with the signup forms


def preferences(request, token: str):
    raise NotImplementedError  # built with the preference centre
