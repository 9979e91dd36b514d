"""Forms: every field is bounded, single-line fields refuse control characters
(so CR, LF and NUL can never reach a header), addresses go through email-validator."""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from email_validator import EmailNotValidError, validate_email

from . import time_zones
from .models import Answer, Contact, MailingList, Profile

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

INTERVIEW_CONSENT_TEXT = _(
    "J’accepte que Pouls conserve ma candidature et me contacte par e-mail à son sujet."
)
INTERVIEW_CONSENT_VERSION = 1


def clean_time_zone(value: str) -> str:
    """The zone the browser reported, as the preference centre offers it (an old name
    as today's), or the blog's (TIME_ZONE) for anything else (`Factory`, `localtime`,
    garbage)."""
    return time_zones.canonical(value) or settings.TIME_ZONE


def normalise_email(value: str) -> str:
    """email-validator's normalised form, lower-cased: one address, one contact."""
    value = (value or "").strip()
    if _CONTROL.search(value):
        raise ValidationError(_("L’adresse e-mail contient des caractères interdits."))
    try:
        result = validate_email(
            value,
            check_deliverability=settings.SIGNUPS_CHECK_DELIVERABILITY,
        )
    except EmailNotValidError:
        raise ValidationError(
            _("Cette adresse e-mail n’est pas valide. Vérifiez-la, par exemple nom@exemple.fr.")
        ) from None
    normalised = result.normalized.lower()
    if len(normalised) > 254:
        raise ValidationError(_("Cette adresse e-mail est trop longue."))
    return normalised


class EmailField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.widget.input_type = "email"

    def clean(self, value):
        value = super().clean(value)
        return normalise_email(value) if value else value


class LineField(forms.CharField):
    """One line of text: no control characters at all."""

    def clean(self, value):
        value = super().clean(value)
        if value and _CONTROL.search(value):
            raise ValidationError(_("Ce champ contient des caractères interdits."))
        return value


class TextBlockField(forms.CharField):
    """Several lines of text: line breaks allowed, other control characters not."""

    widget = forms.Textarea

    def clean(self, value):
        value = super().clean(value)
        if value and _CONTROL_MULTILINE.search(value):
            raise ValidationError(_("Ce champ contient des caractères interdits."))
        return value


def profile_choices():
    """The profiles offered, in the active language. A callable: each form's copy of
    the field shares it, where a list of lazy labels is deep-copied for every form."""
    return [("", _("— Choisissez —")), *Profile.choices]


