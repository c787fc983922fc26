"""The audit trail: append-only everywhere, read-only in the staff admin; Settings > Audit
log lists it newest first, filtered, by cursor."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent
from tests.helpers import member_urls


def test_audit_log_lists_newest_first_and_filters(client, personas, htmx):
    c = client(personas.admin)
    c.post(reverse("billing:organization_rename"), {"name": "First"}, **htmx)
    c.post(member_urls(personas.user)["role"], {"role": "developer"}, **htmx)
    page = c.get(reverse("workspaces:audit_log"))
    assert [e.action for e in page.context["page"].items] == [
        "member.change_role",
        "organization.rename",
    ]
    assert b"Member role changed" in page.content
    filtered = c.get(reverse("workspaces:audit_log"), {"action": "organization.rename"})
    assert [e.action for e in filtered.context["page"].items] == ["organization.rename"]
    by_actor = c.get(reverse("workspaces:audit_log"), {"actor": personas.user.public_id})
    assert by_actor.context["page"].items == []


def test_audit_log_pages_by_cursor(client, personas, htmx):
    c = client(personas.admin)
    for i in range(55):
        c.post(reverse("billing:organization_rename"), {"name": f"Name {i}"}, **htmx)
    first = c.get(reverse("workspaces:audit_log"))
    cursor = first.context["page"].next_cursor
    assert cursor and len(first.context["page"].items) == 50
    second = c.get(reverse("workspaces:audit_log"), {"cursor": cursor})
    assert len(second.context["page"].items) == 5
    assert second.context["page"].next_cursor is None
    bogus = c.get(reverse("workspaces:audit_log"), {"cursor": "forged"})
    assert bogus.status_code == 200 and len(bogus.context["page"].items) == 50


def test_audit_events_are_append_only(personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="N"
    )
    event = AuditEvent.objects.get()
    event.action = "tampered"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()


def test_audit_events_are_read_only_in_admin(client, staff, personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="Renamed"
    )
    event = AuditEvent.objects.get()
    change_url = reverse("admin:accounts_auditevent_change", args=[event.pk])
    assert client(staff).get(change_url).status_code == 200
    client(staff).post(change_url, {"action": "forged"})
    event.refresh_from_db()
    assert event.action == "organization.rename"
    assert (
        client(staff).post(reverse("admin:accounts_auditevent_delete", args=[event.pk])).status_code
        == 403
    )


# -- The log in words ------------------------------------------------------------------------


def _every_services_module() -> None:
    """Import every module that registers audit actions, so the registry is complete."""
    import importlib

    for module in (
        "accounts.services",
        "workspaces.services",
        "billing.services",
        "accounts.audit_text",
        "workspaces.audit_text",
        "billing.audit_text",
    ):
        importlib.import_module(module)


def _recorded_actions() -> set[str]:
    """Every action the code records: the literal given to `audit.record(...)`, and the
    `action="..."` a service hands to the key lifecycle (which records it)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = set()
    for app in ("accounts", "workspaces", "billing"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            found |= set(re.findall(r'audit\.record\(\s*[^,]+,\s*"([a-z_.]+)"', text))
            found |= set(re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', text))
            found |= set(re.findall(r'action = "([a-z_]+\.[a-z_]+)"', text))
    return found


def test_every_action_has_a_label_and_a_description():
    from accounts import audit

    _every_services_module()
    recorded = _recorded_actions()
    assert len(recorded) > 25  # the search above still finds them
    assert recorded - set(audit.ACTIONS) == set(), "recorded actions missing from ACTIONS"
    missing = sorted(set(audit.ACTIONS) - set(audit.DESCRIPTIONS))
    assert not missing, f"actions with no description in words: {missing}"
    assert set(audit.DESCRIPTIONS) <= set(audit.ACTIONS), "descriptions of unknown actions"


def _scenario(personas):
    """Most things a person can change, through the services, as the pages make them."""
    from billing import services as billing_services
    from billing.models import ModelGroup, SpendNotification
    from workspaces import services as workspace_services

    admin = Actor.for_user(personas.admin)
    org = personas.org
    services.organization_rename(actor=admin, organization=org, name="Acme Renamed")
    services.member_change_role(
        actor=admin, member=personas.member(personas.developer), role="admin"
    )
    services.member_change_role(
        actor=admin, member=personas.member(personas.developer), role="developer"
    )
    _invite, token = services.invite_create(
        actor=admin, organization=org, email="new@acme.test", role="developer"
    )
    services.invite_accept(token=token, name="New Person", password="a-long-password-1")
    second, _ = services.invite_create(
        actor=admin, organization=org, email="later@acme.test", role="user"
    )
    services.invite_revoke(actor=admin, invite=second)
    production = workspace_services.workspace_create(
        actor=admin, organization=org, name="Production", display_color="#D97757"
    )
    workspace_services.workspace_edit(
        actor=admin, workspace=production, name="Prod", display_color="#2A9D8F"
    )
    workspace_services.workspace_member_add(
        actor=admin, workspace=production, user=personas.user, role="workspace_developer"
    )
    workspace_services.workspace_member_change_role(
        actor=admin, workspace=production, user=personas.user, role="workspace_admin"
    )
    workspace_services.workspace_member_remove(
        actor=admin, workspace=production, user=personas.user
    )
    key, _ = workspace_services.api_key_create(actor=admin, workspace=production, name="bot")
    workspace_services.api_key_rename(actor=admin, key=key, name="support bot")
    workspace_services.api_key_disable(actor=admin, key=key)
    workspace_services.api_key_delete(actor=admin, key=key)
    admin_key, _ = services.admin_key_create(actor=admin, organization=org, name="script")
    services.admin_key_disable(actor=admin, key=admin_key)
    services.admin_key_delete(actor=admin, key=admin_key)
    group = ModelGroup.objects.order_by("position").first()
    billing_services.organization_spend_limit_set(actor=admin, organization=org, amount_cents=90_00)
    billing_services.workspace_spend_limit_set(
        actor=admin, workspace=production, amount_cents=30_00
    )
    billing_services.workspace_rate_limit_set(
        actor=admin,
        workspace=production,
        model_group=group,
        limiter="requests_per_minute",
        value=40,
    )
    billing_services.workspace_rate_limit_reset(
        actor=admin, workspace=production, model_group=group, limiter="requests_per_minute"
    )
    billing_services.spend_notification_add(
        actor=admin, organization=org, workspace=production, amount_cents=10_00
    )
    billing_services.spend_notification_remove(
        actor=admin, notification=SpendNotification.objects.get(workspace=production)
    )
    increase = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.billing), workspace=production, amount_cents=40_00
    )
    billing_services.spend_limit_increase_request_approve(
        actor=admin, increase=increase, notify=False
    )
    spare = workspace_services.workspace_create(
        actor=admin, organization=org, name="Spare", display_color="#D97757"
    )
    workspace_services.api_key_create(actor=admin, workspace=spare, name="spare key")
    workspace_services.workspace_archive(actor=admin, workspace=spare)
    return production


