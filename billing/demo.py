"""The demo organization `seed_demo` loads: people in every role, their workspaces, keys,
limits and usage. Changes go through the services, as a person would make them."""

import random
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import KeyStatus, Organization, OrganizationMember, User
from accounts.roles import OrgRole, WorkspaceRole
from billing import pricing, services, usage
from billing.models import Limiter, Model, ModelGroup, UsageRecord, UsageTier
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace, WorkspaceColor

ORGANIZATION = "Acme Corp"
PASSWORD = "console-demo"
# The operator's staff: signs in to the Django admin at /admin/, belongs to no organization.
STAFF_EMAIL = "staff@example.com"
PEOPLE = [
    ("admin@example.com", OrgRole.ADMIN),
    ("billing@example.com", OrgRole.BILLING),
    ("developer@example.com", OrgRole.DEVELOPER),
    ("user@example.com", OrgRole.USER),
]
NAMES = {
    "admin@example.com": "Ada Admin",
    "billing@example.com": "Bill Billing",
    "developer@example.com": "Dev Developer",
    "user@example.com": "Uma User",
    "grace@example.com": "Grace Hopper",
    "linus@example.com": "Linus Torvalds",
    STAFF_EMAIL: "Sam Staff",
}
ACTOR = Actor.system("seed_demo command")


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, PASSWORD, name=NAMES.get(email, ""))
    return user


def seed() -> bool:
    """Load the demo data. Returns False if it is already there, changing nothing but adding
    the staff account if it is missing."""
    _staff()
    if Organization.objects.filter(name=ORGANIZATION).exists():
        return False
    organization = workspace_services.organization_create(
        actor=ACTOR,
        name=ORGANIZATION,
        admin_email="admin@example.com",
        admin_password=PASSWORD,
        admin_name=NAMES["admin@example.com"],
    )
    others = [("grace@example.com", OrgRole.DEVELOPER), ("linus@example.com", OrgRole.USER)]
    for email, role in [*PEOPLE[1:], *others]:
        OrganizationMember.objects.create(organization=organization, user=_user(email), role=role)
    _seed_workspaces(organization)
    return True


def _staff() -> User:
    user = User.objects.filter(email=STAFF_EMAIL).first()
    if user is None:
        user = User.objects.create_superuser(STAFF_EMAIL, PASSWORD, name=NAMES[STAFF_EMAIL])
    return user


def _seed_workspaces(organization: Organization) -> None:

    production = workspace_services.workspace_create(
        actor=ACTOR, organization=organization, name="Production", display_color=WorkspaceColor.CLAY
    )
    staging = workspace_services.workspace_create(
        actor=ACTOR, organization=organization, name="Staging", display_color=WorkspaceColor.TEAL
    )
    research = workspace_services.workspace_create(
        actor=ACTOR, organization=organization, name="Research", display_color=WorkspaceColor.IRIS
    )
    memberships = [
        (production, "developer@example.com", WorkspaceRole.DEVELOPER),
        (production, "user@example.com", WorkspaceRole.USER),
        (production, "grace@example.com", WorkspaceRole.ADMIN),
        (staging, "developer@example.com", WorkspaceRole.ADMIN),
        (staging, "grace@example.com", WorkspaceRole.RESTRICTED_DEVELOPER),
        (staging, "billing@example.com", WorkspaceRole.ADMIN),
        (research, "linus@example.com", WorkspaceRole.DEVELOPER),
    ]
    for workspace, email, role in memberships:
        workspace_services.workspace_member_add(
            actor=ACTOR, workspace=workspace, user=User.objects.get(email=email), role=role
        )
    _seed_keys(organization, production, staging, research)
    _seed_usage(organization)
    _seed_limits(organization, production, staging)
    workspace_services.workspace_archive(actor=ACTOR, workspace=research)


def _seed_limits(organization: Organization, production, staging) -> None:

    services.organization_limits_change(
        actor=ACTOR, organization=organization, tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=ACTOR, organization=organization, amount_cents=400_00
    )
    sonnet = ModelGroup.objects.get(slug="sonnet-4")
    haiku = ModelGroup.objects.get(slug="haiku-4-5")
    for workspace, group, limiter, value in [
        (staging, sonnet, Limiter.REQUESTS_PER_MINUTE, 100),
        (staging, sonnet, Limiter.INPUT_TOKENS_PER_MINUTE, 40_000),
        (staging, haiku, Limiter.REQUESTS_PER_MINUTE, 200),
        (production, sonnet, Limiter.OUTPUT_TOKENS_PER_MINUTE, 60_000),
    ]:
        services.workspace_rate_limit_set(
            actor=ACTOR, workspace=workspace, model_group=group, limiter=limiter, value=value
        )
    services.workspace_spend_limit_set(actor=ACTOR, workspace=staging, amount_cents=50_00)
    for workspace, amount in [
        (production, 100_00),
        (production, 250_00),
        (staging, 25_00),
        (None, 300_00),
    ]:
        services.spend_notification_add(
            actor=ACTOR, organization=organization, workspace=workspace, amount_cents=amount
        )


