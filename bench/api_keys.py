"""Benchmark: Settings > API Keys and API key authentication at 1,000 and 1,000,000 keys.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_bench .venv/bin/python bench/api_keys.py

PostgreSQL only. The database named in DATABASE_URL is created if missing, migrated, and
emptied (`flush`) at every run: it belongs to the benchmark, so its name must contain "bench".
One organization gets 1,000 keys (loaded with COPY), the page is measured, then the same
organization is filled to 1,000,000 keys and the page is measured again. The first page and a
deep page (a signed cursor pointing at the middle of the table) are each fetched 30 times after
a warm-up, through django.test.Client as the organization admin. Then 200 real keys are created
with the service and authenticated in a loop for a few seconds. The target is a 1M/1k ratio of
median page times under 1.5; PASS/FAIL is printed, the exit status is 0 unless something broke.
See docs/performance.md.
"""

import gc
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Sets Django up, so it comes before anything that imports a model.
from bench.common import (
    elapsed,
    fetch,
    load_average,
    page_queries,
    prepare_database,
    say,
    summary,
    time_page,
)

# isort: split

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import OrganizationMember
from console.ids import new_id
from workspaces import selectors
from workspaces.models import ApiKey, Workspace, WorkspaceColor
from workspaces.services import (
    api_key_authenticate,
    api_key_create,
    organization_create,
    workspace_create,
)

SMALL = 1_000
LARGE = 1_000_000
REPEAT = 30
WARMUP = 5
AUTH_KEYS = 200
AUTH_SECONDS = 5.0
EXTRA_WORKSPACES = 4
STEP_SECONDS = 30  # creation times of loaded keys are 30 s apart, oldest first
TARGET_RATIO = 1.5
PAGE_SIZE = 50

ROW_ID = re.compile(rb'<tr data-key="[^"]*" id="(apikey_[0-9A-Za-z]{24})"')


# -- data -----------------------------------------------------------------------------------

COLUMNS = [
    "public_id",
    "organization_id",
    "workspace_id",
    "name",
    "status",
    "hint",
    "secret_hash",
    "created_by_id",
    "created_at",
    "expires_at",
]


class Loader:
    """Appends keys i = 0, 1, 2, ... with COPY; key i was created at T0 + i * STEP."""

    def __init__(self, organization, workspaces, admin) -> None:
        self.organization_id = organization.pk
        self.workspace_ids = [w.pk for w in workspaces]
        self.admin_id = admin.pk
        self.t0 = time.time() - (LARGE + 1_000) * STEP_SECONDS
        self.count = 0
        self.middle: dict[int, str] = {}  # total size -> public id of the key in the middle

    def fill_to(self, total: int) -> None:
        start, began = self.count, time.perf_counter()
        wanted_middles = {size // 2: size for size in (SMALL, LARGE)}
        copy_sql = f"COPY {ApiKey._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for i in range(start, total):
                    at = self.t0 + i * STEP_SECONDS
                    public_id = new_id("apikey_", now=at)
                    if i in wanted_middles:
                        self.middle[wanted_middles[i]] = public_id
                    created_at = datetime.fromtimestamp(at, UTC)
                    status = "archived" if i % 20 == 0 else "inactive" if i % 20 == 1 else "active"
                    expires_at = created_at + timedelta(days=90) if i % 10 == 5 else None
                    copy.write_row(
                        (
                            public_id,
                            self.organization_id,
                            self.workspace_ids[i % len(self.workspace_ids)],
                            f"Key {i}",
                            status,
                            f"sk-ant-api03-{i % 1000:03d}...{i % 10000:04d}",
                            f"{i:064x}",
                            self.admin_id,
                            created_at,
                            expires_at,
                        )
                    )
                    done = i + 1 - start
                    if done % 100_000 == 0:
                        rate = done / (time.perf_counter() - began)
                        say(f"  loaded {i + 1:,} keys ({rate:,.0f} rows/s)")
        self.count = total
        say(f"loaded to {total:,} keys in {time.perf_counter() - began:.1f}s; VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {ApiKey._meta.db_table}")


def build_organization():
    organization = organization_create(
        actor=Actor.system("bench"),
        name="Bench Organization",
        admin_email="bench-admin@example.com",
        admin_name="Bench Admin",
    )
    admin = OrganizationMember.objects.get(organization=organization).user
    colors = [WorkspaceColor.CLAY, WorkspaceColor.TEAL, WorkspaceColor.SKY, WorkspaceColor.IRIS]
    for n in range(EXTRA_WORKSPACES):
        workspace_create(
            actor=Actor.for_user(admin),
            organization=organization,
            name=f"Bench workspace {n + 1}",
            display_color=colors[n % len(colors)],
        )
    workspaces = list(Workspace.objects.filter(organization=organization).order_by("id"))
    say(f"organization with admin {admin.email} and {len(workspaces)} workspaces")
    return organization, admin, workspaces


# -- measuring ------------------------------------------------------------------------------


def measure_pages(client: Client, loader: Loader, size: int) -> dict:
    url = reverse("workspaces:api_key_list")
    middle = loader.middle[size]
    deep = {"cursor": signing.dumps(middle, salt="console.pagination")}

    first_html = fetch(client, url, {})
    first_rows = ROW_ID.findall(first_html)
    deep_rows = ROW_ID.findall(fetch(client, url, deep))
    if len(first_rows) != PAGE_SIZE or len(deep_rows) != PAGE_SIZE:
        raise RuntimeError(f"expected {PAGE_SIZE} rows, got {len(first_rows)}/{len(deep_rows)}")
    if not all(row.decode() < middle for row in deep_rows):
        raise RuntimeError("the deep page does not start after its cursor")

    results = {}
    for label, params in (("first page", {}), ("deep page", deep)):
        median, p95 = summary(time_page(client, url, params, warmup=WARMUP, repeat=REPEAT))
        results[label] = median
        say(f"{label} @{size // 1000:,}k: median {median:.1f} ms, p95 {p95:.1f} ms")
    queries = page_queries(client, url, {})
    total = sum(ms for ms, _ in queries)
    say(f"  first page runs {len(queries)} queries, {total:.1f} ms in the database; slowest:")
    for ms, text in queries[:3]:
        say(f"    {ms:7.1f} ms  {text[:150]}{'...' if len(text) > 150 else ''}")
    results["slowest"] = queries[0]
    return results


def explain_first_page(member: OrganizationMember, middle: str) -> None:
    keys = selectors.api_keys(member, selectors.KeyFilters(), workspaces=None)
    first = keys.order_by("-public_id")[: PAGE_SIZE + 1]
    deep = keys.filter(public_id__lt=middle).order_by("-public_id")[: PAGE_SIZE + 1]
    for label, queryset in (("first page", first), ("deep page", deep)):
        print(f"\nEXPLAIN {label} query (plan only):")
        print("  " + queryset.explain().replace("\n", "\n  "))


def explain_analyze(text: str) -> None:
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the slowest query of the page @1M:")
    print("  " + text)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + text)
        for (line,) in cursor.fetchall():
            print("  " + line)


