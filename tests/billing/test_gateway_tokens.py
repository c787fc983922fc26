"""Gateway tokens: created, disabled, enabled and deleted by staff in the Django admin, each
through its service and recorded in the audit trail (in no organization's)."""

import re

from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent, KeyStatus
from billing import services
from billing.gateway import gateway_token_authenticate
from billing.models import GatewayToken


def _readable(cookies) -> str:
    """The cookies' values, with the messages cookie decoded as anyone could (it is signed,
    not encrypted)."""
    values = [morsel.value for morsel in cookies.values()]
    if CookieStorage.cookie_name in cookies:
        storage = CookieStorage(RequestFactory().get("/"))
        decoded = storage._decode(cookies[CookieStorage.cookie_name].value) or []
        values += [str(message) for message in decoded]
    return "\n".join(values)


def test_staff_create_a_token_and_see_its_secret_once_on_the_page(client, staff):
    staff_client = client(staff)
    response = staff_client.post(reverse("admin:billing_gatewaytoken_add"), {"name": "edge"})
    # No secret in a cookie set by the answer, nor kept in the session for a later page.
    kept = _readable(response.cookies) + str(dict(staff_client.session.items()))
    assert GatewayToken.SECRET_PREFIX not in kept
    # The page that answers the form shows it, once, and is not cached.
    assert response.status_code == 200
    page = response.content.decode()
    assert "Copy its secret now" in page
    secret = re.search(r'value="(cgw-[^"]+)"', page).group(1)
    token = GatewayToken.objects.get()
    assert gateway_token_authenticate(secret) == token
    assert "no-store" in response["Cache-Control"]
    later = staff_client.get(reverse("admin:billing_gatewaytoken_changelist"))
    assert secret not in later.content.decode() + _readable(later.cookies)
    event = AuditEvent.objects.get()
    assert (event.action, event.target_id, event.organization_id) == (
        "gateway_token.create",
        token.public_id,
        None,
    )
    assert event.actor_label == "staff@console.test"


def test_admin_actions_go_through_the_services(client, staff):
    token, _secret = services.gateway_token_create(name="edge")
    changelist = reverse("admin:billing_gatewaytoken_changelist")

    def act(action: str) -> str:
        response = client(staff).post(
            changelist, {"action": action, "_selected_action": [token.pk]}, follow=True
        )
        token.refresh_from_db()
        return response.content.decode()

    assert "Disabled 1 key(s)." in act("disable") and token.status == KeyStatus.INACTIVE
    act("enable")
    assert token.status == KeyStatus.ACTIVE
    act("delete_keys")
    assert token.status == KeyStatus.ARCHIVED
    assert "deleting is permanent" in act("enable") and token.status == KeyStatus.ARCHIVED
    assert list(
        AuditEvent.objects.filter(target_id=token.public_id)
        .order_by("id")
        .values_list("action", "actor_label")
    ) == [
        ("gateway_token.create", "operator"),
        ("gateway_token.disable", "staff@console.test"),
        ("gateway_token.enable", "staff@console.test"),
        ("gateway_token.delete", "staff@console.test"),
    ]


def test_tokens_made_from_code_are_the_operators(db):
    token, secret = services.gateway_token_create(name="bench", actor=Actor.system("bench"))
    assert secret.startswith(GatewayToken.SECRET_PREFIX) and token.created_by is None
    assert AuditEvent.objects.get().actor_label == "bench"
