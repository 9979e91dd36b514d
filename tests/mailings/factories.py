import datetime as dt

import factory
from django.utils import timezone

from mailings.models import Mailing, Sequence, Step
from signups.models import Contact, MailingList, Subscription


class MailingListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailingList
        django_get_or_create = ("slug",)

    slug = "newsletter"
    name = "Newsletter"
    consent_text = "J’accepte de recevoir la newsletter."


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"lecteur{n}@example.org")
    first_name = "Awa"
    time_zone = "Europe/Paris"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    contact = factory.SubFactory(ContactFactory)
    mailing_list = factory.SubFactory(MailingListFactory)
    status = Subscription.Status.ACTIVE
    confirmed_at = factory.LazyFunction(timezone.now)


class MailingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailing
        skip_postgeneration_save = True

    subject = "Écoutez vos clients « avant » de construire"
    preheader = "Trois questions pour commencer"
    body = "Bonjour {prénom} !\n\nLisez [notre atelier](/atelier/) et répondez-nous."
    send_date = factory.LazyFunction(lambda: timezone.localdate())
    send_time = dt.time(9, 0)

    @factory.post_generation
    def lists(self, create, extracted, **kwargs):
        if create:
            self.lists.set(extracted or [MailingListFactory()])


class SequenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sequence

    mailing_list = factory.SubFactory(MailingListFactory, slug="atelier", name="Atelier")
    slug = factory.Sequence(lambda n: f"sequence-{n}")
    name = "Atelier"


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    sequence = factory.SubFactory(SequenceFactory)
    position = factory.Sequence(lambda n: n + 1)
    delay = dt.timedelta(days=1)
    subject = factory.LazyAttribute(lambda o: f"Leçon {o.position}")
    body = "Une leçon pour {prénom}."


def subscribers(count: int, mailing_list=None, **contact_fields) -> list[Subscription]:
    """Many active subscribers in a few queries."""
    mailing_list = mailing_list or MailingListFactory()
    start = Contact.objects.count()
    contacts = Contact.objects.bulk_create(
        Contact(email=f"r{start + i}@example.org", first_name=f"R{i}", **contact_fields)
        for i in range(count)
    )
    now = timezone.now()
    return Subscription.objects.bulk_create(
        Subscription(
            contact=c,
            mailing_list=mailing_list,
            status=Subscription.Status.ACTIVE,
            confirmed_at=now,
        )
        for c in contacts
    )


def record_event(delivery, event_type, at, event_id, *, url="", esp="test"):
    """Record an ESP event as the tracking webhook does, from anymail's parsed event."""
    from anymail.signals import AnymailTrackingEvent

    from mailings import events

    event = AnymailTrackingEvent(
        event_type=event_type,
        timestamp=at,
        event_id=event_id,
        message_id=delivery.esp_message_id or None,
        recipient=delivery.contact.email,
        metadata={"delivery_id": str(delivery.pk)},
        click_url=url or None,
    )
    return events.events_record(events=[event], esp_name=esp)
