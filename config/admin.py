"""What the admin of every app shares."""

from django.utils.translation import ngettext


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


# Above this many rows (PostgreSQL's planner estimate), an unfiltered changelist shows
# the estimate instead of counting: COUNT(*) reads the whole table (a million contacts:
# about a second on every page). Below it, and on SQLite, the count is exact.
ESTIMATE_ABOVE = 100_000


def estimated_count(model) -> int | None:
    """The planner's estimate of `model`'s rows (pg_class.reltuples, kept by VACUUM and
    ANALYZE, autovacuum included) when it is at least ESTIMATE_ABOVE; None otherwise, and
    on other databases: count exactly then."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    estimate = row[0] if row else None
    return estimate if estimate is not None and estimate >= ESTIMATE_ABOVE else None


class EstimatedCountMixin:
    """For a ModelAdmin of a large table: its unfiltered changelist says « environ N
    (estimation) » from the planner's estimate where an exact count costs too much
    (templates/admin/pagination.html reads `paginator.estimated`)."""

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        paginator.estimated = False
        if not set(request.GET) - {"p", "o"}:
            estimate = estimated_count(self.model)
            if estimate is not None:
                paginator.count = estimate
                paginator.estimated = True
        return paginator

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None and getattr(cl.paginator, "estimated", False):
            # Django's « Tous les N sélectionnés » would state the estimate as a count.
            response.context_data["selection_note_all"] = ngettext(
                "environ %(total_count)s sélectionné (estimation)",
                "environ %(total_count)s sélectionnés (estimation)",
                cl.result_count,
            ) % {"total_count": cl.result_count}
        return response
