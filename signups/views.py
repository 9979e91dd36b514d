import json
import logging
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from config.form_posts import form_post
from config.links import reverse_with
from config.origin import origin_checked

from . import (
    confirmation,
    interviews,
    pages,
    preference_centre,
    ratelimit,
    rights,
    services,
    time_zones,
    tokens,
    webmail,
)
from .forms import (
    INTERVIEW_CONSENT_TEXT,
    INTERVIEW_CONSENT_VERSION,
    InterviewApplicationForm,
    PreferencesForm,
    SignupForm,
)
from .models import Contact, MailingList, Subscription
from .ratelimit import client_ip

logger = logging.getLogger(__name__)


def _too_many(request, wait: int):
    response = render(request, "signups/rate_limited.html", status=429)
    response["Retry-After"] = str(wait)
    return response


THANKS_COOKIE = "pouls_signup"
THANKS_COOKIE_SALT = "pouls.signups.thanks"
THANKS_COOKIE_SECONDS = 15 * 60


def _thanks(request, mailing_list, email: str = ""):
    """The one answer to every accepted submission, whatever the address: a redirect
    to the same page (so reloading it never submits the form again).

    The address typed travels to that page in a short-lived signed cookie scoped to
    it, never in its URL (logged, cached, sent as Referer)."""
    url = reverse_with("signups:thanks", mailing_list.slug)
    response = HttpResponseRedirect(url, status=303)
    if email:
        response.set_signed_cookie(
            THANKS_COOKIE,
            email,
            salt=THANKS_COOKIE_SALT,
            max_age=THANKS_COOKIE_SECONDS,
            path=url,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


@never_cache  # it may show the reader's address: never stored, by us or anyone between
def thanks(request, slug: str):
    mailing_list = get_object_or_404(MailingList, slug=slug)
    email = request.get_signed_cookie(
        THANKS_COOKIE, default="", salt=THANKS_COOKIE_SALT, max_age=THANKS_COOKIE_SECONDS
    )
    context = {
        "mailing_list": mailing_list,
        "email": email,
        "correct_url": reverse("signups:subscribe", args=[mailing_list.slug]),
    }
    mailbox = webmail.webmail_for(email) if email else None
    if mailbox is not None:
        context.update(webmail=mailbox, webmail_search_url=webmail.search_url(mailbox))
    response = render(request, "signups/thanks.html", context)
    patch_vary_headers(response, ["Cookie"])
    return response


_LISTS: dict[str, tuple[float, MailingList | None]] = {}
LIST_CACHE_SECONDS = 10


def open_list(slug: str) -> MailingList:
    """The open list behind a signup URL, kept 10 s in this process (the hot path).

    Only the 404 and the form's labels use it: the consent text and version recorded
    as evidence are read by the signup's own statement, so they are never stale.
    """
    now = time.monotonic()
    expires, mailing_list = _LISTS.get(slug, (0.0, None))
    if expires < now:
        mailing_list = MailingList.objects.filter(slug=slug, is_active=True).first()
        _LISTS[slug] = (now + LIST_CACHE_SECONDS, mailing_list)
    if mailing_list is None:
        raise Http404(_("Cette liste n’existe pas ou n’est plus ouverte."))
    return mailing_list


@receiver([post_save, post_delete], sender=MailingList)
def _forget_lists(**kwargs):
    _LISTS.clear()


@origin_checked  # forms on cached pages and other sites: no token (config/origin.py)
@form_post(csrf=False)
@require_http_methods(["GET", "POST"])
def subscribe(request, slug: str):
    mailing_list = open_list(slug)
    if request.method != "POST":
        return redirect(mailing_list.get_absolute_url())
    form = SignupForm(request.POST, mailing_list=mailing_list)
    if form.is_bot:
        return _thanks(request, mailing_list)
    if not form.is_valid():
        context = pages.list_context(mailing_list, form=form)
        return render(request, "signups/list.html", context)
    data = form.cleaned_data
    wait = ratelimit.retry_after(ip=client_ip(request), email=data["email"])
    if wait:
        return _too_many(request, wait)
    services.signup_submit(
        mailing_list=mailing_list,
        email=data["email"],
        form=f"{slug}:{data['placement']}",
        first_name=data.get("first_name", ""),
        profile=data.get("profile", ""),
        answer=data.get("answer", ""),
        time_zone=data["time_zone"],
        language=_language(request),
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return _thanks(request, mailing_list, data["email"])


def _language(request) -> str:
    """The language the reader used on the site becomes the language of their emails."""
    code = getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE
    return code if code in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@origin_checked
@form_post(csrf=False)
@require_http_methods(["GET", "POST"])
def apply(request):
    mailing_list = get_object_or_404(MailingList, slug=pages.INTERVIEWS_SLUG)
    if request.method != "POST":
        return redirect(mailing_list.get_absolute_url())
    form = InterviewApplicationForm(request.POST)
    if form.is_bot:
        return HttpResponseRedirect(reverse("signups:applied"), status=303)
    if not form.is_valid():
        return render(
            request, "signups/list.html", pages.list_context(mailing_list, apply_form=form)
        )
    data = form.cleaned_data
    wait = ratelimit.retry_after(ip=client_ip(request), email=data["email"])
    if wait:
        return _too_many(request, wait)
    interviews.interview_apply(
        email=data["email"],
        first_name=data["first_name"],
        company=data["company"],
        activity=data["activity"],
        city=data["city"],
        country=data["country"],
        story=data["story"],
        profile=data["profile"],
        time_zone=data["time_zone"],
        consent_text=str(INTERVIEW_CONSENT_TEXT),
        consent_version=INTERVIEW_CONSENT_VERSION,
        ip_address=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    return HttpResponseRedirect(reverse("signups:applied"), status=303)


def applied(request):
    """Where an application lands after its POST (a reload never sends it again)."""
    return render(request, "signups/applied.html")


def _invalid_link(request, exc):
    expired = isinstance(exc, tokens.ExpiredToken)
    return render(request, "signups/link_invalid.html", {"expired": expired}, status=400)


@never_cache
@form_post()
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    """GET shows one button (mail scanners follow links); only the POST confirms."""
    try:
        if request.method == "POST":
            subscription = confirmation.subscription_confirm_token(token=token)
            return render(
                request,
                "signups/confirmed.html",
                {
                    "subscription": subscription,
                    "preferences_url": tokens.preferences_url(subscription.contact),
                },
            )
        subscription = confirmation.subscription_for_confirm_token(token)
    except tokens.InvalidToken as exc:
        return _invalid_link(request, exc)
    except confirmation.AlreadyConfirmed as exc:
        return render(
            request,
            "signups/already_confirmed.html",
            {
                "subscription": exc.subscription,
                "preferences_url": tokens.preferences_url(exc.subscription.contact),
            },
        )
    except confirmation.LinkUsed:
        return render(request, "signups/link_used.html", status=410)
    return render(request, "signups/confirm.html", {"subscription": subscription})


@never_cache
@form_post(csrf=False)  # RFC 8058: mail clients POST without cookies or CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows one button; POST (the button, or a mail client's one-click) unsubscribes."""
    try:
        subscription = Subscription.objects.select_related("mailing_list", "contact").get(
            pk=tokens.read_token("unsubscribe", token)
        )
    except (tokens.InvalidToken, Subscription.DoesNotExist):
        return HttpResponseBadRequest(
            _("Lien de désinscription invalide."), content_type="text/plain; charset=utf-8"
        )
    if request.method == "POST":
        services.subscription_unsubscribe(subscription=subscription)
        # The same answer with or without the one-click body, and never a preference
        # link: this token travels in the email's headers, the preference centre does not.
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(
                _("Désinscription enregistrée."), content_type="text/plain; charset=utf-8"
            )
        return render(request, "signups/unsubscribed.html", {"subscription": subscription})
    return render(request, "signups/unsubscribe.html", {"subscription": subscription})


def _contact_from_token(token: str, purpose: str = "preferences") -> Contact | None:
    try:
        pk = tokens.read_token(purpose, token)
    except tokens.InvalidToken:
        return None
    return Contact.objects.filter(pk=pk, erased_at__isnull=True).first()


def _link_invalid(request):
    return render(request, "signups/link_invalid.html", {"expired": False}, status=404)


@never_cache
@form_post()
@require_http_methods(["GET", "POST"])
def preferences(request, token: str):
    """The preference centre: lists, first name, time zone, language; the workshop's
    progress, paused and resumed; leave; ask for the link to one's data (export and
    erasure are never opened by this permanent link)."""
    contact = _contact_from_token(token)
    if contact is None:
        return _link_invalid(request)
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    ip, agent = client_ip(request), request.headers.get("user-agent", "")
    saved = None
    if action == "data_link":
        wait = ratelimit.retry_after(ip=ip, email=contact.email)
        if wait:
            return _too_many(request, wait)
        rights.data_link_request(contact=contact)
        saved = _(
            "Un lien vers vos données vient de partir à votre adresse ; il est valable une heure."
        )
    elif action in ("pause", "resume"):
        saved = _sequence_pause(request, contact, pause=action == "pause", ip=ip, agent=agent)
    elif action == "unsubscribe_all":
        preference_centre.contact_unsubscribe_all(contact=contact)
        saved = _("Vous êtes désinscrit·e de tout. Vous ne recevrez plus aucun e-mail de nous.")
    elif action == "save":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            preference_centre.contact_preferences_update(
                contact=contact,
                first_name=form.cleaned_data["first_name"],
                time_zone=form.cleaned_data["time_zone"],
                language=form.cleaned_data["language"],
                lists=form.cleaned_data["lists"],
                click_tracking=form.cleaned_data.get("click_tracking"),
                ip_address=ip,
                user_agent=agent,
            )
            saved = _("Vos préférences sont enregistrées.")
        else:
            return render(
                request,
                "signups/preferences.html",
                _preferences_context(contact, token, form=form),
            )
    contact.refresh_from_db()
    context = _preferences_context(contact, token, saved=saved)
    return render(request, "signups/preferences.html", context)


def _sequence_pause(request, contact, *, pause: bool, ip, agent) -> str:
    """Pause or resume the workshop named in the form; what to tell the reader."""
    try:
        sequence_id = int(request.POST.get("sequence", ""))
    except ValueError:
        sequence_id = 0
    done = preference_centre.contact_sequence_pause(
        contact=contact, sequence_id=sequence_id, pause=pause, ip_address=ip, user_agent=agent
    )
    if not done:
        return _("Rien n’a changé : l’atelier était déjà dans cet état.")
    if pause:
        return _("C’est en pause : vous ne recevrez plus de leçon avant de reprendre.")
    return _("C’est reparti : la prochaine leçon arrive à la date indiquée.")


def _preferences_context(contact, token, **extra) -> dict:
    subscriptions = contact.subscriptions.select_related("mailing_list")
    return {
        "contact": contact,
        "token": token,
        "form": extra.pop("form", None) or PreferencesForm.for_contact(contact),
        "subscriptions": subscriptions,
        "active_list_ids": {
            s.mailing_list_id for s in subscriptions if s.status != Subscription.Status.UNSUBSCRIBED
        },
        "sequences": preference_centre.contact_sequences(contact=contact),
        "display_time_zone": time_zones.canonical(contact.time_zone) or settings.TIME_ZONE,
        **extra,
    }


@never_cache
@form_post()
@require_http_methods(["GET", "POST"])
def data(request, token: str):
    """My data: download it, or erase it. Reached only by the short-lived link sent to
    the address on request (`tokens.data_url`)."""
    contact = _contact_from_token(token, "data")
    if contact is None:
        return _data_link_invalid(request, token)
    erase_error = False
    if request.method == "POST":
        if request.POST.get("confirm_erase") == "yes":
            rights.contact_erase(contact=contact)
            return render(request, "signups/erased.html")
        erase_error = True
    return render(
        request,
        "signups/data.html",
        {"contact": contact, "token": token, "erase_error": erase_error},
    )


@never_cache
@require_http_methods(["GET"])
def data_export(request, token: str):
    """Download my data: the same JSON as the editor's export."""
    contact = _contact_from_token(token, "data")
    if contact is None:
        return _data_link_invalid(request, token)
    data = rights.contact_export(contact=contact)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="mes-donnees-pouls.json"'
    return response


def _data_link_invalid(request, token: str):
    try:
        tokens.read_token("data", token)
    except tokens.ExpiredToken:
        context = {"expired": True, "data_link": True}
        return render(request, "signups/link_invalid.html", context, status=400)
    except tokens.InvalidToken:
        pass
    return _link_invalid(request)


@never_cache
@form_post()
@require_http_methods(["GET", "POST"])
def reconsent(request, token: str):
    """The answer to the re-consent request sent after three years of silence."""
    contact = _contact_from_token(token)
    if contact is None:
        return _link_invalid(request)
    if request.method == "POST":
        preference_centre.contact_reconsent(
            contact=contact,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        return render(
            request,
            "signups/reconsent_done.html",
            {"preferences_url": tokens.preferences_url(contact)},
        )
    return render(request, "signups/reconsent.html", {"contact": contact})
