"""The demo organization `seed_demo` loads: people in every role, their workspaces, keys,
limits and usage. Changes go through the services, as a person would make them."""

from accounts import services
from accounts.audit import Actor
from accounts.models import Organization, OrganizationMember, User
from accounts.roles import OrgRole, WorkspaceRole

ORGANIZATION = "Acme Corp"
PASSWORD = "console-demo"
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
}
ACTOR = Actor.system("seed_demo command")


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, PASSWORD, name=NAMES.get(email, ""))
    return user


def seed() -> bool:
    """Load the demo data. Returns False, changing nothing, if it is already there."""
    if Organization.objects.filter(name=ORGANIZATION).exists():
        return False
    organization = services.organization_create(
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


def _seed_workspaces(organization: Organization) -> None:
    from workspaces import services as workspace_services
    from workspaces.models import WorkspaceColor

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
    workspace_services.workspace_archive(actor=ACTOR, workspace=research)


def _seed_keys(organization: Organization, production, staging, research) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import KeyStatus
    from workspaces import services as workspace_services
    from workspaces.models import Workspace

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
            workspace_services.api_key_set_status(actor=actor, key=key, status=status)
        elif status == KeyStatus.ARCHIVED:
            workspace_services.api_key_delete(actor=actor, key=key)
    services.admin_key_create(actor=admin, organization=organization, name="Provisioning script")
