"""Checks of the enforcement settings that `manage.py check` (and every start) runs."""

import redis
import redis.cluster
from django.conf import settings
from django.core import checks

PERSISTENCE_DOCS = 'See docs/gateway.md, "Running it in production".'


def _persistence(url: str, cluster: bool) -> tuple[str, str] | None:
    """Redis's `appendonly` and `save` settings, or None when it will not say."""
    options = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    client = (
        redis.cluster.RedisCluster.from_url(url, **options)
        if cluster
        else redis.Redis.from_url(url, **options)
    )
    try:
        appendonly = client.config_get("appendonly").get("appendonly")
        save = client.config_get("save").get("save")
    except (redis.exceptions.RedisError, OSError):
        return None
    finally:
        client.close()
    if appendonly is None or save is None:
        return None
    return str(appendonly), str(save)


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
    messages: list[checks.CheckMessage] = []
    if settings.USAGE_ROLLUP_INLINE:
        messages.append(
            checks.Warning(
                "USAGE_QUEUE is on with USAGE_ROLLUP_INLINE: queued usage reaches the database "
                "and the reports only when `manage.py usage_worker` runs.",
                hint="Run usage_worker and set USAGE_ROLLUP_INLINE=false.",
                id="billing.W002",
            )
        )
    persistence = _persistence(settings.REDIS_URL, settings.REDIS_CLUSTER)
    if persistence is None:
        messages.append(
            checks.Warning(
                "USAGE_QUEUE keeps usage records in Redis until the worker stores them, and "
                "Redis does not say whether it persists them (CONFIG GET appendonly, save).",
                hint=f"Make sure Redis runs with appendonly yes. {PERSISTENCE_DOCS}",
                id="billing.W003",
            )
        )
    elif persistence[0] != "yes" and not persistence[1].strip():
        messages.append(
            checks.Error(
                "USAGE_QUEUE keeps usage records in Redis until the worker stores them, and "
                'this Redis persists nothing (appendonly no, save ""): a restart loses them.',
                hint=f"Run Redis with appendonly yes, or turn USAGE_QUEUE off. {PERSISTENCE_DOCS}",
                id="billing.E001",
            )
        )
    elif persistence[0] != "yes":
        messages.append(
            checks.Warning(
                "USAGE_QUEUE keeps usage records in Redis until the worker stores them, and "
                "this Redis only writes snapshots (appendonly no): a restart loses what was "
                "queued since the last one.",
                hint=f"Run Redis with appendonly yes. {PERSISTENCE_DOCS}",
                id="billing.W004",
            )
        )
    return messages
