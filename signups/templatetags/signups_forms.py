from django import template

from ..forms import SignupForm
from ..models import MailingList

register = template.Library()


def _open_list(request, slug: str):
    """Pages show up to three compact forms: read the open lists once per request."""
    lists = getattr(request, "_signups_open_lists", None)
    if lists is None:
        lists = {item.slug: item for item in MailingList.objects.filter(is_active=True)}
        if request is not None:
            request._signups_open_lists = lists
    return lists.get(slug)


@register.inclusion_tag("signups/_form_compact_body.html", takes_context=True)
def signup_form_compact(context, list_slug: str):
    """The compact signup form for a list, with its consent text (articles, home page)."""
    mailing_list = _open_list(context.get("request"), list_slug)
    form = SignupForm(mailing_list=mailing_list) if mailing_list else None
    if form is not None:
        form.auto_id = f"id_compact_{list_slug}_%s"
    return {
        "mailing_list": mailing_list,
        "form": form,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
