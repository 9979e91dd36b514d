"""The batch twins of anymail's Mailgun and SendGrid backends send what anymail's own
payloads send: same URL, same authentication, same fields and values (Mailgun's as a
multipart form instead of a urlencoded one), for plain and not-so-plain addresses."""

import json
import uuid
from email import policy
from email.parser import BytesParser
from urllib.parse import quote

import pytest
from anymail.exceptions import AnymailSerializationError
from anymail.message import AnymailMessage
from anymail.utils import EmailAddress
from django.core.mail import get_connection

from mailings.fastpaths import esp

ADDRESSES = [
    "lecteur1@example.org",
    "Lecteur.Deux+pouls@Sous-Domaine.Example.COM",
    "élodie@exemple.fr",  # internationalised local part: anymail's own parser
    "awa@café.example",  # internationalised domain
    "Jeanne Dupont <jeanne@example.org>",  # a display name
]


def batch_message(addresses=ADDRESSES) -> AnymailMessage:
    message = AnymailMessage(
        subject="Écoutez vos clients « avant » de construire",
        body="Bonjour%recipient.hit%,\n\nLe lien : %recipient.unsub%\n",
        from_email="Pouls <bonjour@pouls.example>",
        to=list(addresses),
    )
    message.attach_alternative("<p>Bonjour%recipient.hih%</p>", "text/html")
    message.tags = ["mailing-7"]
    message.metadata = {"message": "mailing-7"}
    message.track_opens = False
    specs = [addr.split("<")[-1].rstrip(">") for addr in addresses]
    message.merge_data = {
        spec: {"hit": f" Lecteur {n}", "hih": f" Lecteur {n}", "unsub": f"https://x/{n}"}
        for n, spec in enumerate(specs)
    }
    message.merge_metadata = {spec: {"delivery_id": str(n)} for n, spec in enumerate(specs)}
    message.extra_headers = {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    message.merge_headers = {
        spec: {"List-Unsubscribe": f"<https://x/{n}>", "Message-ID": f"<delivery-{n}@x>"}
        for n, spec in enumerate(specs)
    }
    return message


def request_params(backend_path: str, message) -> dict:
    backend = get_connection(backend_path)
    payload = backend.build_message_payload(message, backend.send_defaults)
    return payload.get_request_params(backend.api_url), payload


def multipart_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    form = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_payload(decode=True).decode(),
        )
        for part in form.iter_parts()
    ]


@pytest.fixture
def esps(settings):
    settings.ANYMAIL = {
        "MAILGUN_API_KEY": "key-test",
        "SENDGRID_API_KEY": "SG.test",
        "SENDGRID_MERGE_FIELD_FORMAT": "-{}-",
    }


def test_mailgun_batch_payload_sends_the_fields_anymail_sends(esps):
    theirs, their_payload = request_params("anymail.backends.mailgun.EmailBackend", batch_message())
    ours, our_payload = request_params(
        esp.batch_backend_path("anymail.backends.mailgun.EmailBackend"), batch_message()
    )

    assert {k: v for k, v in ours.items() if k not in ("data", "headers")} == {
        k: v for k, v in theirs.items() if k not in ("data", "headers")
    }
    assert ours["url"].endswith("/pouls.example/messages") and ours["auth"] == ("api", "key-test")
    expected = [
        (name, value)
        for name, values in theirs["data"].items()
        for value in (values if isinstance(values, list) else [values])
    ]
    sent = multipart_fields(ours["headers"]["Content-Type"], ours["data"])
    assert sent == expected
    names = [name for name, _value in sent]
    assert names.count("to") == len(ADDRESSES) and "recipient-variables" in names
    recipients = [value for name, value in sent if name == "to"]
    assert recipients[0] == "lecteur1@example.org"
    assert recipients[3] == "awa@xn--caf-dma.example"
    assert [a.addr_spec for a in our_payload.all_recipients] == [
        a.addr_spec for a in their_payload.all_recipients
    ]


def comparable(params) -> dict:
    """SendGrid request parameters with the JSON body read and each recipient's
    anymail_id (a random UUID) left out."""
    body = json.loads(params["data"])
    for personalization in body["personalizations"]:
        personalization["custom_args"].pop("anymail_id")
    return {**params, "data": body}


