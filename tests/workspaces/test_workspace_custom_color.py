"""The workspace dialog offers the palette and a custom colour, any #RRGGBB."""

from django.urls import reverse

from tests.factories import WorkspaceFactory
from workspaces.models import Workspace


def test_create_with_a_custom_colour(client, personas, htmx):
    admin_client = client(personas.admin)
    url = reverse("workspaces:workspace_create")
    response = admin_client.post(
        url, {"name": "Custom", "display_color": "custom", "custom_color": "#0a1b2c"}, **htmx
    )
    assert response.status_code == 204
    assert Workspace.objects.get(name="Custom").display_color == "#0A1B2C"
    refused = admin_client.post(
        url, {"name": "Bad", "display_color": "custom", "custom_color": "blue"}, **htmx
    )
    assert refused.status_code == 200 and "#RRGGBB" in refused.content.decode()
    assert not Workspace.objects.filter(name="Bad").exists()


def test_editing_a_custom_colour_keeps_it_chosen(client, personas, htmx):
    admin_client = client(personas.admin)
    workspace = WorkspaceFactory(organization=personas.org, display_color="#123456")
    dialog = admin_client.get(
        reverse("workspaces:workspace_edit", args=[workspace.public_id]), **htmx
    ).content.decode()
    assert 'value="custom" checked' in dialog and 'value="#123456"' in dialog