EXPECTED_SENTENCES = [
    "Renamed from “Acme Test” to “Acme Renamed”",
    "Role changed from Developer to Admin",
    "Role changed from Admin to Developer",
    "Invited new@acme.test as Developer",
    "new@acme.test joined as Developer",
    "Revoked the invite; its link no longer works",
    "Created “Production”",
    "Renamed from “Production” to “Prod”; Colour changed from Clay to Teal",
    "Added user@acme.test as Workspace Developer",
    "Role changed from Workspace Developer to Workspace Admin",
    "Removed user@acme.test (Workspace Admin)",
    "Created “bot” (",
    "never expires",
    "Renamed from “bot” to “support bot”",
    "Disabled",
    "Deleted; permanent",
    "Created Admin key “script” (",
    "Spend limit set to $90.00 (was none)",
    "Spend limit set to $30.00 (was none)",
    "limit set to 40 (was the organization&#x27;s limit)",
    "Notification added at $10.00 of monthly spend",
    "Notification at $10.00 removed",
    "Asked for a monthly spend limit of $40.00",
    "Approved: the spend limit is now $40.00",
    "Archived, with its 1 API key",
]


def test_changes_read_as_sentences_with_named_targets(client, personas):
    _scenario(personas)
    page = client(personas.admin).get(reverse("workspaces:audit_log"), {"q": ""})
    body = page.content.decode()
    missing = [sentence for sentence in EXPECTED_SENTENCES if sentence not in body]
    assert not missing, missing
    # No field dumps, no JSON.
    for raw in ("amount_cents", "archived_at", "display_color", "{", "None"):
        assert raw not in body.split('data-testid="audit-table"')[1], raw
    # The actor by name and e-mail; targets by name, linked while they exist.
    assert '<div class="person__name">Admin</div><div class="person__email">admin@acme.test' in body
    production = reverse("workspaces:workspace_detail", args=[_workspace("Prod").public_id])
    assert f'<a href="{production}">Prod</a>' in body
    assert "API key “support bot”" in body and "deleted=1" in body
    assert "Invite for later@acme.test" in body  # revoked: named, not linked


