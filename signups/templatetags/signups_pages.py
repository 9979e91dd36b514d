from django import template

from ..pages import list_url as _list_url

register = template.Library()


@register.simple_tag
def list_url(slug: str) -> str:
    """The page of the list `slug` at its current address (it moves with the list)."""
    return _list_url(slug)
