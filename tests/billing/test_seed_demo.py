"""`seed_demo`: the demo organization, loaded once, with ninety days of usage rolled up.

Seeding is the slowest thing the suite does, so one test seeds once and checks all of it,
then seeds again to check that a second run changes nothing and repairs a missing staff
account."""

import io

from django.core.management import call_command
from django.db.models import Max

from accounts.models import Organization, OrganizationMember, User
from billing.models import RefusalMinute, UsageDaily, UsageRecord
from workspaces.models import ApiKey


def _check_people() -> None:
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


def _check_ninety_days_of_usage() -> None:
    first = UsageRecord.objects.order_by("created_at").first().created_at
    last = UsageRecord.objects.order_by("created_at").last().created_at
    assert (last - first).days >= 85
    assert UsageDaily.objects.values("day").distinct().count() >= 60
    assert RefusalMinute.objects.exists()
    rolled = sum(d.cost_cents for d in UsageDaily.objects.all())
    assert rolled == sum(r.cost_cents for r in UsageRecord.objects.all())


def _check_keys_were_last_used_with_their_last_request() -> None:
    last_requests = dict(
        UsageRecord.objects.values("api_key_id")
        .annotate(last=Max("created_at"))
        .values_list("api_key_id", "last")
    )
    assert last_requests
    for key in ApiKey.objects.filter(organization__name="Acme Corp"):
        assert key.last_used_at == last_requests.get(key.pk), key.name


def _check_staff(out: str) -> None:
    staff = User.objects.get(email="staff@example.com")
    assert staff.is_staff and staff.is_superuser
    assert staff.check_password("console-demo")
    assert not OrganizationMember.objects.filter(user=staff).exists()
    assert "staff@example.com" in out and "/admin/" in out


def test_seed_demo(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    _check_people()
    _check_ninety_days_of_usage()
    _check_keys_were_last_used_with_their_last_request()
    _check_staff(out.getvalue())
    assert "console-demo" in out.getvalue()
    records = UsageRecord.objects.count()

    # Again, on a demo database from before the staff account existed.
    User.objects.filter(email="staff@example.com").delete()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert Organization.objects.filter(name="Acme Corp").count() == 1
    assert UsageRecord.objects.count() == records
    assert "already loaded" in out.getvalue()
    _check_people()
    _check_staff(out.getvalue())
