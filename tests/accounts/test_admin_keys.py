"""Admin API keys: organization admins only; shown once; disable, enable, delete."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AdminApiKey, AuditEvent, KeyStatus
from workspaces import services as workspace_services


def test_admin_key_secret_and_authentication(personas, admin_key):
    key, secret = admin_key
    assert secret.startswith("sk-ant-admin01-") and key.hint.startswith("sk-ant-admin01-")
    assert services.admin_key_authenticate(secret) == key
    assert services.admin_key_authenticate(secret[:-2]) is None
    assert workspace_services.api_key_authenticate(secret) is None
    actor = Actor.for_user(personas.admin)
    services.admin_key_disable(actor=actor, key=key)
    assert services.admin_key_authenticate(secret) is None
    services.admin_key_enable(actor=actor, key=key)
    services.admin_key_delete(actor=actor, key=key)
    assert services.admin_key_authenticate(secret) is None
    with pytest.raises(ValidationError, match="permanent"):
        services.admin_key_enable(actor=actor, key=key)
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "admin_key.create",
        "admin_key.disable",
        "admin_key.enable",
        "admin_key.delete",
    ]


def test_workspace_keys_are_not_admin_keys(personas):
    _workspace_key, secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="w"
    )
    assert services.admin_key_authenticate(secret) is None


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("billing", 403), ("developer", 403), ("user", 403)]
)
def test_admin_keys_page_by_role(client, personas, who, status):
    assert (
        client(getattr(personas, who)).get(reverse("workspaces:admin_key_list")).status_code
        == status
    )


def test_create_shows_secret_once(client, personas, htmx):
    c = client(personas.admin)
    response = c.post(reverse("workspaces:admin_key_create"), {"name": "deploy"}, **htmx)
    body = response.content.decode()
    secret = body.split('data-testid="new-secret"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert services.admin_key_authenticate(secret).name == "deploy"
    assert "no-store" in response["Cache-Control"]
    listing = c.get(reverse("workspaces:admin_key_list")).content.decode()
    assert secret not in listing and AdminApiKey.objects.get().hint in listing


def test_create_bad_name(client, personas, htmx):
    response = client(personas.admin).post(
        reverse("workspaces:admin_key_create"), {"name": ""}, **htmx
    )
    assert b"Give the key a name." in response.content
    assert not AdminApiKey.objects.exists()


@pytest.mark.parametrize("action", ["disable", "delete"])
@pytest.mark.parametrize(("who", "status"), [("admin", 204), ("developer", 403), ("outsider", 404)])
def test_admin_key_actions_by_role(client, personas, admin_key, htmx, action, who, status):
    key, _ = admin_key
    response = client(getattr(personas, who)).post(
        reverse(f"workspaces:admin_key_{action}", args=[key.public_id]), **htmx
    )
    assert response.status_code == status
    key.refresh_from_db()
    assert (key.status != KeyStatus.ACTIVE) is (status == 204)


def test_enable_admin_key(client, personas, admin_key, htmx):
    key, _ = admin_key
    c = client(personas.admin)
    c.post(reverse("workspaces:admin_key_disable", args=[key.public_id]), **htmx)
    c.post(reverse("workspaces:admin_key_enable", args=[key.public_id]), **htmx)
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE


def test_admin_keys_need_no_anonymous(db):
    response = Client().get(reverse("workspaces:admin_key_list"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_admin_keys_search_by_name_and_page(client, personas, django_assert_num_queries):
    admin = Actor.for_user(personas.admin)
    for i in range(55):
        services.admin_key_create(actor=admin, organization=personas.org, name=f"script {i}")
    services.admin_key_create(actor=admin, organization=personas.org, name="Provisioning")
    c = client(personas.admin)
    url = reverse("workspaces:admin_key_list")
    found = c.get(url, {"q": "provision"})
    assert [key.name for key in found.context["page"].items] == ["Provisioning"]
    c.get(url)
    with django_assert_num_queries(6):
        first = c.get(url, {"q": "script"})
    assert len(first.context["page"].items) == 50
    body = first.content.decode()
    older = body[body.index('rel="next" href="') + len('rel="next" href="') :]
    older = older[: older.index('"')].replace("&amp;", "&")
    assert older.startswith("?q=script&cursor=")
    with django_assert_num_queries(6):
        second = c.get(url + older)
    assert len(second.context["page"].items) == 5
    assert "No Admin key is named like “nope”." in c.get(url, {"q": "nope"}).content.decode()
