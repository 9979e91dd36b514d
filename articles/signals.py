"""Cache invalidation: any change to what readers see makes the cached pages stale."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from signups.models import MailingList, PagePath
from signups.signals import page_path_taken

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
# The lists' pages, and every page that links to them (navigation, invitations).
@receiver(post_save, sender=MailingList)
@receiver(post_delete, sender=MailingList)
@receiver(post_save, sender=PagePath)
@receiver(post_delete, sender=PagePath)
def invalidate_pages(action=None, **kwargs):
    if action and not action.startswith("post_"):
        return
    pages_invalidate()
    # Again after commit: a page rendered meanwhile from the not-yet-committed state
    # would otherwise stay cached under the new version.
    transaction.on_commit(pages_invalidate)


@receiver(page_path_taken, dispatch_uid="articles.page_path_taken")
def article_path_taken(sender, path, **kwargs):
    """A list page may not take an article's address, nor an article's former one."""
    wanted = [path, path + "/"]
    if Article.objects.filter(permalink__in=wanted).exists() or (
        Redirect.objects.filter(old_path__in=wanted).exists()
    ):
        return _("« %(path)s/ » est déjà l’adresse d’un article.") % {"path": path}
    return None
