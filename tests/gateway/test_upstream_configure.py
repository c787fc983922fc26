"""Staff configure upstreams and routes (admin, command); credentials stay encrypted."""

import io
import logging
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from billing import upstreams
from billing.messages_api import lookups
from billing.models import Model, ModelRoute, Upstream, UpstreamProtocol


def test_the_credential_is_stored_encrypted_and_decrypts(db, catalog):
    upstream = upstreams.upstream_configure(
        name="anthropic", base_url="https://api.anthropic.com/", credential="sk-ant-real"
    )
    assert upstream.base_url == "https://api.anthropic.com"
    assert "sk-ant-real" not in upstream.credential_encrypted
    assert upstreams.decrypt_credential(upstream.credential_encrypted) == "sk-ant-real"
    assert "sk-ant-real" not in repr(upstream) and "sk-ant-real" not in str(upstream)
    # Changing another field keeps the credential.
    again = upstreams.upstream_configure(name="anthropic", read_timeout_seconds=30)
    assert again.credential_encrypted == upstream.credential_encrypted


def test_key_rotation(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.UPSTREAM_CREDENTIAL_KEYS = [old]
    upstreams.upstream_configure(name="u", base_url="http://u.internal", credential="secret")
    settings.UPSTREAM_CREDENTIAL_KEYS = [new, old]
    assert upstreams.upstream_credentials_rotate() == 1
    settings.UPSTREAM_CREDENTIAL_KEYS = [new]
    token = Upstream.objects.get(name="u").credential_encrypted
    assert upstreams.decrypt_credential(token) == "secret"
    settings.UPSTREAM_CREDENTIAL_KEYS = [old]
    with pytest.raises(ImproperlyConfigured, match="rotate"):
        upstreams.decrypt_credential(token)


def test_bad_configuration_is_refused(db):
    with pytest.raises(ValidationError):
        upstreams.upstream_configure(name="u")  # a server needs its URL
    with pytest.raises(ValidationError):
        upstreams.upstream_configure(name="u", base_url="http://u", credential="a\x00b")
    with pytest.raises(ValidationError):
        upstreams.upstream_configure(name="u", base_url="http://u", read_timeout_seconds=0)


def test_admin_add_shows_no_credential_back(client, staff, catalog, caplog):
    admin = client(staff)
    caplog.set_level(logging.DEBUG)
    response = admin.post(
        reverse("admin:billing_upstream_add"),
        {
            "name": "vllm",
            "protocol": UpstreamProtocol.MESSAGES_API,
            "base_url": "http://vllm.internal:8000",
            "credential": "vllm-token-123",
            "auth_header": "authorization",
            "input_bound": "request_size",
            "connect_timeout_seconds": "5",
            "read_timeout_seconds": "600",
            "max_connections": "100",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    upstream = Upstream.objects.get(name="vllm")
    assert upstreams.decrypt_credential(upstream.credential_encrypted) == "vllm-token-123"
    page = admin.get(reverse("admin:billing_upstream_change", args=[upstream.pk]))
    assert (
        b"vllm-token-123" not in page.content
        and upstream.credential_encrypted.encode() not in page.content
    )
    assert "vllm-token-123" not in caplog.text
    missing_url = admin.post(
        reverse("admin:billing_upstream_add"),
        {
            "name": "x",
            "protocol": "messages_api",
            "base_url": "",
            "auth_header": "x-api-key",
            "input_bound": "request_size",
            "connect_timeout_seconds": "5",
            "read_timeout_seconds": "5",
            "max_connections": "1",
        },
    )
    assert missing_url.status_code == 200 and b"needs its URL" in missing_url.content
    route = admin.post(
        reverse("admin:billing_modelroute_add"),
        {
            "model": Model.objects.get(api_name="claude-haiku-4-5").pk,
            "upstream": upstream.pk,
            "upstream_model": "Qwen/Qwen3-8B",
            "display_name": "",
            "enabled": "on",
        },
    )
    assert route.status_code == 302
    assert ModelRoute.objects.get().upstream_model == "Qwen/Qwen3-8B"


def test_command_configures_routes_and_lists(db, catalog, monkeypatch):
    monkeypatch.setenv("UPSTREAM_KEY", "from-env")
    out = io.StringIO()
    call_command(
        "upstream_configure",
        "anthropic",
        "--base-url=https://api.anthropic.com",
        "--credential-env=UPSTREAM_KEY",
        "--route=claude-sonnet-4-5",
        "--route=claude-haiku-4-5=claude-haiku-4-5-20251001",
        stdout=out,
    )
    upstream = Upstream.objects.get(name="anthropic")
    assert upstreams.decrypt_credential(upstream.credential_encrypted) == "from-env"
    assert dict(ModelRoute.objects.values_list("model__api_name", "upstream_model")) == {
        "claude-sonnet-4-5": "claude-sonnet-4-5",
        "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    }
    call_command(
        "upstream_configure", "anthropic", "--unroute=claude-haiku-4-5", "--list", stdout=out
    )
    assert "credential set" in out.getvalue() and "from-env" not in out.getvalue()
    assert ModelRoute.objects.count() == 1
    with pytest.raises(CommandError):
        call_command("upstream_configure", "anthropic", "--route=gpt-9", stdout=out)


def test_demo_is_enabled_by_seed_demo_and_only_then(db, catalog):
    assert not Model.objects.filter(api_name=upstreams.DEMO_MODEL).exists()
    call_command("seed_demo", stdout=io.StringIO())
    route = ModelRoute.objects.select_related("upstream").get(model__api_name="console-demo")
    assert route.upstream.protocol == UpstreamProtocol.DEMO
    call_command("upstream_configure", "--demo", stdout=io.StringIO())
    assert ModelRoute.objects.filter(model__api_name="console-demo").count() == 1


def test_an_undecryptable_credential_takes_its_upstream_out_not_the_others(db, catalog, settings):
    sonnet, haiku = Model.objects.filter(api_name__in=["claude-sonnet-4-5", "claude-haiku-4-5"])
    upstreams.model_route_set(
        model=sonnet,
        upstream=upstreams.upstream_configure(name="a", base_url="http://a", credential="x"),
    )
    settings.UPSTREAM_CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    upstreams.model_route_set(
        model=haiku,
        upstream=upstreams.upstream_configure(name="b", base_url="http://b", credential="y"),
    )
    table = lookups._load_table()
    assert set(table.routes) == {haiku.api_name}


def test_an_error_while_saving_reports_no_credential(client, staff, catalog, monkeypatch):
    """Django's error reports (the log, the e-mail to the admins) show the POST data of a
    failed request: the credential is masked there."""
    admin = client(staff)

    def fails(**fields):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(upstreams, "upstream_configure", fails)
    admin.raise_request_exception = False
    response = admin.post(
        reverse("admin:billing_upstream_add"),
        {
            "name": "vllm",
            "protocol": UpstreamProtocol.MESSAGES_API,
            "base_url": "http://vllm.internal:8000",
            "credential": "vllm-token-123",
            "auth_header": "authorization",
            "input_bound": "request_size",
            "connect_timeout_seconds": "5",
            "read_timeout_seconds": "600",
            "max_connections": "100",
            "enabled": "on",
        },
    )
    assert response.status_code == 500
    request = response.wsgi_request
    report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    assert "vllm-token-123" not in report
    shown = SafeExceptionReporterFilter().get_post_parameters(request)
    assert shown["credential"] != "vllm-token-123"
    assert shown["base_url"] == "http://vllm.internal:8000"
