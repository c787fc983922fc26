"""Checks of the enforcement settings that `manage.py check` (and every start) runs."""

from urllib.parse import urlsplit

import redis
import redis.cluster
from django.conf import settings
from django.core import checks

PERSISTENCE_DOCS = 'See docs/gateway.md, "Running it in production".'


def _node_persistence(client: redis.Redis) -> tuple[str, str] | None:
    """One Redis's `appendonly` and `save` settings, or None when it will not say."""
    try:
        appendonly = client.config_get("appendonly").get("appendonly")
        save = client.config_get("save").get("save")
    except (redis.exceptions.RedisError, OSError):
        return None
    if appendonly is None or save is None:
        return None
    return str(appendonly), str(save)


def _address(url: str) -> str:
    """Where a URL points, without the credentials it may carry."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


def _persistence(url: str, cluster: bool) -> list[tuple[str, tuple[str, str] | None]]:
    """Each Redis that keeps queued records (the one of `url`, or every master of the
    cluster), named, with its `appendonly` and `save` settings, or None when it will not
    say."""
    options = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    if not cluster:
        client = redis.Redis.from_url(url, **options)
        try:
            return [(_address(url), _node_persistence(client))]
        finally:
            client.close()
    try:
        cluster_client = redis.cluster.RedisCluster.from_url(url, **options)
    except (redis.exceptions.RedisError, redis.exceptions.RedisClusterException, OSError):
        return [(_address(url), None)]
    try:
        return [
            (node.name, _node_persistence(cluster_client.get_redis_connection(node)))
            for node in cluster_client.get_primaries()
        ]
    finally:
        cluster_client.close()


def _named(nodes: list[str]) -> str:
    return ", ".join(sorted(nodes))


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
    nodes = _persistence(settings.REDIS_URL, settings.REDIS_CLUSTER)
    persist_nothing = [
        name for name, found in nodes if found and found[0] != "yes" and not found[1].strip()
    ]
    snapshots_only = [
        name for name, found in nodes if found and found[0] != "yes" and found[1].strip()
    ]
    silent = [name for name, found in nodes if found is None]
    if persist_nothing:
        messages.append(
            checks.Error(
                "USAGE_QUEUE keeps usage records in Redis until the worker stores them, and "
                f'Redis at {_named(persist_nothing)} persists nothing (appendonly no, save ""): '
                "a restart loses them.",
                hint=f"Run Redis with appendonly yes, or turn USAGE_QUEUE off. {PERSISTENCE_DOCS}",
                id="billing.E001",
            )
        )
    if snapshots_only:
        messages.append(
            checks.Warning(
                "USAGE_QUEUE keeps usage records in Redis until the worker stores them, and "
                f"Redis at {_named(snapshots_only)} only writes snapshots (appendonly no): a "
                "restart loses what was queued since the last one.",
                hint=f"Run Redis with appendonly yes. {PERSISTENCE_DOCS}",
                id="billing.W004",
            )
        )
    if silent:
        messages.append(
            checks.Warning(
                "USAGE_QUEUE keeps usage records in Redis until the worker stores them, and "
                f"Redis at {_named(silent)} does not say whether it persists them (CONFIG GET "
                "appendonly, save).",
                hint=f"Make sure Redis runs with appendonly yes. {PERSISTENCE_DOCS}",
                id="billing.W003",
            )
        )
    return messages
