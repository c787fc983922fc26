"""Gateway tokens: created, disabled, enabled and deleted by staff in the Django admin, each
through its service and recorded in the audit trail (in no organization's)."""

from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent, KeyStatus
from billing import services
from billing.models import GatewayToken


def test_staff_create_a_token_and_see_its_secret_once(client, staff):
    response = client(staff).post(
        reverse("admin:billing_gatewaytoken_add"), {"name": "edge"}, follow=True
    )
    token = GatewayToken.objects.get()
    page = response.content.decode()
    assert "Copy its secret now" in page and GatewayToken.SECRET_PREFIX in page
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
        ("gateway_token.set_status", "staff@console.test"),
        ("gateway_token.set_status", "staff@console.test"),
        ("gateway_token.delete", "staff@console.test"),
    ]


def test_tokens_made_from_code_are_the_operators(db):
    token, secret = services.gateway_token_create(name="bench", actor=Actor.system("bench"))
    assert secret.startswith(GatewayToken.SECRET_PREFIX) and token.created_by is None
    assert AuditEvent.objects.get().actor_label == "bench"
