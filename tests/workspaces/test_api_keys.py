"""API keys: the secret shown once, authentication, lifecycle, and the pages."""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import AuditEvent, KeyStatus
from accounts.roles import WorkspaceRole
from console.secrets import hash_secret
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from workspaces import services
from workspaces.models import ApiKey


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def workspace(personas):
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    WorkspaceMemberFactory(
        workspace=workspace, user=personas.developer, role=WorkspaceRole.DEVELOPER
    )
    WorkspaceMemberFactory(workspace=workspace, user=personas.user, role=WorkspaceRole.USER)
    return workspace


@pytest.fixture
def key_and_secret(personas, workspace):
    return services.api_key_create(
        actor=Actor.for_user(personas.developer), workspace=workspace, name="bot"
    )


def test_secret_shape_hint_and_hash(key_and_secret):
    key, secret = key_and_secret
    body = secret.removeprefix("sk-ant-api03-")
    assert secret.startswith("sk-ant-api03-") and len(body) >= 43  # 256 bits, URL-safe
    assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert key.hint == f"sk-ant-api03-{body[:3]}...{body[-4:]}"
    assert key.secret_hash == hash_secret(secret) and secret not in key.secret_hash
    assert key.public_id.startswith("apikey_")


def test_secret_is_stored_nowhere(key_and_secret, caplog):
    _key, secret = key_and_secret
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert not any(secret in str(value) for value in row), table
    assert secret not in caplog.text


def test_authentication(key_and_secret, personas, workspace):
    key, secret = key_and_secret
    assert services.api_key_authenticate(secret) == key
    assert services.api_key_authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert services.api_key_authenticate(secret + "x") is None
    assert services.api_key_authenticate("") is None
    assert services.api_key_authenticate("sk-ant-admin01-" + secret[13:]) is None
    actor = Actor.for_user(personas.admin)
    services.api_key_set_status(actor=actor, key=key, status=KeyStatus.INACTIVE)
    assert services.api_key_authenticate(secret) is None
    services.api_key_set_status(actor=actor, key=key, status=KeyStatus.ACTIVE)
    assert services.api_key_authenticate(secret) == key
    services.api_key_delete(actor=actor, key=key)
    assert services.api_key_authenticate(secret) is None


def test_expired_keys_fail_and_cannot_be_enabled(personas, workspace):
    actor = Actor.for_user(personas.admin)
    key, secret = services.api_key_create(
        actor=actor,
        workspace=workspace,
        name="short",
        expires_at=timezone.now() + timedelta(days=1),
    )
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        key.refresh_from_db()
        assert key.current_status() == KeyStatus.EXPIRED
        assert services.api_key_authenticate(secret) is None
        with pytest.raises(ValidationError, match="expired"):
            services.api_key_set_status(actor=actor, key=key, status=KeyStatus.ACTIVE)


def test_keys_of_archived_workspaces_fail(personas, key_and_secret, workspace):
    key, secret = key_and_secret
    services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=workspace)
    key.refresh_from_db()
    assert key.status == KeyStatus.ARCHIVED
    assert services.api_key_authenticate(secret) is None


def test_authentication_is_one_indexed_lookup(key_and_secret, django_assert_num_queries):
    _key, secret = key_and_secret
    with django_assert_num_queries(2):  # the lookup, then the first last-used write
        services.api_key_authenticate(secret)
    with django_assert_num_queries(1):  # within a minute: the lookup only
        services.api_key_authenticate(secret)


def test_last_used_is_written_at_most_once_a_minute(key_and_secret):
    key, secret = key_and_secret
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.api_key_authenticate(secret)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        services.api_key_authenticate(secret)
        key.refresh_from_db()
        assert key.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        services.api_key_authenticate(secret)
        key.refresh_from_db()
        assert key.last_used_at == start + timedelta(seconds=61)


