from django import template

from ..forms import SignupForm
from ..models import MailingList

register = template.Library()


@register.inclusion_tag("signups/_form_compact_body.html", takes_context=True)
def signup_form_compact(context, list_slug: str):
    """The compact signup form for a list, with its consent text (articles, home page)."""
    mailing_list = MailingList.objects.filter(slug=list_slug, is_active=True).first()
    form = SignupForm(mailing_list=mailing_list) if mailing_list else None
    if form is not None:
        form.auto_id = f"id_compact_{list_slug}_%s"
    return {
        "mailing_list": mailing_list,
        "form": form,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
