"""Creating an organization: its first admin, its Default workspace and one audit event,
through the service and the `organization_create` command."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.audit import Actor
from accounts.models import AuditEvent, Organization, OrganizationMember
from accounts.roles import OrgRole
from workspaces import services
from workspaces.models import Workspace


def test_organization_create_makes_admin_default_workspace_and_one_event(db):
    org = services.organization_create(
        actor=Actor.system("test"),
        name="  Initech ",
        admin_email="Boss@Initech.test",
        admin_password="pw-12345678",
    )
    assert org.name == "Initech"
    member = OrganizationMember.objects.get(organization=org)
    assert member.role == OrgRole.ADMIN
    assert member.user.email == "boss@initech.test"
    assert member.user.check_password("pw-12345678")
    default = Workspace.objects.get(organization=org)
    assert default.is_default and default.name == "Default"
    (event,) = AuditEvent.objects.filter(organization=org)
    assert (event.action, event.actor_label, event.target_id) == (
        "organization.create",
        "test",
        str(org.id),
    )


def test_organization_create_refuses_duplicate_name_and_bad_email(db):
    services.organization_create(actor=Actor.system("t"), name="Dup", admin_email="a@dup.test")
    with pytest.raises(ValidationError, match="already exists"):
        services.organization_create(actor=Actor.system("t"), name="dup", admin_email="b@dup.test")
    with pytest.raises(ValidationError, match="not a valid e-mail"):
        services.organization_create(actor=Actor.system("t"), name="Other", admin_email="nope")
    assert Organization.objects.count() == 1


def test_organization_create_command(db):
    out = io.StringIO()
    call_command(
        "organization_create",
        "--name",
        "Initech",
        "--admin-email",
        "boss@initech.test",
        "--password",
        "pw-1234567",
        stdout=out,
    )
    org = Organization.objects.get(name="Initech")
    assert "Created organization" in out.getvalue()
    assert OrganizationMember.objects.get(organization=org).role == "admin"
    assert Workspace.objects.get(organization=org).is_default
    assert AuditEvent.objects.get(organization=org).actor_label == "organization_create command"


def test_organization_create_command_errors(db):
    call_command(
        "organization_create",
        "--name",
        "Initech",
        "--admin-email",
        "a@x.test",
        "--password",
        "p-1234567",
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "organization_create",
            "--name",
            "initech",
            "--admin-email",
            "b@x.test",
            "--password",
            "p",
        )
    with pytest.raises(CommandError, match="not a valid e-mail"):
        call_command(
            "organization_create", "--name", "New", "--admin-email", "bad", "--password", "p"
        )
    assert Organization.objects.count() == 1


def test_organization_create_command_without_password_and_terminal(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())
    with pytest.raises(CommandError, match="--password"):
        call_command("organization_create", "--name", "X", "--admin-email", "new@x.test")