class SignupForm(forms.Form):
    """The signup form for one list; the compact version shows fewer fields."""

    email = EmailField(
        label=_("Adresse e-mail"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = LineField(
        label=_("Prénom (facultatif)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    consent = forms.BooleanField(
        required=True,
        error_messages={"required": _("Cochez la case pour confirmer votre consentement.")},
    )
    profile = forms.ChoiceField(label=_("Qui êtes-vous ?"), required=False, choices=profile_choices)
    answer = TextBlockField(
        label=Answer.QUESTION,
        required=False,
        max_length=1000,
        help_text=_("Facultatif, 1 000 caractères au plus. Nous lisons toutes les réponses."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    placement = forms.ChoiceField(
        required=False,
        choices=[("page", "page"), ("compact", "compact")],
        widget=forms.HiddenInput,
    )
    # The honeypot: invisible to people, irresistible to bots.
    website = forms.CharField(
        label=_("Ne pas remplir ce champ"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, mailing_list: MailingList, **kwargs):
        super().__init__(*args, **kwargs)
        self.mailing_list = mailing_list
        # self.fields are this form's own copies: the list's labels go on them.
        self.fields["consent"].label = mailing_list.consent_text
        # The fields this list asks (its page's settings); the others are not shown.
        for name, asked in (
            ("first_name", mailing_list.ask_first_name),
            ("profile", mailing_list.ask_profile),
            ("answer", mailing_list.ask_answer),
        ):
            if not asked:
                del self.fields[name]
        if mailing_list.ask_answer and mailing_list.answer_label:
            self.fields["answer"].label = mailing_list.answer_label
        self.auto_id = f"id_{mailing_list.slug}_%s"

    def clean_time_zone(self):
        return clean_time_zone(self.cleaned_data.get("time_zone"))

    def clean_placement(self):
        return self.cleaned_data.get("placement") or "page"

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class InterviewApplicationForm(forms.Form):
    email = EmailField(
        label=_("Adresse e-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    first_name = LineField(label=_("Prénom"), max_length=100)
    company = LineField(label=_("Entreprise"), max_length=200)
    activity = LineField(label=_("Activité"), max_length=200)
    city = LineField(label=_("Ville"), max_length=120)
    country = LineField(label=_("Pays"), max_length=120)
    story = TextBlockField(
        label=_("Votre histoire en quelques lignes"),
        max_length=3000,
        help_text=_(
            "Ce qui vous a fait entreprendre, ce que vos clients vous ont appris "
            "(3 000 caractères au plus)."
        ),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    profile = forms.ChoiceField(
        label=_("Qui êtes-vous ?"),
        required=False,
        choices=profile_choices,
    )
    consent = forms.BooleanField(
        label=INTERVIEW_CONSENT_TEXT,
        required=True,
        error_messages={"required": _("Cochez la case pour confirmer votre consentement.")},
    )
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("Ne pas remplir ce champ"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_apply_%s"

    def clean_time_zone(self):
        return clean_time_zone(self.cleaned_data.get("time_zone"))

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class PreferencesForm(forms.Form):
    """The preference centre. The time zone is a short list by region; « Autre » there
    stands for the second select, every zone grouped by continent (shown without
    JavaScript too; static/js/time-zone-choice.js only keeps the two in step)."""

    first_name = LineField(label=_("Prénom"), required=False, max_length=100)
    time_zone = forms.CharField(
        label=_("Fuseau horaire"),
        max_length=64,
        widget=forms.Select,
        help_text=_("Vos e-mails arrivent aux heures de ce fuseau."),
    )
    time_zone_other = forms.CharField(
        label=_("Autre fuseau horaire (liste complète)"),
        required=False,
        max_length=64,
        widget=forms.Select,
        help_text=_(
            "Pour l’utiliser, choisissez « Autre (liste complète) » dans la liste du dessus."
        ),
    )
    language = forms.ChoiceField(label=_("Langue des e-mails"), choices=settings.LANGUAGES)
    lists = forms.ModelMultipleChoiceField(
        label=_("Ce que vous recevez"),
        queryset=MailingList.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # Only while the site tracks clicks (MAIL_TRACK_CLICKS): the reader's objection to it.
    click_tracking = forms.BooleanField(
        label=_("Mesurer mes clics sur les liens de vos e-mails"),
        required=False,
        help_text=_(
            "Décochez pour que vos e-mails gardent des liens directs : vos clics ne seront "
            "plus enregistrés. Vous continuez à tout recevoir."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.MAIL_TRACK_CLICKS:
            del self.fields["click_tracking"]
        self.fields["time_zone"].widget.choices = time_zones.short_choices()
        self.fields["time_zone_other"].widget.choices = time_zones.full_choices()
        # The template shows each list's description, and its consent text apart.
        self.fields["lists"].label_from_instance = lambda ml: ml.name

    def clean(self):
        data = super().clean()
        short, other = data.get("time_zone"), data.get("time_zone_other")
        if short is None:
            return data  # already refused
        chosen_other = time_zones.canonical(other) if other else None
        if other and chosen_other is None:
            self.add_error("time_zone_other", _("Choisissez un fuseau horaire de la liste."))
            return data
        if short == time_zones.OTHER:
            if chosen_other is None:
                self.add_error(
                    "time_zone_other", _("Choisissez votre fuseau horaire dans la liste complète.")
                )
            data["time_zone"] = chosen_other
            return data
        chosen = time_zones.canonical(short)
        if chosen is None:
            self.add_error("time_zone", _("Choisissez un fuseau horaire de la liste."))
        elif chosen_other and chosen_other != chosen:
            # Two different zones and no JavaScript to say which: ask, never guess.
            self.add_error(
                "time_zone_other",
                _(
                    "Vous avez choisi deux fuseaux : %(short)s et %(other)s. Pour garder "
                    "%(other)s, choisissez « Autre (liste complète) » dans la liste du "
                    "dessus ; sinon, revenez à « — Choisissez — » ici."
                )
                % {"short": time_zones.label(chosen), "other": time_zones.label(chosen_other)},
            )
        data["time_zone"] = chosen
        return data

    @property
    def time_zone_other_open(self) -> bool:
        """Whether the full list is the reader's choice (its section is shown open)."""
        return self["time_zone"].value() == time_zones.OTHER or bool(
            self.errors.get("time_zone_other") if self.is_bound else False
        )

    @classmethod
    def for_contact(cls, contact: Contact, data=None) -> "PreferencesForm":
        subscribed = [
            s.mailing_list_id
            for s in contact.subscriptions.all()
            if s.status != s.Status.UNSUBSCRIBED
        ]
        zone = time_zones.canonical(contact.time_zone) or settings.TIME_ZONE
        in_short_list = zone in time_zones.short_zones()
        initial = {
            "first_name": contact.first_name,
            "time_zone": zone if in_short_list else time_zones.OTHER,
            "time_zone_other": "" if in_short_list else zone,
            "language": contact.language,
            "lists": subscribed,
            "click_tracking": not contact.click_tracking_refused,
        }
        return cls(data=data, initial=initial)


class ImportForm(forms.Form):
    """The import in two steps: the file (and what the editor states about consent),
    then, after the preview of what will be read, the confirmation, which carries the
    same choices and the token of the file kept meanwhile."""

    mailing_list = forms.ModelChoiceField(
        label=_("Liste"),
        queryset=MailingList.objects.all(),
        help_text=_("La liste à laquelle ces personnes ont consenti."),
    )
    consent_source = LineField(
        label=_("Où ces personnes ont-elles consenti ?"),
        max_length=100,
        help_text=_(
            "Par exemple : « Formulaire papier, salon Entreprendre 2026 ». "
            "Conservé comme preuve du consentement de chaque personne."
        ),
    )
    consent_date = forms.DateField(
        label=_("Quand ont-elles consenti ?"),
        help_text=_("La date de la collecte, au format AAAA-MM-JJ."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    file = forms.FileField(
        label=_("Fichier CSV"),
        required=False,
        help_text=_(
            "Une ligne d’en-tête avec au moins une colonne « email » ; colonnes facultatives "
            "« prénom » et « profil ». Séparateur virgule, point-virgule ou tabulation ; "
            "UTF-8 ou Windows-1252 (le « CSV » d’Excel) : reconnus seuls. Les exports de "
            "Mailchimp, Kit, Substack et Ghost sont lus tels quels : les personnes "
            "désinscrites ou nettoyées y restent désinscrites ou bloquées. 5 Mo au plus."
        ),
    )
    enrol = forms.BooleanField(
        label=_("Inscrire aux séquences de bienvenue"),
        required=False,
        initial=False,
        help_text=_(
            "Décoché : les personnes importées ne reçoivent que vos prochains mailings. "
            "Coché : chacune reçoit les e-mails de bienvenue de la liste, dès maintenant."
        ),
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        if upload.size > 5 * 1024 * 1024:
            raise ValidationError(_("Le fichier dépasse 5 Mo."))
        return upload.read()

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("token"):
            self.add_error("file", _("Choisissez le fichier à importer."))
        return data


class ListExportForm(forms.Form):
    mailing_list = forms.ModelChoiceField(label=_("Liste"), queryset=MailingList.objects.all())
