"""Console's Messages API side by side with the upstream itself and with LiteLLM's proxy.

One run starts the fake upstream (`tests/gateway/fake_upstream.py`, a process of its own),
Console (uvicorn, `--workers` processes, PostgreSQL and Redis as in production, settles
queued for the usage worker) and LiteLLM's proxy (the same number of workers, pointed at
the same upstream), then sends the same requests to each:

- added latency, p50 and p99, at concurrency 1 and 32: the answer after 0 ms and after
  20 ms, and streams of 200 events (time to the last byte);
- time to the first streamed byte;
- requests per second at saturation (concurrency 64, answers after 0 ms);
- memory (RSS) per worker, after the run;
- and, first, the two async HTTP clients Console could use upstream, aiohttp and httpx,
  against the upstream directly.

LiteLLM is installed from PyPI (`litellm[proxy]`) into a virtual environment of the
benchmark's own, outside the repository (`--litellm-venv`, by default
~/.cache/console-bench/litellm-venv), created on the first run. It runs without a database:
its virtual keys, spend tracking and rate limits need PostgreSQL and Prisma's engines,
which Prisma downloads at run time from outside the package registries, so they cannot be
installed here; it checks its master key on every request. Console runs with all of its
checks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_bench REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/gateway.py --workers 1
"""

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Sets Django up, so it comes before anything that imports a model.
from bench import common

# isort: split

import aiohttp
import httpx2
import uvloop
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.audit import Actor
from billing import enforcement, limiter, upstreams
from billing import services as billing_services
from billing.models import Limiter, Model, ModelGroup, UsageTier
from workspaces import services as workspace_services
from workspaces.models import Workspace

ROOT = common.ROOT
MODEL = "claude-sonnet-4-5"
LITELLM_KEY = f"sk-{secrets.token_hex(32)}"
DEFAULT_VENV = Path.home() / ".cache" / "console-bench" / "litellm-venv"
FAST = "fake: reply input=20 output=8"
SLOW = "fake: reply input=20 output=8 delay_ms=20"
STREAM = "fake: reply input=20 output=196"  # 196 deltas + 6 other events: 202 events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            common.refuse(f"{what} stopped at start (exit {process.returncode})")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    common.refuse(f"{what} did not start within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def start(command: list[str], env: dict | None = None, log: str = "") -> subprocess.Popen:
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (lives with the process)
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


# -- Setting up --------------------------------------------------------------------------------


def console_key(upstream_url: str) -> str:
    """An organization with limits no benchmark reaches, a key, and the route to the fake."""
    actor = Actor.system("gateway benchmark")
    organization = workspace_services.organization_create(
        actor=actor, name="Bench", admin_email="bench@example.com", admin_password="bench-pw-1"
    )
    billing_services.organization_limits_change(
        actor=actor,
        organization=organization,
        tier=UsageTier.objects.get(name="Custom"),
        overrides=[
            (group, limiter_name, 1_000_000_000)
            for group in ModelGroup.objects.all()
            for limiter_name in Limiter.values
        ],
    )
    workspace = Workspace.objects.get(organization=organization, is_default=True)
    _key, secret = workspace_services.api_key_create(actor=actor, workspace=workspace, name="b")
    upstream = upstreams.upstream_configure(
        name="fake", base_url=upstream_url, credential="fake-upstream-key", max_connections=200
    )
    upstreams.model_route_set(
        model=Model.objects.get(api_name=MODEL), upstream=upstream, upstream_model="fake-model"
    )
    return secret


def litellm_venv(path: Path) -> Path:
    litellm = path / "bin" / "litellm"
    if not litellm.exists():
        common.say(f"installing litellm[proxy] from PyPI into {path}")
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run(
            [str(path / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"], check=True
        )
    return litellm


def litellm_config(upstream_url: str, directory: Path) -> Path:
    config = directory / "litellm-config.json"
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": MODEL,
                        "litellm_params": {
                            "model": "anthropic/fake-model",
                            "api_base": upstream_url,
                            "api_key": "fake-upstream-key",
                        },
                    }
                ],
                "litellm_settings": {"telemetry": False, "drop_params": True},
                "general_settings": {"disable_spend_logs": True},
            }
        )
    )
    return config


