"""Settings > Organization: its ID to copy, the members' role, its usage tier."""

from django.urls import reverse


def test_organization_page_shows_id_with_copy_button(client, personas):
    response = client(personas.user).get(reverse("billing:organization"))
    assert str(personas.org.id).encode() in response.content
    assert b"data-copy" in response.content


def test_organization_page_shows_usage_tier(client, personas):
    response = client(personas.developer).get(reverse("billing:organization"))
    assert b"Tier 1" in response.content and b"$100.00" in response.content
