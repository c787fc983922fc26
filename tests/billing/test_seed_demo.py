"""`seed_demo`: the demo organization, loaded once, with ninety days of usage rolled up."""

import io

from django.core.management import call_command

from accounts.models import Organization, OrganizationMember, User
from billing.models import RefusalMinute, UsageDaily, UsageRecord


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


def test_seed_demo_backfills_ninety_days(db):
    call_command("seed_demo", stdout=io.StringIO())
    first = UsageRecord.objects.order_by("created_at").first().created_at
    last = UsageRecord.objects.order_by("created_at").last().created_at
    assert (last - first).days >= 85
    assert UsageDaily.objects.values("day").distinct().count() >= 60
    assert RefusalMinute.objects.exists()
    rolled = sum(d.cost_cents for d in UsageDaily.objects.all())
    assert rolled == sum(r.cost_cents for r in UsageRecord.objects.all())


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


def test_seed_demo_keys_were_last_used_with_their_last_request(db):
    from django.db.models import Max

    from workspaces.models import ApiKey

    call_command("seed_demo", stdout=io.StringIO())
    last_requests = dict(
        UsageRecord.objects.values("api_key_id")
        .annotate(last=Max("created_at"))
        .values_list("api_key_id", "last")
    )
    assert last_requests
    for key in ApiKey.objects.filter(organization__name="Acme Corp"):
        assert key.last_used_at == last_requests.get(key.pk), key.name
