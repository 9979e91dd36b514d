from .models import MailingList

# Each starting list's page (signups.pages); the data migration 0008 gave the lists
# that existed before pages were data the same contents.
NEWSLETTER_MORE = (
    "Chaque semaine, un article pour mieux comprendre vos clients : ce qu’ils "
    "ressentent, ce qu’ils vivent, ce qu’ils espèrent. Pas de publicité, pas de revente "
    "de votre adresse, un lien pour partir dans chaque e-mail."
)
WORKSHOP_INTRO = (
    "Trop d’entrepreneur·es construisent d’abord leur produit, puis cherchent qui "
    "pourrait l’acheter. Cet atelier fait l’inverse : il part de vos clients.\n\n"
    "## Pour qui ?\n\n"
    "Entrepreneur·es, dirigeant·es, indépendant·es, équipes RH ou informatiques de PME : "
    "toute personne qui doit convaincre des clients, internes ou externes, et qui préfère "
    "les écouter plutôt que deviner.\n\n"
    "## Comment ça se passe ?\n\n"
    "Une leçon courte par e-mail, au rythme du programme ci-dessous, avec un exercice à "
    "faire avec un vrai client. C’est gratuit, et vous pouvez vous désinscrire en un clic "
    "à tout moment."
)
PAGES = {
    "newsletter": {"page_title": "La newsletter de Pouls"},
    "atelier": {
        "page_kicker": "Atelier gratuit par e-mail",
        "page_title": "Comment lire dans les pensées de ses clients",
        "page_intro": WORKSHOP_INTRO,
        "shows_syllabus": True,
        "form_heading": "Je rejoins l’atelier",
    },
    "entretiens": {
        "page_title": "Entretiens d’entrepreneur·es",
        "page_intro": (
            "Des entrepreneur·es racontent comment ils et elles ont appris à écouter "
            "leurs clients : ce qui a marché, ce qui a raté, ce qu’ils referaient."
        ),
        "form_heading": "Recevoir les entretiens",
    },
}

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
        "path": "newsletter",
    },
    {
        "slug": "atelier",
        "path": "atelier",
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
        "path": "entretiens",
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
        spec = {**spec, **PAGES[spec["slug"]]}
        if spec["slug"] == "newsletter":
            spec["page_intro"] = f"{spec['description']}\n\n{NEWSLETTER_MORE}"
        mailing_list, created = MailingList.objects.get_or_create(slug=spec["slug"], defaults=spec)
        if created:
            stdout.write(f"  liste créée : {spec['name']}")
        elif not mailing_list.description.strip():
            MailingList.objects.filter(pk=mailing_list.pk).update(description=spec["description"])
