"""The reader's forms on article pages: search, and the comment form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from signups.forms import EmailField, LineField, TextBlockField

COMMENT_MAX_LENGTH = 5000


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Rechercher"), max_length=200, required=False)


class CommentForm(forms.Form):
    name = LineField(
        label=_("Votre nom"),
        max_length=120,
        error_messages={"required": _("Indiquez un nom, même un prénom : il sera affiché.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = EmailField(
        label=_("Adresse e-mail (jamais affichée)"),
        help_text=_(
            "La première fois, nous vous écrivons pour la confirmer ; elle n’est jamais publiée."
        ),
        error_messages={
            "required": _("Indiquez votre adresse e-mail : elle ne sera pas affichée.")
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    body = TextBlockField(
        label=_("Votre commentaire"),
        max_length=COMMENT_MAX_LENGTH,
        error_messages={
            "required": _("Écrivez votre commentaire avant de l’envoyer."),
            "max_length": _("Votre commentaire dépasse 5 000 caractères : raccourcissez-le."),
        },
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The honeypot: invisible to people, irresistible to bots.
    website = forms.CharField(
        label=_("Ne pas remplir ce champ"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, article, **kwargs):
        super().__init__(*args, **kwargs)
        self.article = article
        self.auto_id = "id_comment_%s"

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Écrivez votre commentaire avant de l’envoyer."))
        return body

    def clean_parent(self):
        """The comment answered: a published comment of this article, or none."""
        pk = self.cleaned_data.get("parent")
        if not pk:
            return None
        parent = self.article.comments.visible().filter(pk=pk).first()
        if parent is None:
            raise forms.ValidationError(
                _("Le commentaire auquel vous répondez n’est plus affiché.")
            )
        return parent
