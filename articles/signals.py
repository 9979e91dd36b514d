"""Cache invalidation: any change to what readers see makes the cached pages stale."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .cache import pages_invalidate
from .models import Article, Category, Comment, Redirect


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
@receiver(post_save, sender=Comment)
@receiver(post_delete, sender=Comment)
@receiver(post_save, sender=Category)
@receiver(post_delete, sender=Category)
@receiver(post_save, sender=Redirect)
@receiver(post_delete, sender=Redirect)
@receiver(m2m_changed, sender=Article.categories.through)
def invalidate_pages(action=None, **kwargs):
    if action and not action.startswith("post_"):
        return
    pages_invalidate()
    # Again after commit: a page rendered meanwhile from the not-yet-committed state
    # would otherwise stay cached under the new version.
    transaction.on_commit(pages_invalidate)