def _workspace(name):
    from workspaces.models import Workspace

    return Workspace.objects.get(name=name)


def test_every_recorded_event_reads_in_words(personas):
    """The describer of each action the scenario records turns its real values into text
    without falling back to the bare label."""
    from accounts import audit

    _scenario(personas)
    for event in AuditEvent.objects.all():
        text = audit.DESCRIPTIONS[event.action](event.before or {}, event.after or {})
        fields = {name for values in (event.before, event.after) for name in values or {}}
        dumped = [name for name in fields if "_" in name and name in text]
        assert text and "{" not in text and "None" not in text and not dumped, (
            event.action,
            text,
        )


def test_a_gone_target_keeps_its_name_and_loses_its_link(client, personas):
    admin = Actor.for_user(personas.admin)
    services.member_remove(actor=admin, member=personas.member(personas.developer))
    body = client(personas.admin).get(reverse("workspaces:audit_log")).content.decode()
    row = body[body.index('data-action="member.remove"') :]
    row = row[: row.index("</tr>")]
    assert "Developer (developer@acme.test)" in row and "<a " not in row
    assert "Removed developer@acme.test (Developer) from the organization" in row


def test_actions_through_an_admin_key_say_so(client, personas):
    from accounts.models import AdminApiKey

    key, _ = services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="ci"
    )
    key = AdminApiKey.objects.get(pk=key.pk)
    via_key = Actor(user=personas.admin, label=f"Admin API key “ci” ({key.public_id})")
    services.organization_rename(actor=via_key, organization=personas.org, name="By key")
    body = client(personas.admin).get(reverse("workspaces:audit_log")).content.decode()
    assert f"through Admin API key “ci” ({key.public_id})" in body


def test_search_finds_actor_action_and_target(client, personas, admin_actor):
    from workspaces import services as workspace_services

    production = workspace_services.workspace_create(
        actor=admin_actor, organization=personas.org, name="Production", display_color="#D97757"
    )
    services.organization_rename(
        actor=Actor.for_user(personas.billing), organization=personas.org, name="Renamed"
    )
    c = client(personas.admin)

    def actions(**query):
        return [
            row.event.action
            for row in c.get(reverse("workspaces:audit_log"), query).context["rows"]
        ]

    assert actions(q="billing@acme") == ["organization.rename"]  # actor
    assert actions(q="archived") == []
    assert actions(q="renamed") == ["organization.rename"]  # the action's label
    assert actions(q="PRODUCTION") == ["workspace.create"]  # the target's name
    assert actions(q=production.public_id) == ["workspace.create"]  # its id


def test_date_range_is_in_the_viewer_time_zone(client, personas, settings):
    from datetime import UTC, datetime

    from accounts.models import User

    admin = Actor.for_user(personas.admin)
    services.organization_rename(actor=admin, organization=personas.org, name="Late")
    event = AuditEvent.objects.get()
    # 02:00 UTC on 10 March is still 9 March in Los Angeles. (Events are append-only, so
    # the test moves it back in time in SQL.)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET created_at = %s WHERE id = %s",
            [datetime(2026, 3, 10, 2, 0, tzinfo=UTC), event.pk],
        )
    User.objects.filter(pk=personas.admin.pk).update(time_zone="America/Los_Angeles")
    c = client(personas.admin)
    url = reverse("workspaces:audit_log")
    on_ninth = c.get(url, {"start": "2026-03-09", "end": "2026-03-09"})
    assert len(on_ninth.context["rows"]) == 1
    body = on_ninth.content.decode()
    assert "9 Mar 2026, 19:00:00 PDT" in body
    assert "Days run from midnight to midnight in America/Los_Angeles" in body
    assert c.get(url, {"start": "2026-03-10"}).context["rows"] == []
    backwards = c.get(url, {"start": "2026-03-10", "end": "2026-03-01"})
    assert "The last day is before the first." in backwards.content.decode()
    far = c.get(url, {"start": "9999-01-01"})
    assert far.status_code == 200 and "years 2000 to 2999" in far.content.decode()


