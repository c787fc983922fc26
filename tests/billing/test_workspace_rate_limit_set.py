"""Setting a workspace's rate limit: a whole number at most the organization's, edited in
place with the pencil, with or without script."""

import html
import re

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from billing import services
from billing.models import WorkspaceRateLimit
from tests.helpers import RPM, toast_of, workspace_url


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than zero"),
        ("-3", "greater than zero"),
        ("abc", "Enter a whole number."),
        ("1.5", "Enter a whole number."),
        ("1" + "0" * 30, "too large"),
        ("", "Enter a limit."),
        ("51", "at most the organization's (50)"),
    ],
)
def test_rate_limit_bad_input_shows_in_place(client, personas, production, htmx, value, message):
    response = client(personas.admin).post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM, "value": value},
        **htmx,
    )
    assert response.status_code == 200 and message in html.unescape(response.content.decode())
    assert b'name="value"' in response.content  # still editing
    assert not WorkspaceRateLimit.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{"model_group": "gpt-9", "limiter": RPM}, {"model_group": "sonnet-4", "limiter": "per_day"}],
)
def test_unknown_group_or_limiter_is_404(client, personas, production, htmx, data):
    response = client(personas.admin).post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {**data, "value": "5"},
        **htmx,
    )
    assert response.status_code == 404
    assert not WorkspaceRateLimit.objects.exists()


def test_rate_limits_work_without_script(client, personas, production):
    """The pencil is a link and the forms post normally when there is no script."""
    c = client(personas.admin)
    editing = c.get(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM},
    )
    page = editing.content.decode()
    assert "<html" in page and 'name="value"' in page and 'data-testid="spend-card"' in page
    refused = c.post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "999"},
    )
    assert refused.status_code == 200 and "at most the organization" in html.unescape(
        refused.content.decode()
    )
    saved = c.post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "9"},
    )
    assert saved.status_code == 302 and WorkspaceRateLimit.objects.get().value == 9
    reset = c.post(
        workspace_url("billing:workspace_rate_limit_reset", production),
        {"model_group": "sonnet-4", "limiter": RPM},
    )
    assert reset.status_code == 302 and not WorkspaceRateLimit.objects.exists()


def test_workspace_limit_above_organization_is_refused(personas, production, sonnet, admin_actor):
    with pytest.raises(ValidationError, match="at most the organization's"):
        services.workspace_rate_limit_set(
            actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=51
        )
    services.workspace_rate_limit_set(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=50
    )
    assert WorkspaceRateLimit.objects.get().value == 50


@pytest.mark.parametrize("value", [0, -5, 10**30, "12", 1.5, True, None])
def test_bad_rate_limit_values(personas, production, sonnet, admin_actor, value):
    with pytest.raises(ValidationError):
        services.workspace_rate_limit_set(
            actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=value
        )
    assert not WorkspaceRateLimit.objects.exists()
    assert not AuditEvent.objects.exists()


def test_unknown_limiter_is_refused(personas, production, sonnet, admin_actor):
    with pytest.raises(ValidationError, match="Unknown limit type"):
        services.workspace_rate_limit_set(
            actor=admin_actor,
            workspace=production,
            model_group=sonnet,
            limiter="tokens_per_day",
            value=5,
        )


def test_saved_limit_is_confirmed_and_focus_returns_to_the_pencil(
    client, personas, production, htmx
):
    c = client(personas.admin)
    url = workspace_url("billing:workspace_rate_limit_set", production)
    editing = c.get(url, {"model_group": "sonnet-4", "limiter": RPM}, **htmx)
    assert 'name="value"' in editing.content.decode() and "autofocus" in editing.content.decode()
    saved = c.post(url, {"model_group": "sonnet-4", "limiter": RPM, "value": "20"}, **htmx)
    assert toast_of(saved) == "Claude Sonnet 4.x requests per minute set to 20 in Production."
    row = saved.content.decode()
    # The editor closed: the pencil that opened it has focus again (htmx honours autofocus).
    assert re.search(
        r'<a [^>]*aria-label="Edit Claude Sonnet 4.x requests per minute"[^>]* autofocus>', row
    )

    refused = c.post(url, {"model_group": "sonnet-4", "limiter": RPM, "value": "51"}, **htmx)
    assert toast_of(refused) is None and 'name="value"' in refused.content.decode()
    assert WorkspaceRateLimit.objects.get().value == 20


def test_cancelled_editor_shows_the_saved_value_with_focus_on_the_pencil(
    client, personas, production, htmx
):
    c = client(personas.admin)
    url = workspace_url("billing:workspace_rate_limit_set", production)
    cancelled = c.get(url, {"model_group": "sonnet-4", "limiter": RPM, "mode": "view"}, **htmx)
    row = cancelled.content.decode()
    assert 'name="value"' not in row
    assert re.search(
        r'<a [^>]*aria-label="Edit Claude Sonnet 4.x requests per minute"[^>]* autofocus>', row
    )
    # Opening the editor on the whole page (no script) focuses the value, not a pencil.
    page = c.get(workspace_url("billing:workspace_limits", production)).content.decode()
    assert not re.search(r"<a [^>]* autofocus>", page)


def test_saved_limit_without_script_says_so(client, personas, production):
    c = client(personas.admin)
    response = c.post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "9"},
        follow=True,
    )
    assert "Claude Sonnet 4.x requests per minute set to 9 in Production." in (
        response.content.decode()
    )
