"""Benchmark: the Admin API's lists, against a target of 20 ms median each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_bench .venv/bin/python bench/admin_api.py

PostgreSQL only; the database named in DATABASE_URL is created if missing, migrated and
emptied at every run, so its name must contain "bench". One organization gets 100 workspaces,
1,000 members (a tenth of them explicit workspace members), 1,000 invites, 100,000 API keys
(loaded with COPY), workspace limits, pending increase requests and a month of usage. Each list
is fetched through django.test.Client with an Admin key, 5 times to warm up and 30 times
timed, at the SDK's default page size and at 100; the median, p95 and query count of each are
printed with PASS or FAIL against 20 ms, with the CPU time the benchmark's process spent per
request and the Python function calls of one request (what the code costs, whatever else the
machine runs: the calls are counted the same on a busy machine), beside the floor: the
organization endpoint, which authenticates and answers one small object, measured in the same
run. The exit status is 0 unless something broke.
See docs/performance.md.
"""

import cProfile
import io
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import busy, load_average, prepare_database, say, summary, time_page

# isort: split

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import Invite, OrganizationMember, User
from accounts.roles import OrgRole, WorkspaceRole
from billing import services as billing_services
from billing.models import Model, ModelGroup, UsageDaily
from console.ids import new_id
from console.secrets import hash_secret
from workspaces.models import ApiKey, Workspace, WorkspaceColor, WorkspaceMember
from workspaces.services import organization_create, workspace_create

TARGET_MS = 20.0
REPEAT = 30
WARMUP = 5
WORKSPACES = 99  # and the Default: the most an organization may have
MEMBERS = 1_000
INVITES = 1_000
KEYS = 100_000


