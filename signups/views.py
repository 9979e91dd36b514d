from django.shortcuts import get_object_or_404, render

from .models import MailingList


def list_page(request, slug: str):
    mailing_list = get_object_or_404(MailingList, slug=slug, is_active=True)
    return render(request, f"signups/{slug}.html", {"mailing_list": mailing_list})
