from django import template
from django.template.loader import render_to_string

from ..cache import fragment

register = template.Library()


@register.simple_tag(takes_context=True)
def invitations(context):
    """The « Pour aller plus loin » aside with its three signup forms: the same HTML on
    every article page (no token, nothing of the visitor's), rendered once per version
    of the pages and language (`articles.cache.fragment`)."""
    request = context.get("request")
    return fragment(
        "invitations", lambda: render_to_string("articles/_invitations.html", request=request)
    )
