"""Checks of the enforcement settings that `manage.py check` (and every start) runs."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def usage_queue_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if not settings.USAGE_QUEUE:
        return []
    if not settings.REDIS_URL:
        return [
            checks.Warning(
                "USAGE_QUEUE has no effect without REDIS_URL: usage is written as it settles.",
                hint="Set REDIS_URL, or leave USAGE_QUEUE off.",
                id="billing.W001",
            )
        ]
    if settings.USAGE_ROLLUP_INLINE:
        return [
            checks.Warning(
                "USAGE_QUEUE is on with USAGE_ROLLUP_INLINE: queued usage reaches the database "
                "and the reports only when `manage.py usage_worker` runs.",
                hint="Run usage_worker and set USAGE_ROLLUP_INLINE=false.",
                id="billing.W002",
            )
        ]
    return []
