"""What the admin of every app shares."""


class KeptOnDeleteMixin:
    """For a ModelAdmin whose objects can hold records that must outlive an editor's
    click: the outbox of what was sent (what also keeps a reader from receiving a message
    twice), subscriptions with their proof of consent. Deleting an object that holds any
    is refused, saying what it holds, on Django's own « cannot delete » page (single
    delete and the « delete selected » action alike), before Django's deletion collector
    would load every related row to list it: a million for a large mailing."""

    def kept_records(self, obj) -> str:
        """What deleting `obj` would destroy and must not, in a few words; empty if nothing."""
        raise NotImplementedError

    def get_deleted_objects(self, objs, request):
        kept = [f"{obj} : {held}" for obj in objs if (held := self.kept_records(obj))]
        if kept:
            return [], {}, set(), kept
        return super().get_deleted_objects(objs, request)