def measure_authentication(admin, workspaces) -> tuple[float, float]:
    actor = Actor.for_user(admin)
    secrets_ = []
    for n in range(AUTH_KEYS):
        _key, secret = api_key_create(
            actor=actor, workspace=workspaces[n % len(workspaces)], name=f"Auth bench {n}"
        )
        secrets_.append(secret)
    for secret in secrets_:  # warm-up; also records last_used_at, refreshed once a minute
        if api_key_authenticate(secret) is None:
            raise RuntimeError("a fresh key did not authenticate")
    gc.collect()
    latencies = []
    began = time.perf_counter()
    deadline = began + AUTH_SECONDS
    n = 0
    while True:
        t = time.perf_counter()
        if t >= deadline:
            break
        key = api_key_authenticate(secrets_[n % AUTH_KEYS])
        latencies.append((time.perf_counter() - t) * 1_000_000)
        if key is None:
            raise RuntimeError("a key did not authenticate")
        n += 1
    elapsed = time.perf_counter() - began
    return n / elapsed, statistics.median(latencies)


def verdict(label: str, ratio: float) -> bool:
    passed = ratio < TARGET_RATIO
    print(
        f"ratio {label} 1M/1k: {ratio:.2f} (target < {TARGET_RATIO}) {'PASS' if passed else 'FAIL'}"
    )
    return passed


def main() -> None:
    say(f"load average at start: {load_average()}")
    name = settings.DATABASES["default"]["NAME"]
    say(f"database {name} migrated and emptied ({prepare_database('console_bench')})")
    # As in production: no query log kept in memory (DEBUG only adds per-query overhead here).
    settings.DEBUG = False
    organization, admin, workspaces = build_organization()
    member = OrganizationMember.objects.get(organization=organization, user=admin)
    loader = Loader(organization, workspaces, admin)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)

    loader.fill_to(SMALL)
    small = measure_pages(client, loader, SMALL)
    loader.fill_to(LARGE)
    large = measure_pages(client, loader, LARGE)
    explain_first_page(member, loader.middle[LARGE])

    say(f"creating {AUTH_KEYS} keys with api_key_create, authenticating for {AUTH_SECONDS:.0f}s")
    rate, median_us = measure_authentication(admin, workspaces)

    print()
    print(
        f"results ({ApiKey.objects.count():,} keys in the table, {os.cpu_count()} CPUs, "
        f"load {load_average()})"
    )
    for label in ("first page", "deep page"):
        print(f"{label}: @1k {small[label]:.1f} ms, @1M {large[label]:.1f} ms (medians)")
    passed = [verdict(label, large[label] / small[label]) for label in ("first page", "deep page")]
    print(f"authentications per second: {rate:,.0f}")
    print(f"authentication median latency: {median_us:,.0f} µs")
    if not all(passed):
        explain_analyze(large["slowest"][1])
    print(f"\nbenchmark took {elapsed():.0f}s")


if __name__ == "__main__":
    main()
