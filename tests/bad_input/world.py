"""What the bad-input suite throws its corpus at: two organizations with one of every kind of
object (the test organization and another one), and a snapshot of the database that shows
whether a request changed any row."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.db import connection, models
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import AdminApiKey, Invite, Organization, User
from accounts.roles import OrgRole, WorkspaceRole
from billing import services as billing_services
from billing import usage
from billing.models import Limiter, Model, ModelGroup, SpendLimitIncreaseRequest
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory, WorkspaceMemberFactory
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace


@dataclass
class Side:
    """One organization's objects, each the kind a URL or an endpoint names."""

    org: Organization
    admin: User
    member: User  # an organization member (not an admin) whom pages act on
    workspace: Workspace  # with `member` in it as a Workspace User
    archived_workspace: Workspace
    api_key: ApiKey
    api_key_secret: str
    admin_key: AdminApiKey
    admin_key_secret: str
    invite: Invite
    invite_token: str
    increase_request: SpendLimitIncreaseRequest
    workspace_notification_cents: int
    organization_notification_cents: int

    @property
    def password_reset(self) -> tuple[str, str]:
        """The member's password reset link's (uidb64, token)."""
        return (
            urlsafe_base64_encode(force_bytes(self.member.pk)),
            default_token_generator.make_token(self.member),
        )


@dataclass
class World:
    own: Side
    other: Side
    developer: User  # the lower role the suite acts as, beside the admin
    staff: User

    def side(self, name: str) -> Side:
        return self.own if name == "own" else self.other


def _side(org: Organization, admin: User, member: User, *, label: str) -> Side:
    actor = Actor.for_user(admin)
    workspace = WorkspaceFactory(organization=org, name=f"{label} production")
    WorkspaceMemberFactory(workspace=workspace, user=member, role=WorkspaceRole.USER)
    archived = WorkspaceFactory(organization=org, name=f"{label} archived")
    workspace_services.workspace_archive(actor=actor, workspace=archived)
    key, key_secret = workspace_services.api_key_create(
        actor=actor, workspace=workspace, name="bot"
    )
    admin_key, admin_secret = account_services.admin_key_create(
        actor=actor, organization=org, name="ops"
    )
    invite, token = account_services.invite_create(
        actor=actor, organization=org, email=f"invited@{label}.test", role=OrgRole.DEVELOPER
    )
    billing_services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=5_000)
    billing_services.workspace_rate_limit_set(
        actor=actor,
        workspace=workspace,
        model_group=ModelGroup.objects.order_by("position").first(),
        limiter=Limiter.REQUESTS_PER_MINUTE,
        value=10,
    )
    billing_services.spend_notification_add(
        actor=actor, organization=org, workspace=workspace, amount_cents=5_000
    )
    billing_services.spend_notification_add(
        actor=actor, organization=org, workspace=None, amount_cents=7_000
    )
    increase = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(member), workspace=workspace, amount_cents=8_000
    )
    # Some usage, so the reports have days and hours to drill into (and their links).
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    for hours_ago in (1, 30):
        usage.record(
            api_key=key,
            model=model,
            tokens={"uncached_input_tokens": 1_000, "output_tokens": 100},
            at=timezone.now() - timedelta(hours=hours_ago),
        )
    return Side(
        org=org,
        admin=admin,
        member=member,
        workspace=workspace,
        archived_workspace=archived,
        api_key=key,
        api_key_secret=key_secret,
        admin_key=admin_key,
        admin_key_secret=admin_secret,
        invite=invite,
        invite_token=token,
        increase_request=increase,
        workspace_notification_cents=5_000,
        organization_notification_cents=7_000,
    )


def build_world(personas, staff: User) -> World:
    """The test organization (its personas), and another with the same kinds of objects."""
    other_member = MemberFactory(
        organization=personas.other_org,
        role=OrgRole.USER,
        user=UserFactory(email="member@other.test"),
    ).user
    return World(
        own=_side(personas.org, personas.admin, personas.user, label="own"),
        other=_side(personas.other_org, personas.outsider, other_member, label="other"),
        developer=personas.developer,
        staff=staff,
    )


# -- Did anything change? ---------------------------------------------------------------------

# Written by reads on purpose: when a key was last used, when a person last signed in.
VOLATILE_COLUMNS = {"last_used_at", "last_login"}
# Written on purpose by refused requests (django-axes counts failed sign-ins): counted, their
# rows not compared.
COUNTED_ONLY = {"axes"}
# The visitor's own, written by reads too (following an invite or password reset link keeps
# its token in the session): not compared at all.
NOT_COMPARED = {"sessions"}


def _tables() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _table_sql(model: type[models.Model]) -> str:
    """Every row of `model`'s table as one text, in one subquery."""
    table = _quoted(model._meta.db_table)
    row = " || ',' || ".join(
        f"coalesce(CAST({_quoted(f.column)} AS TEXT), '~')"
        for f in model._meta.concrete_fields
        if f.column not in VOLATILE_COLUMNS
    )
    if connection.vendor == "postgresql":
        return f"(SELECT string_agg(r, ';' ORDER BY r) FROM (SELECT {row} AS r FROM {table}) s)"
    return f"(SELECT group_concat(r, ';') FROM (SELECT {row} AS r FROM {table} ORDER BY 1))"


_query: dict[str, tuple[str, list[str]]] = {}


def _snapshot_query() -> tuple[str, list[str]]:
    """One statement that reads every table's row count and every compared table's rows."""
    if connection.vendor not in _query:
        parts, names = [], []
        for model in _tables():
            if model._meta.app_label in NOT_COMPARED:
                continue
            table = _quoted(model._meta.db_table)
            parts.append(f"(SELECT COUNT(*) FROM {table})")
            names.append(f"rows in {model._meta.db_table}")
            if model._meta.app_label not in COUNTED_ONLY:
                parts.append(_table_sql(model))
                names.append(f"row contents of {model._meta.db_table}")
        _query[connection.vendor] = ("SELECT " + ", ".join(parts), names)
    return _query[connection.vendor]


@dataclass(frozen=True)
class Snapshot:
    values: tuple[tuple[str, str], ...]

    def changes(self, later: "Snapshot") -> list[str]:
        """What differs in `later`: a table's row count, or its rows."""
        theirs = dict(later.values)
        return [name for name, value in self.values if theirs.get(name) != value]


def snapshot() -> Snapshot:
    """Every table's row count, and a checksum of every row (but the columns reads write on
    purpose), read in one statement."""
    sql, names = _snapshot_query()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return Snapshot(
        tuple(
            (name, hashlib.sha256(str(value).encode()).hexdigest())
            for name, value in zip(names, row, strict=True)
        )
    )
