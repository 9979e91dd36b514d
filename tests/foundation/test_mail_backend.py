from email import message_from_binary_file, policy

from django.core.mail import EmailMultiAlternatives, get_connection


def test_each_message_is_one_eml_file_that_parses(tmp_path):
    connection = get_connection("config.mail.EmlFileBackend", file_path=str(tmp_path))
    message = EmailMultiAlternatives(
        subject="Bienvenue à l’atelier « Comment lire dans les pensées de ses clients »",
        body="Bonjour,\nvoici la première leçon.",
        from_email="Pouls <bonjour@example.org>",
        to=["lectrice@example.org"],
        connection=connection,
    )
    message.attach_alternative("<p>Voici la première leçon.</p>", "text/html")
    assert message.send() == 1
    assert EmailMultiAlternatives("Deux", "x", to=["b@example.org"], connection=connection).send()

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    with files[0].open("rb") as fh:
        parsed = message_from_binary_file(fh, policy=policy.default)
    subjects = {parsed["Subject"].strip()}  # Django folds long subjects after the colon
    with files[1].open("rb") as fh:
        subjects.add(message_from_binary_file(fh, policy=policy.default)["Subject"].strip())
    assert "Bienvenue à l’atelier « Comment lire dans les pensées de ses clients »" in subjects
    assert not list(tmp_path.glob("*.part"))