def _seed_keys(organization: Organization, production, staging, research) -> None:

    developer = Actor.for_user(User.objects.get(email="developer@example.com"))
    admin = Actor.for_user(User.objects.get(email="admin@example.com"))
    default = Workspace.objects.get(organization=organization, is_default=True)
    plan = [
        (default, admin, "Prototype notebook", None, None),
        (default, developer, "Local development", None, None),
        (production, developer, "support-bot production", None, None),
        (production, developer, "search indexer", timezone.now() + timedelta(days=90), None),
        (production, admin, "nightly batch (old)", None, KeyStatus.INACTIVE),
        (production, admin, "leaked in a gist", None, KeyStatus.ARCHIVED),
        (staging, developer, "support-bot staging", None, None),
        (staging, developer, "load test", timezone.now() + timedelta(days=5), None),
        (research, admin, "paper experiments", None, None),
    ]
    for workspace, actor, name, expires_at, status in plan:
        key, _secret = workspace_services.api_key_create(
            actor=actor, workspace=workspace, name=name, expires_at=expires_at
        )
        if status == KeyStatus.INACTIVE:
            workspace_services.api_key_disable(actor=actor, key=key)
        elif status == KeyStatus.ARCHIVED:
            workspace_services.api_key_delete(actor=actor, key=key)
    account_services.admin_key_create(
        actor=admin, organization=organization, name="Provisioning script"
    )


def _seed_usage(organization: Organization) -> None:
    """90 days of usage, written directly as records and rolled up: a few requests a day per
    active key, more on weekdays, over three models; and a few refused requests."""

    rng = random.Random(7)
    models = list(
        Model.objects.filter(
            api_name__in=["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5"]
        )
    )
    keys = list(ApiKey.objects.filter(organization=organization, status=KeyStatus.ACTIVE))
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    now = timezone.now()
    records = []
    for days_ago in range(90, -1, -1):
        day = today - timedelta(days=days_ago)
        busy = day.weekday() < 5
        for key in keys:
            for _ in range(rng.randint(3, 12) if busy else rng.randint(0, 4)):
                at = day + timedelta(seconds=rng.randint(8 * 3600, 20 * 3600))
                if at > now:
                    continue
                model = rng.choice(models)
                tokens = {
                    "uncached_input_tokens": rng.randint(1_000, 20_000),
                    "cache_creation_5m_tokens": rng.choice([0, 0, 2_000]),
                    "cache_creation_1h_tokens": 0,
                    "cache_read_tokens": rng.choice([0, 5_000, 15_000]),
                    "output_tokens": rng.randint(100, 1_500),
                }
                searches = rng.choice([0, 0, 0, 0, 1, 3])
                tier = rng.choice(["standard"] * 9 + ["batch"])
                records.append(
                    UsageRecord(
                        organization_id=organization.pk,
                        workspace_id=key.workspace_id,
                        api_key=key,
                        model=model,
                        cost_cents=pricing.cost_cents(
                            model, tokens, service_tier=tier, web_search_requests=searches
                        ),
                        created_at=at,
                        web_search_requests=searches,
                        **usage.served(tokens=tokens, service_tier=tier),
                        **tokens,
                    )
                )
            if busy and rng.random() < 0.2:
                usage.count_refusal(
                    api_key_id=key.pk,
                    organization_id=organization.pk,
                    workspace_id=key.workspace_id,
                    model_id=models[0].pk,
                    limiter=rng.choice(["requests_per_minute", "input_tokens_per_minute"]),
                    at=day + timedelta(hours=rng.randint(9, 18)),
                )
    UsageRecord.objects.bulk_create(records, batch_size=2_000)
    usage.rollup_pending()
    # Each key was last used when its last request was made, as authenticating would record.
    last_used: dict[int, datetime] = {}
    for record in records:
        if record.api_key_id is not None:
            last_used[record.api_key_id] = max(
                record.created_at, last_used.get(record.api_key_id, record.created_at)
            )
    for key_id, at in last_used.items():
        ApiKey.objects.filter(pk=key_id).update(last_used_at=at)
