"""Workspace and workspace member rules, on the service that every path calls."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from accounts.audit import Actor
from accounts.models import AuditEvent
from accounts.roles import OrgRole, WorkspaceRole
from tests.factories import (
    MemberFactory,
    OrganizationFactory,
    WorkspaceFactory,
    WorkspaceMemberFactory,
)
from workspaces import services
from workspaces.models import MAX_ACTIVE_WORKSPACES, Workspace, WorkspaceColor, WorkspaceMember


@pytest.fixture
def actor(personas):
    return Actor.for_user(personas.admin)


def create(personas, actor, name="Prod", color=WorkspaceColor.TEAL):
    return services.workspace_create(
        actor=actor, organization=personas.org, name=name, display_color=color
    )


def test_create_workspace_records_event(personas, actor):
    workspace = create(personas, actor, name="  Production  ")
    assert workspace.name == "Production" and workspace.public_id.startswith("wrkspc_")
    assert workspace.created_by == personas.admin
    event = AuditEvent.objects.get()
    assert (event.action, event.target_id) == ("workspace.create", workspace.public_id)


@pytest.mark.parametrize("name", ["", "   ", "x" * 41])
def test_bad_names_are_refused(personas, actor, name):
    with pytest.raises(ValidationError):
        create(personas, actor, name=name)
    assert Workspace.objects.filter(organization=personas.org).count() == 1


def test_forty_unicode_characters_are_fine(personas, actor):
    name = "日本語のワークスペース🚀" + "é" * 28
    assert len(name) == 40
    assert create(personas, actor, name=name).name == name


def test_any_hex_colour_is_accepted_and_others_refused(personas, actor):
    assert create(personas, actor, color="#12ab56").display_color == "#12AB56"
    for color in ("red", "#12345", "#1234567", "#12345G"):
        with pytest.raises(ValidationError, match="#RRGGBB"):
            create(personas, actor, color=color)


def test_one_default_workspace_per_organization_in_the_database(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.create(organization=personas.org, name="Second", is_default=True)


def test_limit_of_100_active_workspaces(personas, actor):
    WorkspaceFactory.create_batch(MAX_ACTIVE_WORKSPACES - 1, organization=personas.org)
    with pytest.raises(ValidationError, match="limit of 100"):
        create(personas, actor)
    archived = Workspace.objects.filter(organization=personas.org, is_default=False).first()
    services.workspace_archive(actor=actor, workspace=archived)
    assert create(personas, actor)  # archived ones don't count


def test_limit_is_per_organization(personas, actor):
    WorkspaceFactory.create_batch(MAX_ACTIVE_WORKSPACES - 1, organization=personas.other_org)
    assert create(personas, actor)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_limit_holds_under_concurrent_creation():
    org = OrganizationFactory()
    admin = MemberFactory(organization=org, role=OrgRole.ADMIN).user
    WorkspaceFactory.create_batch(94, organization=org)  # 95 with Default
    barrier = threading.Barrier(10)
    outcomes = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            services.workspace_create(
                actor=Actor.for_user(admin),
                organization=org,
                name=f"Race {index}",
                display_color="#3B82F6",
            )
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 5 and outcomes.count("refused") == 5
    assert Workspace.objects.filter(organization=org).active().count() == 100


def test_default_workspace_refuses_every_change(personas, actor):
    default = personas.default_workspace
    with pytest.raises(ValidationError, match="Default workspace cannot be edited"):
        services.workspace_update(actor=actor, workspace=default, name="Renamed")
    with pytest.raises(ValidationError, match="Default workspace cannot be edited"):
        services.workspace_update(actor=actor, workspace=default, display_color=WorkspaceColor.ROSE)
    with pytest.raises(ValidationError, match="cannot be archived"):
        services.workspace_archive(actor=actor, workspace=default)
    default.refresh_from_db()
    assert (default.name, default.display_color, default.archived_at) == (
        "Default",
        WorkspaceColor.SLATE,
        None,
    )
    assert not AuditEvent.objects.exists()


def test_default_workspace_has_no_delete():
    assert not hasattr(services, "workspace_delete")


def test_update_records_before_and_after(personas, actor):
    workspace = create(personas, actor, name="Old")
    services.workspace_update(
        actor=actor, workspace=workspace, name="New", display_color=WorkspaceColor.ROSE
    )
    event = AuditEvent.objects.get(action="workspace.update")
    assert event.before == {"name": "Old", "display_color": WorkspaceColor.TEAL}
    assert event.after == {"name": "New", "display_color": WorkspaceColor.ROSE}


def test_archive_is_irreversible_and_freezes_the_workspace(personas, actor):
    workspace = create(personas, actor)
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer)
    services.workspace_archive(actor=actor, workspace=workspace)
    workspace.refresh_from_db()
    assert workspace.is_archived
    with pytest.raises(ValidationError, match="already archived"):
        services.workspace_archive(actor=actor, workspace=workspace)
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_update(actor=actor, workspace=workspace, name="Again")
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.user, role=WorkspaceRole.USER
        )
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_member_change_role(
            actor=actor, workspace=workspace, user=personas.developer, role=WorkspaceRole.ADMIN
        )
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_member_remove(actor=actor, workspace=workspace, user=personas.developer)
    assert WorkspaceMember.objects.get(workspace=workspace).role == WorkspaceRole.DEVELOPER
    assert AuditEvent.objects.filter(action="workspace.archive").count() == 1


def test_add_member_and_change_role_and_remove(personas, actor):
    workspace = create(personas, actor)
    services.workspace_member_add(
        actor=actor, workspace=workspace, user=personas.developer, role=WorkspaceRole.DEVELOPER
    )
    services.workspace_member_change_role(
        actor=actor, workspace=workspace, user=personas.developer, role=WorkspaceRole.ADMIN
    )
    assert WorkspaceMember.objects.get(workspace=workspace).role == WorkspaceRole.ADMIN
    services.workspace_member_remove(actor=actor, workspace=workspace, user=personas.developer)
    assert not WorkspaceMember.objects.filter(workspace=workspace).exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "workspace.create",
        "workspace_member.add",
        "workspace_member.role_change",
        "workspace_member.remove",
    ]


def test_only_organization_members_can_be_added(personas, actor):
    workspace = create(personas, actor)
    with pytest.raises(ValidationError, match="Only members of this organization"):
        services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.outsider, role=WorkspaceRole.USER
        )


def test_adding_twice_is_refused(personas, actor):
    workspace = create(personas, actor)
    services.workspace_member_add(
        actor=actor, workspace=workspace, user=personas.user, role=WorkspaceRole.USER
    )
    with pytest.raises(ValidationError, match="already a member"):
        services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.user, role=WorkspaceRole.ADMIN
        )


def test_workspace_billing_is_never_assigned(personas, actor):
    workspace = create(personas, actor)
    with pytest.raises(ValidationError, match="Workspace Billing comes only"):
        services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.user, role=WorkspaceRole.BILLING
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkspaceMember.objects.create(
            workspace=workspace, user=personas.user, role=WorkspaceRole.BILLING
        )


def test_inherited_admin_cannot_be_added_lowered_or_removed(personas, actor):
    workspace = create(personas, actor)
    with pytest.raises(ValidationError, match="Workspace Admin of every workspace"):
        services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.admin, role=WorkspaceRole.USER
        )
    with pytest.raises(ValidationError, match="inherited"):
        services.workspace_member_remove(actor=actor, workspace=workspace, user=personas.admin)
    with pytest.raises(ValidationError, match="inherited"):
        services.workspace_member_change_role(
            actor=actor, workspace=workspace, user=personas.admin, role=WorkspaceRole.USER
        )


def test_billing_can_only_be_raised_to_workspace_admin(personas, actor):
    workspace = create(personas, actor)
    with pytest.raises(ValidationError, match="only be made Workspace Admin"):
        services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.billing, role=WorkspaceRole.DEVELOPER
        )
    services.workspace_member_add(
        actor=actor, workspace=workspace, user=personas.billing, role=WorkspaceRole.ADMIN
    )
    with pytest.raises(ValidationError, match="only be made Workspace Admin"):
        services.workspace_member_change_role(
            actor=actor, workspace=workspace, user=personas.billing, role=WorkspaceRole.USER
        )
    # Dropping the explicit admin role leaves the inherited billing one.
    services.workspace_member_remove(actor=actor, workspace=workspace, user=personas.billing)
    with pytest.raises(ValidationError, match="inherited"):
        services.workspace_member_remove(actor=actor, workspace=workspace, user=personas.billing)
