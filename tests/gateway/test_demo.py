"""The demo model, end to end as the README shows it: a key of the Default workspace, the
official SDK against Console under uvicorn, a message and a stream from `console-demo`,
both on the Usage and Cost pages, and the 21st request of the minute refused and counted."""

from datetime import UTC, datetime

import anthropic
import pytest
from django.test import Client
from django.urls import reverse

from billing import upstreams
from billing.messages_api import clients, lookups
from billing.models import Limiter
from workspaces import services as workspace_services
from workspaces.models import Workspace

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def demo(gateway, monkeypatch):
    upstreams.demo_upstream_enable()
    lookups.clear()
    # The reply streams without pauses, so that twenty requests fit well inside a minute.
    monkeypatch.setattr(clients, "DEMO_WORD_SECONDS", 0)
    default = Workspace.objects.get(organization=gateway.org, is_default=True)
    _key, secret = workspace_services.api_key_create(
        actor=gateway.actor, workspace=default, name="demo"
    )
    return anthropic.Anthropic(api_key=secret, base_url=gateway.url, max_retries=0)


def test_the_demo_model_as_the_readme_shows_it(gateway, demo, personas):
    message = demo.messages.create(model="console-demo", max_tokens=64, messages=HELLO)
    text = message.content[0].text
    assert text.startswith("Hello from console-demo") and text.endswith("Hello")
    assert message.model == "console-demo"
    assert message.usage.output_tokens == len(text.split())
    with demo.messages.stream(model="console-demo", max_tokens=64, messages=HELLO) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == text
    assert final.usage.output_tokens == message.usage.output_tokens
    assert final.usage.input_tokens == message.usage.input_tokens > 0

    # The rest of the minute's 20 requests, then one too many.
    for _ in range(18):
        demo.messages.create(model="console-demo", max_tokens=8, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as refused:
        demo.messages.create(model="console-demo", max_tokens=8, messages=HELLO)
    assert refused.value.body["error"]["details"]["limiter"] == Limiter.REQUESTS_PER_MINUTE
    assert int(refused.value.response.headers["retry-after"]) >= 1

    records = gateway.settled(count=20)
    gateway.flush_refusals()
    # The two long answers, whichever order their settles were stored in (a settle that
    # met a locked table is stored on its retry).
    longest = sorted(r.output_tokens for r in records)[-2:]
    assert longest == [message.usage.output_tokens] * 2

    today = datetime.now(UTC).date().isoformat()
    page = Client()
    page.force_login(personas.admin)
    period = {"range": "custom", "start": today, "end": today}
    usage_report = page.get(reverse("billing:usage"), period).context["report"]
    assert usage_report.totals.requests == 20
    assert usage_report.totals.output_tokens == sum(r.output_tokens for r in records)
    assert usage_report.totals.uncached_input_tokens == sum(
        r.uncached_input_tokens for r in records
    )
    assert [(limiter, count) for _day, limiter, count in usage_report.refusals] == [
        (Limiter.REQUESTS_PER_MINUTE, 1)
    ]
    cost_report = page.get(reverse("billing:cost"), period).context["report"]
    assert cost_report.total_cents == sum(r.cost_cents for r in records) > 0
