from .models import MailingList

STARTING_LISTS = (
    {
        "slug": "newsletter",
        "name": "Newsletter",
        "description": "Un article par semaine pour garder le doigt sur le pouls de vos clients.",
        "consent_text": (
            "J’accepte de recevoir la newsletter de Pouls par e-mail. "
            "Je peux me désinscrire à tout moment en un clic."
        ),
    },
    {
        "slug": "atelier",
        "name": "Atelier « Comment lire dans les pensées de ses clients »",
        "description": "L’atelier gratuit, en cinq leçons envoyées par e-mail sur dix jours.",
        "consent_text": (
            "J’accepte de recevoir les leçons de l’atelier gratuit « Comment lire dans "
            "les pensées de ses clients » par e-mail. Je peux me désinscrire à tout moment."
        ),
    },
    {
        "slug": "entretiens",
        "name": "Entretiens d’entrepreneur·es",
        "description": "Les entretiens avec des entrepreneur·es, dès leur publication.",
        "consent_text": (
            "J’accepte de recevoir les entretiens d’entrepreneur·es par e-mail. "
            "Je peux me désinscrire à tout moment en un clic."
        ),
    },
)


def create_lists(*, stdout) -> None:
    for spec in STARTING_LISTS:
        _, created = MailingList.objects.get_or_create(slug=spec["slug"], defaults=spec)
        if created:
            stdout.write(f"  liste créée : {spec['name']}")
