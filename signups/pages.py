"""A list's public page, drawn from its row: address, title, text, form fields, and
for a list with a sequence the syllabus of its lessons (asked of `mailings` through
the `list_syllabus` signal: signups never imports mailings).

Routing needs no code per list: `ListPathConverter` matches the addresses of the open
lists (and their former addresses, which answer 301), read at most every
PATHS_SECONDS by each process and at once after a save in this one. Any other
segment falls through to the next routes (articles, the catch-all).
"""

import re
import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import signals
from .forms import InterviewApplicationForm, SignupForm
from .models import MailingList, PagePath

# The list whose page also offers the interview application (signups:apply).
INTERVIEWS_SLUG = "entretiens"
PATHS_SECONDS = 10
# Single-segment addresses the site keeps for itself, whatever the URLconf says today.
RESERVED = frozenset(
    {"admin", "static", "media", "i18n", "healthz", "articles", "categories", "flux"}
)

_paths: dict = {"expires": 0.0, "current": {}, "slugs": {}, "old": set()}


def _load() -> dict:
    now = time.monotonic()
    if _paths["expires"] < now:
        rows = MailingList.objects.filter(is_active=True).values_list("slug", "path")
        old = PagePath.objects.filter(mailing_list__is_active=True)
        _paths.update(
            current={path: slug for slug, path in rows},
            slugs=dict(rows),
            old=set(old.values_list("old_path", flat=True)),
            expires=now + PATHS_SECONDS,
        )
    return _paths


@receiver([post_save, post_delete], sender=MailingList)
@receiver([post_save, post_delete], sender=PagePath)
def _forget_paths(**kwargs):
    _paths["expires"] = 0.0


class ListPathConverter:
    """A list page's address (or a former one); anything else does not match."""

    regex = "[-a-zA-Z0-9_]+"

    def to_python(self, value: str) -> str:
        paths = _load()
        if value in paths["current"] or value in paths["old"]:
            return value
        raise ValueError(value)

    def to_url(self, value: str) -> str:
        return value


def list_url(slug: str) -> str:
    """The page of the list `slug` where it is now (its slug when it is closed)."""
    return f"/{_load()['slugs'].get(slug, slug)}/"


def path_problem(path: str, *, mailing_list: MailingList | None = None) -> str | None:
    """Why `path` cannot be a list page's address, or None when it can."""
    taken = _("« /%(path)s/ » est déjà une adresse du site.") % {"path": path}
    if path.lower() in RESERVED:
        return taken
    try:
        match = resolve(f"/{path}/")
    except Resolver404:
        return taken
    if match.url_name == "list":
        return None  # a list's address or former address: the unique field decides
    if match.url_name != "by_path":
        return taken
    for _receiver, reason in signals.page_path_taken.send(sender=MailingList, path=f"/{path}"):
        if reason:
            return reason
    return None


def intro_html(mailing_list: MailingList) -> str:
    """The page's text: its Markdown through the site's renderer (sanitised)."""
    from articles.rendering import render_markdown

    text = mailing_list.page_intro.strip()
    if not text:
        return ""
    html, _warnings = render_markdown(text)
    return mark_safe(html)  # noqa: S308 (sanitised by render_markdown)


_LESSON_PREFIX = re.compile(r"^\s*(?:le[çc]on|lesson|[ée]tape)\s*\d+\s*[—–:.\-]\s*", re.I)


def duration_words(delay) -> str:
    """« 2 jours », « 1 jour et 12 heures », « 3 heures », « 30 minutes »."""
    days = delay.days
    hours, rest = divmod(delay.seconds, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)s jour", "%(n)s jours", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)s heure", "%(n)s heures", hours) % {"n": hours})
    if minutes and not days:
        parts.append(ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes})
    return _(" et ").join(parts)


def rhythm(delay, *, first: bool) -> str:
    """When a lesson comes, from its delay: « dès la confirmation », « 2 jours plus tard »."""
    words = duration_words(delay)
    if first:
        if not words:
            return _("dès la confirmation")
        return _("%(delay)s après la confirmation") % {"delay": words}
    if not words:
        return _("aussitôt après")
    return _("%(delay)s plus tard") % {"delay": words}


def syllabus(mailing_list: MailingList) -> dict | None:
    """The lessons the list's sequence sends, as its page announces them."""
    if not mailing_list.shows_syllabus:
        return None
    steps = []
    for _receiver, found in signals.list_syllabus.send(
        sender=MailingList, mailing_list=mailing_list
    ):
        if found:
            steps = found
            break
    if not steps:
        return None
    lessons = []
    total = None
    for number, step in enumerate(steps, start=1):
        total = step["delay"] if total is None else total + step["delay"]
        lessons.append(
            {
                "number": number,
                "title": _LESSON_PREFIX.sub("", step["title"]).strip() or step["title"],
                "when": rhythm(step["delay"], first=number == 1)
                + (_(", en semaine") if step.get("weekdays_only") else ""),
            }
        )
    count = len(lessons)
    span = duration_words(total)
    if span:
        summary = ngettext(
            "%(count)s leçon par e-mail sur %(span)s",
            "%(count)s leçons par e-mail sur %(span)s",
            count,
        ) % {"count": count, "span": span}
    else:
        summary = ngettext("%(count)s leçon par e-mail", "%(count)s leçons par e-mail", count) % {
            "count": count
        }
    return {"lessons": lessons, "summary": summary}


def list_context(mailing_list: MailingList, **extra) -> dict:
    context = {
        "mailing_list": mailing_list,
        "form": SignupForm(mailing_list=mailing_list),
        "intro_html": intro_html(mailing_list),
        "syllabus": syllabus(mailing_list),
    }
    if mailing_list.slug == INTERVIEWS_SLUG:
        context["apply_form"] = InterviewApplicationForm()
    context.update(extra)
    return context


def list_page(request, path: str):
    """A list's page; its former address answers 301 to where it is now."""
    mailing_list = MailingList.objects.filter(path=path, is_active=True).first()
    if mailing_list is None:
        former = (
            PagePath.objects.select_related("mailing_list")
            .filter(old_path=path, mailing_list__is_active=True)
            .first()
        )
        if former is None:
            raise Http404(_("Cette liste n’existe pas ou n’est plus ouverte."))
        return HttpResponsePermanentRedirect(former.mailing_list.get_absolute_url())
    return render(request, "signups/list.html", list_context(mailing_list))