def test_sendgrid_batch_payload_sends_the_json_anymail_sends(esps):
    theirs, _payload = request_params("anymail.backends.sendgrid.EmailBackend", batch_message())
    ours, _payload = request_params(
        esp.batch_backend_path("anymail.backends.sendgrid.EmailBackend"), batch_message()
    )

    assert comparable(ours) == comparable(theirs)
    body = comparable(ours)["data"]
    assert len(body["personalizations"]) == len(ADDRESSES)
    assert body["personalizations"][0]["substitutions"]["-hit-"] == " Lecteur 0"
    assert body["personalizations"][4]["to"] == [
        {"email": "jeanne@example.org", "name": "Jeanne Dupont"}
    ]


def test_sendgrid_batch_payload_gives_each_recipient_its_own_anymail_id(esps, monkeypatch):
    def walked(self):
        raise AssertionError("anymail's own walk over the recipients")

    # The batch twin builds each personalization in one pass (this test reads that pass).
    monkeypatch.setattr(esp.sendgrid.SendGridPayload, "expand_personalizations_for_batch", walked)
    ours, payload = request_params(
        esp.batch_backend_path("anymail.backends.sendgrid.EmailBackend"), batch_message()
    )
    personalizations = json.loads(ours["data"])["personalizations"]
    ids = [p["custom_args"]["anymail_id"] for p in personalizations]
    assert len(set(ids)) == len(ADDRESSES)
    assert all(uuid.UUID(anymail_id).version == 4 for anymail_id in ids)
    # What anymail reports per recipient is the id that recipient's events will carry.
    assert payload.message_ids == {
        p["to"][0]["email"]: p["custom_args"]["anymail_id"] for p in personalizations
    }
    assert personalizations[0]["custom_args"]["delivery_id"] == "0"


def test_sendgrid_batch_payload_converts_and_merges_as_anymail_does(esps):
    def message():
        message = batch_message()
        message.merge_global_data = {"site": "Pouls", "hit": " vous"}
        message.merge_data["lecteur1@example.org"] = {"hit": None, "count": 3, "ratio": 0.5}
        message.merge_data.pop("awa@café.example")  # no values of their own
        return message

    theirs, _payload = request_params("anymail.backends.sendgrid.EmailBackend", message())
    ours, _payload = request_params(
        esp.batch_backend_path("anymail.backends.sendgrid.EmailBackend"), message()
    )

    assert comparable(ours) == comparable(theirs)
    substitutions = [p["substitutions"] for p in comparable(ours)["data"]["personalizations"]]
    assert substitutions[0] == {"-site-": "Pouls", "-hit-": None, "-count-": "3", "-ratio-": "0.5"}
    assert substitutions[3] == {"-site-": "Pouls", "-hit-": " vous"}

    refused = batch_message()
    refused.merge_data["lecteur1@example.org"] = {"hit": ["pas une chaîne"]}
    backend = get_connection(esp.batch_backend_path("anymail.backends.sendgrid.EmailBackend"))
    with pytest.raises(AnymailSerializationError):
        backend.build_message_payload(refused, backend.send_defaults).get_request_params(
            backend.api_url
        )


@pytest.mark.parametrize(
    "address",
    ["lecteur1@example.org", "a.b-c+d@x-y.example.com", "o'brien@example.ie", "x@example"],
)
def test_a_plain_address_reads_as_anymail_parses_it(address):
    (plain,) = esp.batch_addresses([address])
    parsed = EmailAddress("", address)
    assert isinstance(plain, esp.PlainAddress)
    for attribute in ("addr_spec", "address", "display_name", "username", "domain"):
        assert getattr(plain, attribute) == getattr(parsed, attribute), attribute
    assert plain.format() == parsed.format() and str(plain) == str(parsed)
    assert plain.as_dict() == parsed.as_dict()


@pytest.mark.parametrize(
    "address",
    ["Jeanne <jeanne@example.org>", "élodie@exemple.fr", "awa@café.example", '"a b"@example.org'],
)
def test_anything_else_goes_through_anymail_s_parser(address):
    (parsed,) = esp.batch_addresses([address])
    assert not isinstance(parsed, esp.PlainAddress)


def test_a_field_name_cannot_break_out_of_its_header():
    body, content_type = esp.multipart_form({'h:X-"Evil"\r\nInjected': "valeur « ok »"})
    assert multipart_fields(content_type, body) == [
        ("h:X-%22Evil%22%0D%0AInjected", "valeur « ok »")
    ]
    assert quote("«") not in body.decode()  # joined as UTF-8, never percent-encoded
