"""What tests of several features share."""

import json
import os
from urllib.parse import urlsplit, urlunsplit

from django.db.models import QuerySet
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent, Organization, User
from billing.models import Limiter, ModelGroup, TierLimit, UsageTier
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace, WorkspaceColor


def workspace_url(name: str, workspace: Workspace, *args: object) -> str:
    """The URL `name` of `workspace` (then `args`): `workspace_url("workspaces:workspace_edit",
    production)`."""
    return reverse(name, args=[workspace.public_id, *args])


def events(organization: Organization, action: str | None = None) -> QuerySet[AuditEvent]:
    """The organization's audit events, of `action` if given."""
    found = AuditEvent.objects.filter(organization=organization)
    return found.filter(action=action) if action else found


def create_workspace(
    organization: Organization, actor: Actor, name: str = "Prod", color: str = WorkspaceColor.TEAL
) -> Workspace:
    return workspace_services.workspace_create(
        actor=actor, organization=organization, name=name, display_color=color
    )


def bulk_api_keys(workspace: Workspace, count: int, creator: User) -> None:
    """`count` keys in `workspace`, written at once (their secrets are never needed)."""
    ApiKey.objects.bulk_create(
        ApiKey(
            organization_id=workspace.organization_id,
            workspace=workspace,
            name=f"key {i}",
            hint=f"sk-ant-api03-abc...{i:04d}",
            secret_hash=f"{i:064x}",
            created_by=creator,
        )
        for i in range(count)
    )


def more_model_groups(count: int) -> None:
    """`count` more model groups in the catalog, each with Tier 1 limits."""
    tier = UsageTier.objects.get(name="Tier 1")
    for i in range(count):
        group = ModelGroup.objects.create(name=f"Extra {i}", slug=f"extra-{i}", position=100 + i)
        for limiter in Limiter.values:
            TierLimit.objects.create(tier=tier, model_group=group, limiter=limiter, value=1000)


RPM = Limiter.REQUESTS_PER_MINUTE
ITPM = Limiter.INPUT_TOKENS_PER_MINUTE


def member_urls(user: User) -> dict[str, str]:
    """The URLs that change `user`'s organization membership (role, remove)."""
    return {
        "role": reverse("workspaces:member_change_role", args=[user.public_id]),
        "remove": reverse("workspaces:member_remove", args=[user.public_id]),
    }


def client_events(response) -> dict:
    """The client events an htmx response fires (its HX-Trigger header), by name."""
    header = response.headers.get("HX-Trigger")
    return json.loads(header) if header else {}


def toast_of(response) -> str | None:
    """The toast an htmx response shows, if any."""
    toast = client_events(response).get("console:toast")
    return toast["value"] if toast else None


def redis_url_of_this_worker(url: str) -> str:
    """`url` with a Redis database of this test process's own: with pytest-xdist every worker
    (`gw0`, `gw1`, ...) counts down from `url`'s database, so workers that flush or drain
    their database (queued usage, counters) never touch another's. Unchanged without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    own = (database - int(worker[2:])) % 16
    if own == 0:  # database 0 is the one a Redis shares by default: never the tests'
        own = 15
    return urlunsplit(parts._replace(path=f"/{own}"))
