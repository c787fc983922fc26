from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from accounts.audit import Actor
from billing import services, upstreams
from billing.models import (
    GatewayToken,
    Model,
    ModelGroup,
    ModelRoute,
    OrganizationLimits,
    OrganizationRateLimit,
    SpendLimitIncreaseRequest,
    SpendNotification,
    TierLimit,
    Upstream,
    UpstreamProtocol,
    UsageDaily,
    UsageRecord,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from console.admin import ConsoleAdmin, ReadOnlyAdmin
from workspaces.access import staff_access
from workspaces.admin import KeyAdmin, KeyServices


class ModelInline(admin.TabularInline):
    model = Model
    extra = 0
    fields = [
        "api_name",
        "input_price",
        "output_price",
        "cache_write_5m_price",
        "cache_write_1h_price",
        "cache_read_price",
        "web_search_price",
    ]


@admin.register(ModelGroup)
class ModelGroupAdmin(ConsoleAdmin):
    list_display = ["name", "slug", "position", "cache_reads_count_as_input"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ModelInline]


@admin.register(Model)
class ModelAdmin(ConsoleAdmin):
    list_display = [
        "api_name",
        "group",
        "input_price",
        "output_price",
        "cache_write_5m_price",
        "cache_write_1h_price",
        "cache_read_price",
        "web_search_price",
    ]
    list_filter = ["group"]
    search_fields = ["api_name"]
    list_select_related = ["group"]


class TierLimitInline(admin.TabularInline):
    model = TierLimit
    extra = 0


@admin.register(UsageTier)
class UsageTierAdmin(ConsoleAdmin):
    list_display = ["name", "position", "monthly_spend_cap_cents"]
    inlines = [TierLimitInline]


class _ThroughService:
    """Saves of organization limits go through the service once staff access grants them, so
    rules and the audit trail hold."""

    def _apply(self, request, change) -> None:
        staff_access(request.user).require("org.limits.override")
        try:
            change(Actor.from_request(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))


@admin.register(OrganizationLimits)
class OrganizationLimitsAdmin(_ThroughService, ConsoleAdmin):
    list_display = ["organization", "tier", "custom_spend_cap_cents", "spend_limit_cents"]
    list_filter = ["tier"]
    search_fields = ["organization__name"]
    list_select_related = ["organization", "tier"]
    readonly_fields = ["spend_limit_cents"]
    fields = ["organization", "tier", "custom_spend_cap_cents", "spend_limit_cents"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        cap = form.cleaned_data.get("custom_spend_cap_cents")
        self._apply(
            request,
            lambda actor: services.organization_limits_change(
                actor=actor,
                organization=obj.organization,
                tier=form.cleaned_data["tier"],
                custom_spend_cap_cents=cap,
                clear_custom_cap=cap is None,
            ),
        )


@admin.register(OrganizationRateLimit)
class OrganizationRateLimitAdmin(_ThroughService, ConsoleAdmin):
    list_display = ["organization", "model_group", "limiter", "value"]
    list_filter = ["model_group", "limiter"]
    search_fields = ["organization__name"]
    list_select_related = ["organization", "model_group"]

    def save_model(self, request, obj, form, change) -> None:
        self._apply(
            request,
            lambda actor: services.organization_limits_change(
                actor=actor,
                organization=obj.organization,
                overrides=[(obj.model_group, obj.limiter, obj.value)],
            ),
        )

    def delete_model(self, request, obj) -> None:
        self._apply(
            request,
            lambda actor: services.organization_limits_change(
                actor=actor,
                organization=obj.organization,
                overrides=[(obj.model_group, obj.limiter, None)],
            ),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is not None and super().has_delete_permission(request, obj)


@admin.register(WorkspaceRateLimit)
class WorkspaceRateLimitAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "model_group", "limiter", "value"]
    list_filter = ["model_group", "limiter"]
    search_fields = ["workspace__name", "workspace__public_id"]
    list_select_related = ["workspace", "model_group"]


@admin.register(WorkspaceSpendLimit)
class WorkspaceSpendLimitAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "amount_cents"]
    search_fields = ["workspace__name", "workspace__public_id"]
    list_select_related = ["workspace"]


@admin.register(SpendLimitIncreaseRequest)
class SpendLimitIncreaseRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "workspace",
        "requested_by",
        "amount_cents",
        "status",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["public_id", "workspace__name", "requested_by__email"]
    list_select_related = ["workspace", "requested_by"]


@admin.register(SpendNotification)
class SpendNotificationAdmin(ReadOnlyAdmin):
    list_display = ["organization", "workspace", "amount_cents", "created_by", "created_at"]
    search_fields = ["organization__name", "workspace__name"]
    list_select_related = ["organization", "workspace", "created_by"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organization",
        "workspace",
        "api_key",
        "model",
        "service_tier",
        "uncached_input_tokens",
        "output_tokens",
        "web_search_requests",
        "cost_cents",
    ]
    list_filter = ["model", "service_tier"]
    search_fields = ["organization__name", "workspace__name", "api_key__public_id"]
    list_select_related = ["organization", "workspace", "api_key", "model"]
    show_full_result_count = False


@admin.register(UsageDaily)
class UsageDailyAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "organization",
        "workspace",
        "api_key",
        "model",
        "service_tier",
        "requests",
        "web_search_requests",
        "cost_cents",
    ]
    list_filter = ["model", "service_tier"]
    search_fields = ["organization__name", "workspace__name"]
    list_select_related = ["organization", "workspace", "api_key", "model"]
    date_hierarchy = "day"
    show_full_result_count = False