# -- Measuring ---------------------------------------------------------------------------------


@dataclass
class Sample:
    total: float  # seconds to the last byte
    first: float  # seconds to the first byte of the body


def body(text: str, *, stream: bool = False) -> bytes:
    return json.dumps(
        {
            "model": MODEL,
            "max_tokens": 256,
            "stream": stream,
            "messages": [{"role": "user", "content": text}],
        }
    ).encode()


async def one(session: aiohttp.ClientSession, url: str, headers: dict, data: bytes) -> Sample:
    began = time.perf_counter()
    async with session.post(url, data=data, headers=headers) as response:
        first = None
        async for _chunk in response.content.iter_any():
            if first is None:
                first = time.perf_counter() - began
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return Sample(time.perf_counter() - began, first or 0.0)


async def load(
    url: str, headers: dict, data: bytes, *, concurrency: int, count: int
) -> list[Sample]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(min(20, count)):
            await one(session, url, headers, data)
        samples: list[Sample] = []
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                samples.append(await one(session, url, headers, data))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


async def saturate(
    url: str, headers: dict, data: bytes, seconds: float
) -> tuple[float, dict[int, int]]:
    """Requests answered 200 per second at concurrency 64, and how many answered otherwise
    (by status): an overloaded server may refuse some, which do not count."""
    connector = aiohttp.TCPConnector(limit=64)
    refused: dict[int, int] = {}
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(50):
            await one(session, url, headers, data)
        done = 0
        until = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < until:
                async with session.post(url, data=data, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        done += 1
                    else:
                        refused[response.status] = refused.get(response.status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        return done / (time.perf_counter() - began), refused


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_per_worker(process: subprocess.Popen, workers: int) -> float:
    """MiB: the resident memory of the server's process tree, per worker."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    pending, total = [process.pid], 0
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024 / workers


# -- The HTTP clients --------------------------------------------------------------------------


async def client_costs(upstream_url: str, count: int) -> None:
    url = f"{upstream_url}/v1/messages"
    headers = {"content-type": "application/json", "x-api-key": "k"}
    common.say("upstream client, direct to the fake upstream: aiohttp against httpx")
    print(f"  {'client':<8} {'case':<22} {'c':>3} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}")
    for case, data in (
        ("answer after 0 ms", body(FAST)),
        ("stream of 200 events", body(STREAM, stream=True)),
    ):
        for concurrency in (1, 32):
            for name in ("aiohttp", "httpx"):
                cpu = time.process_time()
                if name == "aiohttp":
                    samples = await load(url, headers, data, concurrency=concurrency, count=count)
                else:
                    samples = await httpx_load(url, headers, data, concurrency, count)
                cpu_ms = (time.process_time() - cpu) * 1000 / (count + min(20, count))
                totals = [s.total * 1000 for s in samples]
                print(
                    f"  {name:<8} {case:<22} {concurrency:>3} {percentile(totals, 0.5):>8.2f} "
                    f"{percentile(totals, 0.99):>8.2f} {cpu_ms:>11.3f}"
                )


async def httpx_load(
    url: str, headers: dict, data: bytes, concurrency: int, count: int
) -> list[Sample]:
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as client:

        async def request() -> Sample:
            began = time.perf_counter()
            first = None
            async with client.stream("POST", url, content=data, headers=headers) as response:
                async for _chunk in response.aiter_raw():
                    if first is None:
                        first = time.perf_counter() - began
            return Sample(time.perf_counter() - began, first or 0.0)

        for _ in range(min(20, count)):
            await request()
        samples: list[Sample] = []
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                samples.append(await request())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


# -- The engine's calls ------------------------------------------------------------------------


async def engine_calls(secret: str, count: int) -> None:
    """Authorize and settle as the gateway called them before (the synchronous engine in the
    event loop's thread pool) and as it calls them now (the asynchronous twins, on
    redis.asyncio in the loop), in this process on uvloop, against the same Redis, settles
    queued."""
    settings.USAGE_QUEUE = True
    backend = limiter.RedisBackend(os.environ["REDIS_URL"])
    enforcement.use_backend(backend)
    modes = {
        "thread pool": (
            sync_to_async(enforcement.authorize, thread_sensitive=False),
            sync_to_async(enforcement.settle, thread_sensitive=False),
        ),
        "redis.asyncio": (enforcement.aauthorize, enforcement.asettle),
    }
    used = {"input_tokens": 20, "output_tokens": 8}
    common.say("the engine's calls in the gateway process: thread pool against redis.asyncio")
    print(
        f"  {'mode':<14} {'c':>3} {'authorize p50/p99 ms':>21} {'settle p50/p99 ms':>18} {'CPU ms/req':>11}"
    )
    for concurrency in (1, 32):
        for mode, (authorize, settle) in modes.items():
            checks: list[float] = []
            settles: list[float] = []

            async def one(
                authorize=authorize, settle=settle, checks=checks, settles=settles
            ) -> None:
                began = time.perf_counter()
                decision = await authorize(secret, MODEL, 20, 256)
                checks.append(time.perf_counter() - began)
                began = time.perf_counter()
                await settle(decision.reservation_id, used)
                settles.append(time.perf_counter() - began)

            for _ in range(20):
                await one()
            checks.clear()
            settles.clear()
            cpu = time.process_time()
            remaining = count

            async def worker(one=one) -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await one()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            cpu_ms = (time.process_time() - cpu) * 1000 / count
            a = [x * 1000 for x in checks]
            b = [x * 1000 for x in settles]
            print(
                f"  {mode:<14} {concurrency:>3} {percentile(a, 0.5):>10.3f}/{percentile(a, 0.99):<10.3f} "
                f"{percentile(b, 0.5):>8.3f}/{percentile(b, 0.99):<9.3f} {cpu_ms:>11.3f}"
            )
    enforcement.use_backend(None)


# -- The run -----------------------------------------------------------------------------------


def main() -> None:
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=400, help="per case and concurrency")
    parser.add_argument("--seconds", type=float, default=8.0, help="of the saturation run")
    parser.add_argument("--litellm-venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        common.refuse("set REDIS_URL: Console runs as in production, counters in Redis")
    version = common.prepare_database("console_bench")
    backend = limiter.RedisBackend(os.environ["REDIS_URL"])
    backend.reset()
    litellm = litellm_venv(args.litellm_venv)
    common.say(f"PostgreSQL {version}; {args.workers} worker(s) each; load {common.load_average()}")

    runs = Path("/tmp") / f"console-bench-gateway-{os.getpid()}"
    runs.mkdir(exist_ok=True)
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.gateway.fake_upstream", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    servers: list[subprocess.Popen] = [fake]
    try:
        assert fake.stdout is not None
        upstream_url = f"http://127.0.0.1:{int(fake.stdout.readline().split()[-1])}"
        secret = console_key(upstream_url)
        console_port, litellm_port = free_port(), free_port()
        console_env = {
            **os.environ,
            "DEBUG": "false",
            # The keys' hashes and the upstream's credential were made with this process's.
            "SECRET_KEY": settings.SECRET_KEY,
            "SECRET_HASH_KEY": settings.SECRET_HASH_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "USAGE_QUEUE": "true",
            "USAGE_ROLLUP_INLINE": "false",
            "LOG_LEVEL": "WARNING",
        }
        console = start(
            [
                str(Path(sys.executable).parent / "uvicorn"),
                "console.asgi:application",
                "--host=127.0.0.1",
                f"--port={console_port}",
                f"--workers={args.workers}",
                "--no-access-log",
                "--log-level=warning",
            ],
            console_env,
            str(runs / "console.log"),
        )
        servers.append(console)
        litellm_env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "LITELLM_MASTER_KEY": LITELLM_KEY,
        }
        lite = start(
            [
                str(litellm),
                "--config",
                str(litellm_config(upstream_url, runs)),
                "--host=127.0.0.1",
                f"--port={litellm_port}",
                f"--num_workers={args.workers}",
            ],
            litellm_env,
            str(runs / "litellm.log"),
        )
        servers.append(lite)
        wait_for_port(console_port, console, "Console")
        wait_for_port(litellm_port, lite, "LiteLLM's proxy", timeout=240)
        # On uvloop, the event loop Console's processes run on (uvicorn picks it).
        uvloop.run(engine_calls(secret, args.requests))
        asyncio.run(run(args, upstream_url, console_port, litellm_port, secret, console, lite))
    finally:
        for server in reversed(servers):
            stop(server)
        backend.reset()
        enforcement.use_backend(None)


async def run(args, upstream_url, console_port, litellm_port, secret, console, lite) -> None:
    targets = {
        "upstream": (f"{upstream_url}/v1/messages", {"x-api-key": "fake-upstream-key"}),
        "Console": (
            f"http://127.0.0.1:{console_port}/v1/messages",
            {"x-api-key": secret, "anthropic-version": "2023-06-01"},
        ),
        "LiteLLM": (
            f"http://127.0.0.1:{litellm_port}/v1/messages",
            {"authorization": f"Bearer {LITELLM_KEY}", "anthropic-version": "2023-06-01"},
        ),
    }
    for _name, (_url, headers) in targets.items():
        headers["content-type"] = "application/json"
    for name, (url, headers) in targets.items():
        check = await load(url, headers, body(FAST), concurrency=1, count=1)
        if not check:
            common.refuse(f"{name} does not answer")
    await client_costs(upstream_url, args.requests)
    cases = [
        ("answer after 0 ms", body(FAST)),
        ("answer after 20 ms", body(SLOW)),
        ("stream of 200 events", body(STREAM, stream=True)),
    ]
    common.say("added latency over calling the upstream directly (ms)")
    print(
        f"  {'case':<22} {'c':>3} {'upstream p50/p99':>17} {'Console +p50/+p99':>18} {'LiteLLM +p50/+p99':>18} {'ratio p50/p99':>14}"
    )
    first_bytes: dict[str, list[float]] = {}
    for case, data in cases:
        for concurrency in (1, 32):
            results = {}
            for name, (url, headers) in targets.items():
                samples = await load(
                    url, headers, data, concurrency=concurrency, count=args.requests
                )
                totals = [s.total * 1000 for s in samples]
                results[name] = (percentile(totals, 0.5), percentile(totals, 0.99))
                if data is cases[2][1] and concurrency == 1:
                    first_bytes[name] = [s.first * 1000 for s in samples]
            base = results["upstream"]
            console_added = (results["Console"][0] - base[0], results["Console"][1] - base[1])
            litellm_added = (results["LiteLLM"][0] - base[0], results["LiteLLM"][1] - base[1])
            ratio = tuple(
                c / lt if lt > 0 else float("nan")
                for c, lt in zip(console_added, litellm_added, strict=True)
            )
            print(
                f"  {case:<22} {concurrency:>3} {base[0]:>8.2f}/{base[1]:<8.2f} "
                f"{console_added[0]:>8.2f}/{console_added[1]:<9.2f} "
                f"{litellm_added[0]:>8.2f}/{litellm_added[1]:<9.2f} {ratio[0]:>6.2f}/{ratio[1]:<6.2f}"
            )
    common.say("time to the first streamed byte, concurrency 1 (ms)")
    base = statistics.median(first_bytes["upstream"])
    for name in ("upstream", "Console", "LiteLLM"):
        median = statistics.median(first_bytes[name])
        print(f"  {name:<9} p50 {median:7.2f}   overhead {median - base:+7.2f}")
    common.say(
        f"requests per second at saturation (concurrency 64, {args.seconds:.0f} s, answers after 0 ms)"
    )
    rates = {}
    for name, (url, headers) in targets.items():
        rates[name], refused = await saturate(url, headers, body(FAST), args.seconds)
        others = ", ".join(f"{count} answered {status}" for status, count in refused.items())
        print(f"  {name:<9} {rates[name]:8.0f} rps" + (f" ({others})" if others else ""))
    print(f"  Console / LiteLLM: {rates['Console'] / rates['LiteLLM']:.2f}x")
    common.say("memory per worker after the run (RSS, MiB)")
    print(f"  Console  {rss_per_worker(console, args.workers):7.1f}")
    print(f"  LiteLLM  {rss_per_worker(lite, args.workers):7.1f}")
    warning = common.busy()
    if warning:
        common.say(f"note: {warning}")


if __name__ == "__main__":
    main()
