"""Adding a workspace: only organization admins, names and colours, the limit of 100
active workspaces (held under concurrent requests), one audit event."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent
from accounts.roles import OrgRole
from tests.factories import MemberFactory, OrganizationFactory, WorkspaceFactory
from tests.helpers import create_workspace
from workspaces import services
from workspaces.models import MAX_ACTIVE_WORKSPACES, Workspace


@pytest.mark.parametrize("who", ["billing", "developer", "user"])
def test_only_org_admins_create(client, personas, who):
    response = client(getattr(personas, who)).post(
        reverse("workspaces:workspace_create"), {"name": "X", "display_color": "#3B82F6"}
    )
    assert response.status_code == 403
    assert not Workspace.objects.filter(name="X").exists()


def test_admin_creates_with_htmx(client, personas, htmx):
    response = client(personas.admin).post(
        reverse("workspaces:workspace_create"),
        {"name": "Research", "display_color": "#7C6FE0"},
        **htmx,
    )
    assert response.status_code == 204
    assert "workspaces:changed" in response["HX-Trigger"]
    workspace = Workspace.objects.get(name="Research")
    assert workspace.display_color == "#7C6FE0" and workspace.organization == personas.org


def test_create_without_htmx_redirects_to_list(client, personas):
    response = client(personas.admin).post(
        reverse("workspaces:workspace_create"), {"name": "Plain", "display_color": "#7C6FE0"}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspaces:workspace_list"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "display_color": "#7C6FE0"}, "Enter a name for the workspace."),
        ({"name": "   ", "display_color": "#7C6FE0"}, "Enter a name for the workspace."),
        ({"name": "x" * 41, "display_color": "#7C6FE0"}, "at most 40 characters"),
        ({"name": "Fine", "display_color": "#000000"}, "Choose one of the colours shown."),
    ],
)
def test_create_errors_stay_in_the_modal_and_keep_input(client, personas, htmx, data, message):
    response = client(personas.admin).post(reverse("workspaces:workspace_create"), data, **htmx)
    body = response.content.decode()
    assert response.status_code == 200 and "<dialog" in body and message in body
    if data["name"].strip():
        assert f'value="{data["name"]}"' in body
    assert Workspace.objects.filter(organization=personas.org).count() == 1


def test_limit_error_shows_in_modal(client, personas, htmx):
    WorkspaceFactory.create_batch(99, organization=personas.org)
    response = client(personas.admin).post(
        reverse("workspaces:workspace_create"),
        {"name": "One more", "display_color": "#7C6FE0"},
        **htmx,
    )
    assert b"limit of 100 workspaces" in response.content
    assert b'value="One more"' in response.content


def test_names_with_html_render_escaped(client, personas, htmx):
    client(personas.admin).post(
        reverse("workspaces:workspace_create"),
        {"name": "<b>bold</b>", "display_color": "#7C6FE0"},
        **htmx,
    )
    page = client(personas.admin).get(reverse("workspaces:workspace_list")).content
    assert b"<b>bold</b>" not in page and b"&lt;b&gt;bold&lt;/b&gt;" in page


def test_create_workspace_records_event(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor, name="  Production  ")
    assert workspace.name == "Production" and workspace.public_id.startswith("wrkspc_")
    assert workspace.created_by == personas.admin
    event = AuditEvent.objects.get()
    assert (event.action, event.target_id) == ("workspace.create", workspace.public_id)


@pytest.mark.parametrize("name", ["", "   ", "x" * 41])
def test_bad_names_are_refused(personas, admin_actor, name):
    with pytest.raises(ValidationError):
        create_workspace(personas.org, admin_actor, name=name)
    assert Workspace.objects.filter(organization=personas.org).count() == 1


def test_forty_unicode_characters_are_fine(personas, admin_actor):
    name = "日本語のワークスペース🚀" + "é" * 28
    assert len(name) == 40
    assert create_workspace(personas.org, admin_actor, name=name).name == name


def test_any_hex_colour_is_accepted_and_others_refused(personas, admin_actor):
    assert create_workspace(personas.org, admin_actor, color="#12ab56").display_color == "#12AB56"
    for color in ("red", "#12345", "#1234567", "#12345G"):
        with pytest.raises(ValidationError, match="#RRGGBB"):
            create_workspace(personas.org, admin_actor, color=color)


def test_one_default_workspace_per_organization_in_the_database(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.create(organization=personas.org, name="Second", is_default=True)


def test_limit_of_100_active_workspaces(personas, admin_actor):
    WorkspaceFactory.create_batch(MAX_ACTIVE_WORKSPACES - 1, organization=personas.org)
    with pytest.raises(ValidationError, match="limit of 100"):
        create_workspace(personas.org, admin_actor)
    archived = Workspace.objects.filter(organization=personas.org, is_default=False).first()
    services.workspace_archive(actor=admin_actor, workspace=archived)
    assert create_workspace(personas.org, admin_actor)  # archived ones don't count


def test_limit_is_per_organization(personas, admin_actor):
    WorkspaceFactory.create_batch(MAX_ACTIVE_WORKSPACES - 1, organization=personas.other_org)
    assert create_workspace(personas.org, admin_actor)


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


def test_a_workspace_without_a_colour_is_clay(personas, admin_actor):
    from workspaces.models import WorkspaceColor

    workspace = services.workspace_create(
        actor=admin_actor, organization=personas.org, name="Uncoloured"
    )
    assert workspace.display_color == WorkspaceColor.CLAY == "#D97757"


@pytest.mark.parametrize("name", ["Production", "production", "  PRODUCTION "])
def test_a_second_active_workspace_of_the_same_name_is_refused(personas, admin_actor, name):
    create_workspace(personas.org, admin_actor, name="Production")
    with pytest.raises(ValidationError) as refused:
        create_workspace(personas.org, admin_actor, name=name)
    assert refused.value.error_dict["name"][0].code == "workspace_name_taken"
    assert "already a workspace named" in str(refused.value)
    assert (
        Workspace.objects.filter(organization=personas.org, name__iexact="production").count() == 1
    )
    assert AuditEvent.objects.filter(action="workspace.create").count() == 1


def test_the_default_workspace_name_is_taken_too(personas, admin_actor):
    with pytest.raises(ValidationError, match="already a workspace named"):
        create_workspace(personas.org, admin_actor, name="default")


def test_names_are_free_again_after_archiving_and_in_other_organizations(personas, admin_actor):
    first = create_workspace(personas.org, admin_actor, name="Production")
    services.workspace_archive(actor=admin_actor, workspace=first)
    assert create_workspace(personas.org, admin_actor, name="Production")
    outsider = Actor.for_user(personas.outsider)
    assert create_workspace(personas.other_org, outsider, name="Production")


def test_the_database_refuses_a_duplicate_active_name(personas):
    WorkspaceFactory(organization=personas.org, name="Production")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkspaceFactory(organization=personas.org, name="PRODUCTION")
    archived = WorkspaceFactory(organization=personas.other_org, name="Twin")
    Workspace.objects.filter(pk=archived.pk).update(archived_at=archived.created_at)
    assert WorkspaceFactory(organization=personas.other_org, name="Twin")


def test_a_taken_name_shows_in_the_dialog(client, personas, htmx):
    c = client(personas.admin)
    url = reverse("workspaces:workspace_create")
    assert c.post(url, {"name": "Research", "display_color": "#7C6FE0"}, **htmx).status_code == 204
    again = c.post(url, {"name": "research", "display_color": "#7C6FE0"}, **htmx)
    body = again.content.decode()
    assert again.status_code == 200 and "<dialog" in body
    assert "There is already a workspace named “research”" in body
    assert Workspace.objects.filter(organization=personas.org, name__iexact="research").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_one_of_two_simultaneous_creations_of_a_name_wins():
    org = OrganizationFactory()
    admin = MemberFactory(organization=org, role=OrgRole.ADMIN).user
    barrier = threading.Barrier(2)
    outcomes = []

    def worker() -> None:
        try:
            barrier.wait()
            services.workspace_create(
                actor=Actor.for_user(admin), organization=org, name="Twin", display_color="#3B82F6"
            )
            outcomes.append("created")
        except ValidationError as refused:
            outcomes.append(refused.error_dict["name"][0].code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "workspace_name_taken"]