def test_archiving_a_workspace_archives_its_keys_in_one_transaction(
    personas, workspace, monkeypatch
):
    actor = Actor.for_user(personas.admin)
    for name in ("a", "b", "c"):
        services.api_key_create(actor=actor, workspace=workspace, name=name)

    def explode(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("workspaces.services.audit.record", explode)
    with pytest.raises(RuntimeError):
        services.workspace_archive(actor=actor, workspace=workspace)
    workspace.refresh_from_db()
    assert workspace.archived_at is None
    assert set(ApiKey.objects.values_list("status", flat=True)) == {KeyStatus.ACTIVE}
    monkeypatch.undo()
    services.workspace_archive(actor=actor, workspace=workspace)
    assert set(ApiKey.objects.values_list("status", flat=True)) == {KeyStatus.ARCHIVED}
    assert AuditEvent.objects.get(action="workspace.archive").after["archived_api_keys"] == 3


def test_keys_cannot_move(personas, key_and_secret):
    key, _ = key_and_secret
    key.workspace = WorkspaceFactory(organization=personas.org)
    with pytest.raises(ValueError, match="cannot move"):
        key.save()


@pytest.mark.parametrize("name", ["", "   ", "x" * 501])
def test_bad_names(personas, workspace, name):
    with pytest.raises(ValidationError):
        services.api_key_create(
            actor=Actor.for_user(personas.admin), workspace=workspace, name=name
        )
    assert not ApiKey.objects.exists()


def test_expiry_in_the_past_is_refused(personas, workspace):
    with pytest.raises(ValidationError, match="future"):
        services.api_key_create(
            actor=Actor.for_user(personas.admin),
            workspace=workspace,
            name="x",
            expires_at=timezone.now(),
        )


def test_deleted_keys_refuse_every_action(personas, key_and_secret):
    key, _ = key_and_secret
    actor = Actor.for_user(personas.admin)
    services.api_key_delete(actor=actor, key=key)
    for action in (
        lambda: services.api_key_delete(actor=actor, key=key),
        lambda: services.api_key_rename(actor=actor, key=key, name="again"),
        lambda: services.api_key_set_status(actor=actor, key=key, status=KeyStatus.ACTIVE),
    ):
        with pytest.raises(ValidationError, match="permanent"):
            action()


def test_archived_workspace_takes_no_keys(personas, workspace):
    actor = Actor.for_user(personas.admin)
    services.workspace_archive(actor=actor, workspace=workspace)
    with pytest.raises(ValidationError, match="archived"):
        services.api_key_create(actor=actor, workspace=workspace, name="late")


def test_each_key_service_writes_one_event(personas, key_and_secret):
    key, _ = key_and_secret
    actor = Actor.for_user(personas.admin)
    services.api_key_rename(actor=actor, key=key, name="renamed")
    services.api_key_set_status(actor=actor, key=key, status=KeyStatus.INACTIVE)
    services.api_key_delete(actor=actor, key=key)
    assert list(AuditEvent.objects.order_by("id").values_list("action", "target_id")) == [
        ("api_key.create", key.public_id),
        ("api_key.rename", key.public_id),
        ("api_key.set_status", key.public_id),
        ("api_key.delete", key.public_id),
    ]


def test_expiry_notices_are_sent_once(personas, workspace):
    actor = Actor.for_user(personas.developer)
    start = timezone.now()
    _key, _ = services.api_key_create(
        actor=actor, workspace=workspace, name="exp", expires_at=start + timedelta(days=30)
    )
    _short, _ = services.api_key_create(
        actor=actor, workspace=workspace, name="short", expires_at=start + timedelta(days=3)
    )
    assert services.api_key_expiry_notices_send() == 0
    with time_machine.travel(start + timedelta(days=23, hours=1)):
        assert services.api_key_expiry_notices_send() == 1
        assert services.api_key_expiry_notices_send() == 0
    with time_machine.travel(start + timedelta(days=29, hours=1)):
        # the 1-day notices of both keys; the short key never had a 7-day notice
        assert services.api_key_expiry_notices_send() == 1
    with time_machine.travel(start + timedelta(days=2, hours=1)):
        assert services.api_key_expiry_notices_send() == 1
    subjects = [m.subject for m in mail.outbox]
    assert subjects.count("Your API key “exp” expires soon") == 2
    assert subjects.count("Your API key “short” expires soon") == 1
    assert all(m.to == [personas.developer.email] for m in mail.outbox)
    assert "7 days" in mail.outbox[0].body


# -- Pages ------------------------------------------------------------------------------


def keys_url(workspace):
    return reverse("workspaces:workspace_keys", args=[workspace.public_id])


def create_url(workspace):
    return reverse("workspaces:api_key_create", args=[workspace.public_id])


def test_create_shows_secret_once(personas, workspace, htmx, caplog):
    c = client(personas.developer)
    with caplog.at_level(logging.DEBUG):
        response = c.post(create_url(workspace), {"name": "bot", "expiry": "never"}, **htmx)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    body = response.content.decode()
    secret = body.split('data-testid="new-secret"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert services.api_key_authenticate(secret) == key
    assert "will not be shown again" in body
    assert json.loads(response["HX-Trigger"]) == {"keys:changed": {}}
    assert secret not in caplog.text
    for page in (
        c.get(keys_url(workspace)),
        c.get(reverse("workspaces:api_key_list")),
        c.get(reverse("workspaces:api_key_rename", args=[key.public_id])),
        c.get(keys_url(workspace), **htmx),
    ):
        assert secret not in page.content.decode()
        assert key.hint in page.content.decode() or "rename" in page.request["PATH_INFO"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "expiry": "never"}, "Give the key a name."),
        ({"name": "x" * 501, "expiry": "never"}, "at most 500 characters"),
        ({"name": "ok", "expiry": "custom", "expiry_date": "2001-01-01"}, "must be in the future"),
        ({"name": "ok", "expiry": "custom"}, "Choose the day the key expires."),
        ({"name": "ok", "expiry": "custom", "expiry_date": "tomorrow"}, "Enter a date"),
        ({"name": "ok", "expiry": "forever"}, "Select a valid choice"),
    ],
)
def test_create_bad_input(personas, workspace, htmx, data, message):
    response = client(personas.developer).post(create_url(workspace), data, **htmx)
    assert response.status_code == 200 and message in response.content.decode()
    assert not ApiKey.objects.exists()


