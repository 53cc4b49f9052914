"""Background tasks: thin callers of services."""

from celery import shared_task
from django.contrib.auth import get_user_model

from .models import Site
from .notifications import site_active_notify


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def notify_site_active(self, site_id: int, actor_id: int) -> int:
    """Email the trial managers that a site may now recruit. Returns how many were told."""
    site = Site.objects.select_related("trial").get(pk=site_id)
    actor = get_user_model().objects.get(pk=actor_id)
    return site_active_notify(site=site, actor=actor)