def _copy(model, columns: list[str], rows) -> None:
    """Load `rows` into `model`'s table with COPY."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    table = model._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy,
    ):
        copy.write(buffer.read())


def build() -> tuple[str, list[Workspace]]:
    admin_actor = Actor.system("bench")
    organization = organization_create(
        actor=admin_actor, name="Bench Org", admin_email="admin@bench.test"
    )
    admin = User.objects.get(email="admin@bench.test")
    actor = Actor.for_user(admin)
    workspaces = [
        workspace_create(
            actor=actor,
            organization=organization,
            name=f"Workspace {i}",
            display_color=WorkspaceColor.TEAL,
            tags={"team": f"t{i % 7}"},
        )
        for i in range(WORKSPACES)
    ]
    now = datetime.now(UTC)
    users = User.objects.bulk_create(
        User(email=f"member{i}@bench.test", name=f"Member {i}", public_id=new_id("user_"))
        for i in range(MEMBERS)
    )
    memberships = OrganizationMember.objects.bulk_create(
        OrganizationMember(organization=organization, user=user, role=OrgRole.DEVELOPER)
        for user in users
    )
    WorkspaceMember.objects.bulk_create(
        WorkspaceMember(
            workspace=workspaces[i % WORKSPACES],
            user=membership.user,
            organization_member=membership,
            role=WorkspaceRole.DEVELOPER,
        )
        for i, membership in enumerate(memberships[: MEMBERS // 10])
    )
    Invite.objects.bulk_create(
        Invite(
            organization=organization,
            email=f"invitee{i}@bench.test",
            role=OrgRole.USER,
            token_hash=hash_secret(f"invite-{i}"),
            expires_at=now + timedelta(days=21 - i % 30),
            public_id=new_id("invite_", now=now.timestamp() - i),
        )
        for i in range(INVITES)
    )
    start = now.timestamp() - KEYS
    _copy(
        ApiKey,
        [
            "public_id",
            "organization_id",
            "workspace_id",
            "name",
            "status",
            "hint",
            "secret_hash",
            "created_by_id",
            "created_at",
        ],
        (
            (
                new_id("apikey_", now=start + i),
                organization.pk,
                workspaces[i % WORKSPACES].pk,
                f"key {i}",
                "active",
                "sk-ant-api03-abc...xyz",
                f"{i:064x}",
                admin.pk,
                datetime.fromtimestamp(start + i, UTC).isoformat(),
            )
            for i in range(KEYS)
        ),
    )
    group = ModelGroup.objects.get(slug="sonnet-4")
    for workspace in workspaces[:20]:
        billing_services.workspace_rate_limit_set(
            actor=actor,
            workspace=workspace,
            model_group=group,
            limiter="requests_per_minute",
            value=10,
        )
        billing_services.workspace_spend_limit_set(
            actor=actor, workspace=workspace, amount_cents=5_000
        )
    for i, workspace in enumerate(workspaces[:20]):  # users[i] is a developer of workspace i
        billing_services.spend_limit_increase_request_create(
            actor=Actor.for_user(users[i]), workspace=workspace, amount_cents=6_000
        )
    keys = list(ApiKey.objects.filter(organization=organization).order_by("public_id")[:200])
    models = list(Model.objects.all())
    UsageDaily.objects.bulk_create(
        UsageDaily(
            organization=organization,
            workspace_id=key.workspace_id,
            api_key=key,
            model=models[k % len(models)],
            day=(now - timedelta(days=d)).date(),
            requests=10,
            uncached_input_tokens=1_000,
            output_tokens=100,
            cost_cents=1,
        )
        for d in range(30)
        for k, key in enumerate(keys)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    _key, secret = account_services.admin_key_create(
        actor=actor, organization=organization, name="bench"
    )
    return secret, workspaces


def _python_calls(client: Client, url: str, query: dict) -> int:
    """The Python function calls of one request: what the code does, counted the same
    however busy the machine is."""
    profile = cProfile.Profile()
    profile.enable()
    client.get(url, query)
    profile.disable()
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined]


def main() -> None:
    version = prepare_database("console_bench")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    say(f"{version}; load {load_average()}")
    secret, workspaces = build()
    say("data loaded")
    client = Client(HTTP_X_API_KEY=secret)
    workspace = workspaces[0].public_id
    month_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z")
    week_ago = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT00:00:00Z")
    lists = [
        ("organization (the floor)", "/v1/organizations/me", {}),
        ("users", "/v1/organizations/users", {}),
        ("invites", "/v1/organizations/invites", {}),
        ("workspaces", "/v1/organizations/workspaces", {}),
        ("members", f"/v1/organizations/workspaces/{workspace}/members", {}),
        ("api keys", "/v1/organizations/api_keys", {}),
        ("api keys, one workspace", "/v1/organizations/api_keys", {"workspace_id": workspace}),
        ("rate limits", "/v1/organizations/rate_limits", {}),
        (
            "workspace rate limits",
            f"/v1/organizations/workspaces/{workspace}/rate_limits",
            {"include_inherited": "true"},
        ),
        ("spend limits", "/v1/organizations/spend_limits", {}),
        ("effective spend limits", "/v1/organizations/spend_limits/effective", {}),
        ("increase requests", "/v1/organizations/spend_limit_increase_requests", {}),
        (
            "usage report, 7 days",
            "/v1/organizations/usage_report/messages",
            {"starting_at": month_ago},
        ),
        ("cost report, 7 days", "/v1/organizations/cost_report", {"starting_at": month_ago}),
        (
            "analytics usage report, 7 days",
            "/v1/organizations/analytics/usage_report",
            {"starting_at": month_ago},
        ),
        (
            "analytics usage by actor, 7 days",
            "/v1/organizations/analytics/usage",
            {"starting_at": week_ago, "group_by[]": ["actor", "model"]},
        ),
    ]
    if warning := busy():
        say(f"warning: {warning}")
    failed = 0
    print(
        f"\n{'list':<32} {'limit':>5} {'median':>9} {'p95':>9} {'cpu':>8} {'calls':>7}"
        f" {'queries':>8}  target {TARGET_MS:.0f} ms"
    )
    for name, url, params in lists:
        for limit in (None, 100):
            query = {**params, **({"limit": limit} if limit else {})}
            if limit and any(word in name for word in ("report", "rate limits", "floor", "actor")):
                continue
            began = time.process_time()
            samples = time_page(client, url, query, warmup=WARMUP, repeat=REPEAT)
            cpu = (time.process_time() - began) * 1000 / (WARMUP + REPEAT)
            median, p95 = summary(samples)
            with CaptureQueriesContext(connection) as captured:
                client.get(url, query)
            queries = len(captured)
            calls = _python_calls(client, url, query)
            verdict = "PASS" if median < TARGET_MS else "FAIL"
            failed += verdict == "FAIL"
            print(
                f"{name:<32} {limit or 'default':>5} {median:7.1f}ms {p95:7.1f}ms "
                f"{cpu:6.1f}ms {calls:>7,} {queries:>8}  {verdict}"
            )
    say(f"done; load {load_average()}; {failed} list(s) over {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