def test_create_with_expiry_choices(personas, workspace, htmx):
    c = client(personas.developer)
    c.post(create_url(workspace), {"name": "d30", "expiry": "30"}, **htmx)
    c.post(
        create_url(workspace),
        {"name": "date", "expiry": "custom", "expiry_date": "2099-05-01"},
        **htmx,
    )
    d30 = ApiKey.objects.get(name="d30")
    assert timedelta(days=29, hours=23) < d30.expires_at - timezone.now() <= timedelta(days=30)
    assert ApiKey.objects.get(name="date").expires_at.isoformat() == "2099-05-01T00:00:00+00:00"


def test_crafted_post_cannot_choose_another_workspace(personas, workspace, htmx):
    other = WorkspaceFactory(organization=personas.org)
    client(personas.admin).post(
        create_url(workspace),
        {"name": "k", "expiry": "never", "workspace": other.public_id},
        **htmx,
    )
    assert ApiKey.objects.get().workspace == workspace
    key = ApiKey.objects.get()
    client(personas.admin).post(
        reverse("workspaces:api_key_rename", args=[key.public_id]),
        {"name": "k2", "workspace": other.public_id},
        **htmx,
    )
    key.refresh_from_db()
    assert key.workspace == workspace and key.name == "k2"


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("developer", 200), ("billing", 403), ("user", 403), ("outsider", 404)],
)
def test_create_by_role(personas, workspace, htmx, who, status):
    response = client(getattr(personas, who)).post(
        create_url(workspace), {"name": "k", "expiry": "never"}, **htmx
    )
    assert response.status_code == status
    assert ApiKey.objects.exists() is (status == 200)


@pytest.mark.parametrize("action", ["rename", "disable", "enable", "delete"])
@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403), ("outsider", 404)],
)
def test_key_actions_by_role(personas, key_and_secret, htmx, action, who, status):
    key, _ = key_and_secret
    if action == "enable":
        services.api_key_set_status(
            actor=Actor.for_user(personas.admin), key=key, status=KeyStatus.INACTIVE
        )
    before = ApiKey.objects.get(pk=key.pk)
    response = client(getattr(personas, who)).post(
        reverse(f"workspaces:api_key_{action}", args=[key.public_id]), {"name": "renamed"}, **htmx
    )
    assert response.status_code == status
    after = ApiKey.objects.get(pk=key.pk)
    changed = (after.name, after.status) != (before.name, before.status)
    assert changed is (status == 204)


def test_key_actions_wrong_method(personas, key_and_secret):
    key, _ = key_and_secret
    assert (
        client(personas.admin)
        .put(reverse("workspaces:api_key_delete", args=[key.public_id]))
        .status_code
        == 405
    )


def test_delete_confirm_says_permanent(personas, key_and_secret, htmx):
    key, _ = key_and_secret
    dialog = client(personas.admin).get(
        reverse("workspaces:api_key_delete", args=[key.public_id]), **htmx
    )
    assert b"permanent and cannot be undone" in dialog.content


def test_actions_on_deleted_key_show_message(personas, key_and_secret, htmx):
    key, _ = key_and_secret
    c = client(personas.admin)
    c.post(reverse("workspaces:api_key_delete", args=[key.public_id]), **htmx)
    again = c.post(reverse("workspaces:api_key_enable", args=[key.public_id]), **htmx)
    assert again.status_code == 200 and b"deleting is permanent" in again.content


def test_actions_on_archived_workspace_show_message(personas, key_and_secret, workspace, htmx):
    key, _ = key_and_secret
    c = client(personas.admin)
    services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=workspace)
    response = c.post(
        reverse("workspaces:api_key_rename", args=[key.public_id]), {"name": "x"}, **htmx
    )
    assert b"archived" in response.content
    create = c.post(create_url(workspace), {"name": "k", "expiry": "never"}, **htmx)
    assert b"archived" in create.content
    assert ApiKey.objects.count() == 1


