from .models import MailingList

STARTING_LISTS = (
    {
        "slug": "newsletter",
        "name": "Newsletter",
        "description": (
            "Un article par semaine pour garder le doigt sur le pouls de vos clients : "
            "ce qu’ils pensent, ce qu’ils achètent, et pourquoi."
        ),
        "consent_text": (
            "J’accepte de recevoir la newsletter de Pouls par e-mail. "
            "Je peux me désinscrire à tout moment en un clic."
        ),
    },
    {
        "slug": "atelier",
        "name": "Atelier « Comment lire dans les pensées de ses clients »",
        "description": (
            "L’atelier gratuit en cinq leçons sur dix jours, pour apprendre à lire "
            "dans les pensées de vos clients. Vous pouvez le mettre en pause à tout moment."
        ),
        "consent_text": (
            "J’accepte de recevoir les leçons de l’atelier gratuit « Comment lire dans "
            "les pensées de ses clients » par e-mail. Je peux me désinscrire à tout moment."
        ),
    },
    {
        "slug": "entretiens",
        "name": "Entretiens d’entrepreneur·es",
        "description": (
            "Des entrepreneur·es racontent ce que leurs clients leur ont appris : "
            "chaque entretien, dès sa publication."
        ),
        "consent_text": (
            "J’accepte de recevoir les entretiens d’entrepreneur·es par e-mail. "
            "Je peux me désinscrire à tout moment en un clic."
        ),
    },
)


def create_lists(*, stdout) -> None:
    """Create the starting lists (idempotent). A list created before it had a description
    gets the friendly one (shown in the preference centre); the editor's text is kept."""
    for spec in STARTING_LISTS:
        mailing_list, created = MailingList.objects.get_or_create(slug=spec["slug"], defaults=spec)
        if created:
            stdout.write(f"  liste créée : {spec['name']}")
        elif not mailing_list.description.strip():
            MailingList.objects.filter(pk=mailing_list.pk).update(description=spec["description"])