def test_csv_export_of_the_filtered_log_escapes_formulas(client, personas, admin_actor):
    import csv
    import io

    from workspaces import services as workspace_services

    workspace_services.workspace_create(
        actor=admin_actor,
        organization=personas.org,
        name='=HYPERLINK("http://evil.test","x")',
        display_color="#D97757",
    )
    services.organization_rename(actor=admin_actor, organization=personas.org, name="Plain")
    response = client(personas.admin).get(
        reverse("workspaces:audit_log"), {"format": "csv", "action": "workspace.create"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == ["Time", "Actor", "Actor e-mail", "Acting through", "Action", "Change"]
    assert len(rows) == 2  # the filter holds
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Target"] == """'=HYPERLINK("http://evil.test","x")"""
    assert row["Action"] == "Workspace created" and row["Actor e-mail"] == "admin@acme.test"
    assert row["Time"][:4].isdigit() and row["Time"][19] in "+-Z"


def test_the_log_queries_are_pinned_with_many_events(client, personas, django_assert_num_queries):
    _scenario(personas)
    for i in range(60):
        services.organization_rename(
            actor=Actor.for_user(personas.admin), organization=personas.org, name=f"N {i}"
        )
    c = client(personas.admin)
    url = reverse("workspaces:audit_log")
    first = c.get(url)
    kinds = {row.event.target_type for row in first.context["rows"]}
    cursor = first.context["page"].next_cursor
    second = c.get(url, {"cursor": cursor})
    kinds_second = {row.event.target_type for row in second.context["rows"]}
    assert len(kinds_second) >= 6
    # The request's own (session, user, membership, sidebar, the actor filter's members),
    # the page of events, then one query per kind of target on the page.
    with django_assert_num_queries(BASE_QUERIES + 1 + len(kinds)):
        c.get(url)
    with django_assert_num_queries(BASE_QUERIES + 1 + len(kinds_second)):
        c.get(url, {"cursor": cursor})


BASE_QUERIES = 6


def test_older_and_newer_links_keep_the_filters(client, personas):
    for i in range(55):
        services.organization_rename(
            actor=Actor.for_user(personas.admin), organization=personas.org, name=f"N {i}"
        )
    c = client(personas.admin)
    url = reverse("workspaces:audit_log")
    first = c.get(url, {"action": "organization.rename"}).content.decode()
    older = first[first.index('rel="next" href="') + len('rel="next" href="') :]
    older = older[: older.index('"')].replace("&amp;", "&")
    assert older.startswith("?action=organization.rename&cursor=")
    second = c.get(url + older)
    assert len(second.context["rows"]) == 5
    body = second.content.decode()
    newer = body[body.index('rel="prev" href="') + len('rel="prev" href="') :]
    newer = newer[: newer.index('"')].replace("&amp;", "&")
    back = c.get(url + newer)
    assert [r.event.pk for r in back.context["rows"]] == [
        r.event.pk for r in c.get(url, {"action": "organization.rename"}).context["rows"]
    ]


def test_key_status_changes_recorded_as_set_status_read_as_disable_and_enable(personas):
    """Events recorded before a key's status change was named by its service
    (`<kind>.set_status`) take the name of what they did, and read as before."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from accounts import audit

    migration = importlib.import_module("accounts.migrations.0008_audit_actions_key_disable_enable")
    apps = (
        MigrationExecutor(connection)
        .loader.project_state(("accounts", "0008_audit_actions_key_disable_enable"))
        .apps
    )
    recorded = [
        AuditEvent.objects.create(
            organization=personas.org,
            actor_label="admin@acme.test",
            action=f"{kind}.set_status",
            target_type=kind,
            target_id="k",
            before={"status": "active" if status == "inactive" else "inactive"},
            after={"status": status},
        )
        for kind in ("api_key", "admin_key", "gateway_token")
        for status in ("inactive", "active")
    ]
    migration.split_set_status(apps, None)
    events = AuditEvent.objects.filter(pk__in=[event.pk for event in recorded]).order_by("id")
    assert [(event.action, audit.describe(event)) for event in events] == [
        ("api_key.disable", "Disabled"),
        ("api_key.enable", "Enabled"),
        ("admin_key.disable", "Disabled"),
        ("admin_key.enable", "Enabled"),
        ("gateway_token.disable", "Disabled"),
        ("gateway_token.enable", "Enabled"),
    ]
    migration.join_set_status(apps, None)
    assert set(events.values_list("action", flat=True)) == {
        "api_key.set_status",
        "admin_key.set_status",
        "gateway_token.set_status",
    }
