import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Organization, OrganizationMember, User
from workspaces.models import Workspace

ROOT = Path(__file__).resolve().parents[2]


def test_create_organization(db):
    out = io.StringIO()
    call_command(
        "create_organization",
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
    assert AuditEvent.objects.get(organization=org).actor_label == "create_organization command"


def test_create_organization_errors(db):
    call_command(
        "create_organization",
        "--name",
        "Initech",
        "--admin-email",
        "a@x.test",
        "--password",
        "p-1234567",
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_organization",
            "--name",
            "initech",
            "--admin-email",
            "b@x.test",
            "--password",
            "p",
        )
    with pytest.raises(CommandError, match="not a valid e-mail"):
        call_command(
            "create_organization", "--name", "New", "--admin-email", "bad", "--password", "p"
        )
    assert Organization.objects.count() == 1


def test_create_organization_without_password_and_terminal(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())
    with pytest.raises(CommandError, match="--password"):
        call_command("create_organization", "--name", "X", "--admin-email", "new@x.test")


def test_seed_demo_is_idempotent(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert Organization.objects.filter(name="Acme Corp").count() == 1
    roles = dict(
        OrganizationMember.objects.filter(organization__name="Acme Corp").values_list(
            "user__email", "role"
        )
    )
    assert roles["admin@example.com"] == "admin"
    assert roles["billing@example.com"] == "billing"
    assert roles["developer@example.com"] == "developer"
    assert roles["user@example.com"] == "user"
    assert User.objects.get(email="user@example.com").check_password("console-demo")
    assert "console-demo" in out.getvalue() and "already loaded" in out.getvalue()


def test_deploy_check_passes_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789abcdefghij",
        "ALLOWED_HOSTS": "console.example.com",
        "DATABASE_URL": "",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_require_secret_key():
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "", "DATABASE_URL": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_seed_demo_creates_the_staff_account(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    User.objects.filter(email="staff@example.com").delete()
    call_command("seed_demo", stdout=out)  # an older demo database gets it too
    staff = User.objects.get(email="staff@example.com")
    assert staff.is_staff and staff.is_superuser
    assert staff.check_password("console-demo")
    assert not OrganizationMember.objects.filter(user=staff).exists()
    assert "staff@example.com" in out.getvalue() and "/admin/" in out.getvalue()