@admin.register(GatewayToken)
class GatewayTokenAdmin(KeyAdmin):
    """Staff create tokens here; the secret is shown once, on the page that answers the form
    (`response_add`). Never in a message: those travel in a cookie, readable without the
    key that signs it, or sit in the session."""

    list_display = ["name", "hint", "status", "created_by", "created_at", "last_used_at"]
    list_filter = ["status"]
    search_fields = ["name", "hint", "public_id"]
    capability = "gateway_tokens.manage"
    key_services = KeyServices(
        disable=services.gateway_token_disable,
        enable=services.gateway_token_enable,
        delete=services.gateway_token_delete,
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return True

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name"]
        return ["public_id", "name", "hint", "status", "created_by", "created_at", "last_used_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        staff_access(request.user).require(self.capability)
        token, secret = services.gateway_token_create(
            actor=Actor.from_request(request), name=form.cleaned_data["name"]
        )
        obj.pk = token.pk
        # Kept on this request alone, for `response_add` to show.
        request.new_gateway_token_secret = secret

    def response_add(
        self, request: HttpRequest, obj: GatewayToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        secret = getattr(request, "new_gateway_token_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        token = GatewayToken.objects.select_related("organization").get(pk=obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Gateway token “{token.name}” created",
            "token": token,
            "secret": secret,
        }
        response = TemplateResponse(request, "admin/billing/gatewaytoken/secret.html", context)
        add_never_cache_headers(response)
        return response


class UpstreamForm(forms.ModelForm):
    credential = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="The upstream's API key. Stored encrypted and never shown again; leave empty "
        "to keep the current one.",
    )
    remove_credential = forms.BooleanField(required=False, label="Remove the credential")

    class Meta:
        model = Upstream
        fields = [
            "name",
            "protocol",
            "base_url",
            "auth_header",
            "input_bound",
            "connect_timeout_seconds",
            "read_timeout_seconds",
            "max_connections",
            "enabled",
        ]

    def clean(self):
        data = super().clean() or {}
        if data.get("protocol") == UpstreamProtocol.MESSAGES_API and not data.get("base_url"):
            self.add_error("base_url", "An upstream that is a server needs its URL.")
        return data


@admin.register(Upstream)
class UpstreamAdmin(ConsoleAdmin):
    """Model servers behind the gateway. Saves go through `upstreams.upstream_configure`, which
    encrypts the credential; the page only says whether one is set. An error while saving
    reports the request without the credential (`sensitive_post_parameters`)."""

    @method_decorator(sensitive_post_parameters("credential"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    form = UpstreamForm
    list_display = ["name", "protocol", "base_url", "has_credential", "input_bound", "enabled"]
    list_filter = ["protocol", "enabled"]
    search_fields = ["name", "base_url"]
    readonly_fields = ["credential_set", "created_at", "updated_at"]

    @admin.display(boolean=True, description="credential set")
    def credential_set(self, obj: Upstream) -> bool:
        return obj.has_credential

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "name"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        staff_access(request.user).require("gateway.routes.manage")
        data = form.cleaned_data
        credential = "" if data.get("remove_credential") else data.get("credential") or None
        saved = upstreams.upstream_configure(
            name=obj.name,
            protocol=data["protocol"],
            base_url=data["base_url"],
            credential=credential,
            auth_header=data["auth_header"],
            input_bound=data["input_bound"],
            connect_timeout_seconds=data["connect_timeout_seconds"],
            read_timeout_seconds=data["read_timeout_seconds"],
            max_connections=data["max_connections"],
            enabled=data["enabled"],
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        # Routes protect their upstream; an unused one can go.
        return obj is None or not obj.routes.exists()


@admin.register(ModelRoute)
class ModelRouteAdmin(ConsoleAdmin):
    """Which upstream serves each catalog model; a model without a route is not served."""

    list_display = ["model", "upstream", "upstream_model", "display_name", "enabled", "created_at"]
    list_filter = ["upstream", "enabled"]
    search_fields = ["model__api_name", "upstream_model", "display_name"]
    list_select_related = ["model", "upstream"]
    fields = ["model", "upstream", "upstream_model", "display_name", "enabled"]

    def save_model(self, request, obj, form, change) -> None:
        staff_access(request.user).require("gateway.routes.manage")
        data = form.cleaned_data
        saved = upstreams.model_route_set(
            model=data["model"],
            upstream=data["upstream"],
            upstream_model=data["upstream_model"],
            display_name=data["display_name"],
            enabled=data["enabled"],
        )
        obj.pk = saved.pk