def test_default_workspace_shows_keys_first(personas):
    default = personas.default_workspace
    c = client(personas.developer)
    assert c.get(reverse("workspaces:workspace_detail", args=[default.public_id]))[
        "Location"
    ] == keys_url(default)
    services.api_key_create(
        actor=Actor.for_user(personas.developer), workspace=default, name="default key"
    )
    assert b"default key" in c.get(keys_url(default)).content


def test_settings_api_keys_lists_only_visible_workspaces(personas, workspace):
    hidden = WorkspaceFactory(organization=personas.org, name="Hidden")
    actor = Actor.for_user(personas.admin)
    services.api_key_create(actor=actor, workspace=workspace, name="visible key")
    services.api_key_create(actor=actor, workspace=hidden, name="hidden key")
    dev_page = client(personas.developer).get(reverse("workspaces:api_key_list")).content.decode()
    assert "visible key" in dev_page and "hidden key" not in dev_page
    admin_page = client(personas.admin).get(reverse("workspaces:api_key_list")).content.decode()
    assert "visible key" in admin_page and "hidden key" in admin_page
    assert client(personas.user).get(reverse("workspaces:api_key_list")).status_code == 403
    assert client(personas.billing).get(reverse("workspaces:api_key_list")).status_code == 403
    outsider = client(personas.outsider).get(reverse("workspaces:api_key_list")).content.decode()
    assert "visible key" not in outsider


def test_settings_api_keys_filters(personas, workspace):
    admin, dev = Actor.for_user(personas.admin), Actor.for_user(personas.developer)
    a, _ = services.api_key_create(actor=admin, workspace=workspace, name="by admin")
    services.api_key_create(actor=dev, workspace=workspace, name="by dev")
    services.api_key_create(actor=admin, workspace=personas.default_workspace, name="in default")
    services.api_key_set_status(actor=admin, key=a, status=KeyStatus.INACTIVE)
    c = client(personas.admin)

    def names(**params):
        return {
            k.name for k in c.get(reverse("workspaces:api_key_list"), params).context["page"].items
        }

    assert names() == {"by admin", "by dev", "in default"}
    assert names(workspace=workspace.public_id) == {"by admin", "by dev"}
    assert names(status="inactive") == {"by admin"}
    assert names(creator=personas.developer.public_id) == {"by dev"}
    bad = c.get(reverse("workspaces:api_key_list"), {"workspace": "wrkspc_forged"})
    assert bad.status_code == 200 and b"Select a valid choice" in bad.content


def test_another_organizations_key_is_404(personas, key_and_secret):
    key, _ = key_and_secret
    c = client(personas.outsider)
    for action in ("rename", "disable", "delete"):
        assert (
            c.get(reverse(f"workspaces:api_key_{action}", args=[key.public_id])).status_code == 404
        )


def _bulk_keys(workspace, count: int, creator) -> None:
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


@pytest.mark.parametrize("count", [10, 10_000])
def test_keys_tab_queries_do_not_grow(personas, workspace, django_assert_num_queries, count):
    _bulk_keys(workspace, count, personas.developer)
    c = client(personas.admin)
    c.get(keys_url(workspace))
    with django_assert_num_queries(7):
        response = c.get(keys_url(workspace))
    assert response.content.count(b"data-key=") == min(count, 50)


@pytest.mark.parametrize("count", [10, 10_000])
def test_settings_api_keys_queries_do_not_grow(
    personas, workspace, django_assert_num_queries, count
):
    _bulk_keys(workspace, count, personas.developer)
    MemberFactory.create_batch(3, organization=personas.org)
    c = client(personas.developer)
    c.get(reverse("workspaces:api_key_list"))
    with django_assert_num_queries(8):
        response = c.get(reverse("workspaces:api_key_list"))
    assert response.content.count(b"data-key=") == min(count, 50)


def test_active_key_count_follows_every_change(personas, workspace):
    actor = Actor.for_user(personas.admin)

    def count():
        workspace.refresh_from_db()
        return workspace.active_key_count

    a, _ = services.api_key_create(actor=actor, workspace=workspace, name="a")
    b, _ = services.api_key_create(actor=actor, workspace=workspace, name="b")
    assert count() == 2
    services.api_key_set_status(actor=actor, key=a, status=KeyStatus.INACTIVE)
    assert count() == 1
    services.api_key_delete(actor=actor, key=a)  # a disabled key: no change
    assert count() == 1
    services.api_key_delete(actor=actor, key=b)
    assert count() == 0
    services.api_key_create(actor=actor, workspace=workspace, name="c")
    services.workspace_archive(actor=actor, workspace=workspace)
    assert count() == 0
