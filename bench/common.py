"""What the benchmarks share: Django set up on this project, a log line with the time since
the start, the machine's load, and a PostgreSQL database of the benchmark's own, created if
missing, migrated and emptied.

A benchmark imports this first (`from bench import common`), before any model."""

import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# Development mode for plain HTTP and a key; DEBUG itself is switched off below, as in production.
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from psycopg import sql  # noqa: E402

from billing.catalog import load_catalog  # noqa: E402

STARTED = time.perf_counter()


def say(message: str = "") -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}" if message else "", flush=True)


def refuse(message: str) -> None:
    """Stop before touching anything, with exit status 2."""
    print(f"{Path(sys.argv[0]).name}: {message}", file=sys.stderr)
    sys.exit(2)


def elapsed() -> float:
    return time.perf_counter() - STARTED


def load_average() -> str:
    return ", ".join(f"{n:.2f}" for n in os.getloadavg())


def busy() -> str:
    """A warning when other processes compete for the CPUs, else nothing."""
    minute, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if minute < cpus * 0.75:
        return ""
    return (
        f"the machine is busy (load {minute:.2f} on {cpus} CPUs): latencies, p99 above all, "
        "include time spent waiting for a CPU"
    )


def connect_params(dbname: str | None = None) -> dict:
    """psycopg's connection arguments for the configured database (or `dbname` on it)."""
    db = settings.DATABASES["default"]
    params = {
        "dbname": dbname or db["NAME"],
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    return {k: v for k, v in params.items() if v}


def prepare_database(example: str) -> str:
    """Create (if missing), migrate and empty the benchmark's database, then load the model
    catalog again (`flush` empties what the data migrations filled). It must be PostgreSQL
    and its name must contain "bench" (`example` is the name suggested otherwise). Returns
    the server's version."""
    if connection.vendor != "postgresql":
        refuse(
            f"this benchmark needs PostgreSQL; the database is {connection.vendor}. Set "
            f"DATABASE_URL=postgres://postgres@127.0.0.1:5432/{example}"
        )
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name.lower():
        refuse(
            f"the database {name!r} would be emptied; use a database of its own whose name "
            f"contains 'bench', e.g. {example}"
        )
    with psycopg.connect(**connect_params("postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created database {name}")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    load_catalog()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return cursor.fetchone()[0].split(" on ")[0]


# -- pages --------------------------------------------------------------------------------------


def summary(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in the samples' unit."""
    return statistics.median(samples), statistics.quantiles(samples, n=20, method="inclusive")[-1]


def fetch(client: Client, url: str, params: dict) -> bytes:
    response = client.get(url, params)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} {params} answered {response.status_code}")
    return response.content


def time_page(client: Client, url: str, params: dict, *, warmup: int, repeat: int) -> list[float]:
    """Milliseconds of `repeat` fetches, after `warmup` untimed ones."""
    for _ in range(warmup):
        fetch(client, url, params)
    gc.collect()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fetch(client, url, params)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def page_queries(client: Client, url: str, params: dict) -> list[tuple[float, str]]:
    """The page's SQL as (milliseconds, statement), slowest first."""
    with CaptureQueriesContext(connection) as captured:
        fetch(client, url, params)
    return sorted(((float(q["time"]) * 1000, q["sql"]) for q in captured), reverse=True)
