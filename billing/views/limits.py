"""Limits: the workspace page's Limits tab and Settings > Limits."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from billing import money, selectors, services
from billing.forms import NotificationForm, RateLimitForm, SpendLimitForm
from billing.models import Limiter, ModelGroup, SpendLimitIncreaseRequest, SpendNotification
from billing.selectors import EffectiveLimits, RateLimitRow
from console.forms import add_service_errors
from console.htmx import (
    Event,
    confirm_action,
    dialog_done,
    render_dialog,
    render_page,
    vary_on_htmx,
    wants_partial,
)
from workspaces.access import Access, organization_access, tab_context, workspace_access
from workspaces.models import Workspace

# -- Workspace Limits tab ----------------------------------------------------------------


def _tab_context(workspace: Workspace, access: Access, **extra: object) -> dict[str, Any]:
    can_request = access.can("limits.request_increase")
    return {
        **tab_context(workspace, access, "billing:workspace_limits"),
        "limits": selectors.effective_limits(workspace),
        "open_increase_request": SpendLimitIncreaseRequest.objects.filter(
            workspace=workspace, requested_by_id=access.member.user_id
        )
        .open()
        .first()
        if can_request
        else None,
        **extra,
    }


@require_GET
@vary_on_headers("HX-Request")
def workspace_limits(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "limits.view")
    return render_page(
        request, "billing/workspace_limits.html", _tab_context(workspace, access), partial="tab"
    )


def _row_context(
    workspace: Workspace,
    access: Access,
    row: RateLimitRow,
    *,
    editing: bool = False,
    form: RateLimitForm | None = None,
    focus_pencil: bool = False,
) -> dict[str, Any]:
    """A rate limit's row; `focus_pencil`: the editor just closed, and focus goes back to
    the pencil that opened it."""
    return {
        "workspace": workspace,
        "access": access,
        "row": row,
        "editing": editing,
        "form": form,
        "focus_pencil": focus_pencil,
    }


def _limit_name(row: RateLimitRow) -> str:
    """A rate limit's name in a sentence, e.g. Claude Sonnet 4.x requests per minute."""
    return f"{row.model_group.name} {row.limiter_label.lower()}"


def _find_row(
    workspace: Workspace, group_slug: str, limiter: str
) -> tuple[ModelGroup, RateLimitRow]:
    """The model group and the row of the workspace's rate limits it and `limiter` name (404
    for unknown ones)."""
    group = ModelGroup.objects.filter(slug=group_slug).first()
    row = None
    if group is not None and limiter in Limiter.values:
        row = selectors.effective_limits(workspace).rate_limit(group.pk, limiter)
    if group is None or row is None:
        raise Http404("No such model group or limit type.")
    return group, row


@require_http_methods(["GET", "POST"])
def workspace_rate_limit_set(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    """The pencil: a rate limit's row in edit mode (GET), saving it (POST)."""
    workspace, access = workspace_access(request.member, workspace_id, "limits.edit")
    data = request.POST if request.method == "POST" else request.GET
    group, row = _find_row(workspace, data.get("model_group", ""), data.get("limiter", ""))
    if request.method == "GET":
        editing = data.get("mode") != "view"
        form = RateLimitForm(initial={"value": row.workspace_value or row.organization_value})
        if not wants_partial(request):  # the pencil followed as a link: the whole tab
            context = _tab_context(
                workspace, access, editing_limit=row.key if editing else "", form=form
            )
            return vary_on_htmx(render(request, "billing/workspace_limits.html", context))
        context = _row_context(
            workspace, access, row, editing=editing, form=form, focus_pencil=not editing
        )
        return render_page(request, "billing/workspace_limits.html", context, partial="rate_row")
    form = RateLimitForm(request.POST)
    if form.is_valid():
        try:
            services.workspace_rate_limit_set(
                actor=Actor.from_request(request),
                workspace=workspace,
                model_group=group,
                limiter=row.limiter,
                value=form.cleaned_data["value"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
    saved = ""
    if not form.errors:
        _group, row = _find_row(workspace, group.slug, row.limiter)
        saved = f"{_limit_name(row)} set to {row.workspace_value:,} in {workspace.name}."
    if not request.htmx:
        if form.errors:
            context = _tab_context(workspace, access, editing_limit=row.key, form=form)
            return render(request, "billing/workspace_limits.html", context)
        messages.success(request, saved)
        return redirect("billing:workspace_limits", workspace.public_id)
    if form.errors:
        context = _row_context(workspace, access, row, editing=True, form=form)
    else:
        context = _row_context(workspace, access, row, focus_pencil=True)
    response = render_page(request, "billing/workspace_limits.html", context, partial="rate_row")
    if saved:
        trigger_client_event(response, Event.TOAST, {"value": saved})
    return response


@require_POST
def workspace_rate_limit_reset(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    """The refresh icon: back to the organization's limit."""
    workspace, access = workspace_access(request.member, workspace_id, "limits.edit")
    group, row = _find_row(
        workspace, request.POST.get("model_group", ""), request.POST.get("limiter", "")
    )
    error = None
    try:
        services.workspace_rate_limit_reset(
            actor=Actor.from_request(request),
            workspace=workspace,
            model_group=group,
            limiter=row.limiter,
        )
    except ValidationError as problem:
        error = " ".join(problem.messages)
    _group, row = _find_row(workspace, group.slug, row.limiter)
    saved = (
        f"{_limit_name(row)} reset to the organization's limit ({row.organization_value:,}) "
        f"in {workspace.name}."
    )
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, saved)
        return redirect("billing:workspace_limits", workspace.public_id)
    context = {**_row_context(workspace, access, row, focus_pencil=True), "row_error": error}
    response = render_page(request, "billing/workspace_limits.html", context, partial="rate_row")
    if error is None:
        trigger_client_event(response, Event.TOAST, {"value": saved})
    return response


def _spend_limit_dialog(
    request: ConsoleRequest,
    *,
    save: Callable[[SpendLimitForm], object],
    context: dict[str, Any],
    cancel_url: str,
    message: Callable[[SpendLimitForm], str],
    initial: dict | None = None,
) -> HttpResponse:
    """The Change Limit dialog: a USD amount (or none) that `save(form)` applies once the
    form is valid; `message(form)` is the toast that says what was saved."""
    template_name = "billing/spend_limit_set_dialog.html"
    form = SpendLimitForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save(form)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=cancel_url,
                message=message(form),
                events=(Event.LIMITS_CHANGED,),
            )
    return render_dialog(request, template_name, {**context, "form": form}, cancel_url=cancel_url)


def _organization_limit_text(limits: EffectiveLimits) -> str:
    """What applies to a workspace without a spend limit of its own, for a sentence."""
    organization_limit = limits.organization_spend_limit_cents
    if organization_limit is None:
        return "no limit"
    return f"the organization's ({money.usd(organization_limit)})"


def _spend_limit_message(scope: str, amount_cents: int | None, fallback: str) -> str:
    if amount_cents is None:
        return f"The spend limit of {scope} was removed: {fallback} applies."
    return f"The spend limit of {scope} is now {money.usd(amount_cents)} a month."


@require_http_methods(["GET", "POST"])
def workspace_spend_limit_set(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, _access = workspace_access(request.member, workspace_id, "limits.edit")
    limits = selectors.effective_limits(workspace)
    current = limits.workspace_spend_limit_cents
    fallback = _organization_limit_text(limits)
    return _spend_limit_dialog(
        request,
        save=lambda form: services.workspace_spend_limit_set(
            actor=Actor.from_request(request), workspace=workspace, amount_cents=form.amount_cents()
        ),
        context={
            "limits": limits,
            "action": reverse("billing:workspace_spend_limit_set", args=[workspace.public_id]),
        },
        cancel_url=reverse("billing:workspace_limits", args=[workspace.public_id]),
        message=lambda form: _spend_limit_message(workspace.name, form.amount_cents(), fallback),
        initial={"amount": None if current is None else money.dollars(current)},
    )


@require_http_methods(["GET", "POST"])
def workspace_spend_limit_reset(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    """The refresh icon by the workspace's spend limit: confirmed, then the organization's
    limit applies again."""
    workspace, _access = workspace_access(request.member, workspace_id, "limits.edit")
    limits = selectors.effective_limits(workspace)
    fallback = _organization_limit_text(limits)
    return confirm_action(
        request,
        perform=lambda: services.workspace_spend_limit_reset(
            actor=Actor.from_request(request), workspace=workspace
        ),
        template_name="billing/workspace_spend_limit_reset_dialog.html",
        context={"limits": limits, "action": request.path, "fallback": fallback},
        cancel_url=reverse("billing:workspace_limits", args=[workspace.public_id]),
        message=f"The spend limit of {workspace.name} was reset: {fallback} applies.",
        events=(Event.LIMITS_CHANGED,),
    )


def _notification_dialog(
    request: ConsoleRequest,
    *,
    limits: EffectiveLimits,
    workspace: Workspace | None,
    scope: str,
    action: str,
    cancel_url: str,
) -> HttpResponse:
    """The Add notification dialog. An amount above the spend limit in force is never
    reached while that limit holds (requests are refused first), so it is only added once
    the person has read that and confirmed that very amount."""
    form = NotificationForm(request.POST or None)
    limit_cents = limits.spend_limit_cents
    context: dict[str, Any] = {
        "scope": scope,
        "action": action,
        "limits": limits,
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        amount_cents = form.amount_cents()
        if (
            limit_cents is not None
            and amount_cents > limit_cents
            and form.cleaned_data["confirmed_cents"] != amount_cents
        ):
            context["above_limit_cents"] = amount_cents
        else:
            try:
                services.spend_notification_add(
                    actor=Actor.from_request(request),
                    organization=limits.organization,
                    workspace=workspace,
                    amount_cents=amount_cents,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return dialog_done(
                    request,
                    redirect_to=cancel_url,
                    message=f"Notification added: an e-mail when {scope}'s spend this month "
                    f"reaches {money.usd(amount_cents)}.",
                    events=(Event.LIMITS_CHANGED,),
                )
    return render_dialog(
        request, "billing/spend_notification_add_dialog.html", context, cancel_url=cancel_url
    )


@require_http_methods(["GET", "POST"])
def workspace_spend_notification_add(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, _access = workspace_access(request.member, workspace_id, "limits.edit")
    return _notification_dialog(
        request,
        limits=selectors.effective_limits(workspace),
        workspace=workspace,
        scope=workspace.name,
        action=reverse("billing:workspace_spend_notification_add", args=[workspace.public_id]),
        cancel_url=reverse("billing:workspace_limits", args=[workspace.public_id]),
    )


def _remove_notification(
    request: ConsoleRequest, notification: SpendNotification, cancel_url: str
) -> HttpResponse:
    return confirm_action(
        request,
        perform=lambda: services.spend_notification_remove(
            actor=Actor.from_request(request), notification=notification
        ),
        template_name="billing/spend_notification_remove_dialog.html",
        context={"notification": notification, "action": request.path},
        cancel_url=cancel_url,
        message=f"The notification at {money.usd(notification.amount_cents)} was removed.",
        events=(Event.LIMITS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def workspace_spend_notification_remove(
    request: ConsoleRequest, workspace_id: str, amount_cents: int
) -> HttpResponse:
    workspace, _access = workspace_access(request.member, workspace_id, "limits.edit")
    notification = (
        SpendNotification.objects.filter(workspace=workspace, amount_cents=amount_cents)
        .select_related("workspace", "organization")
        .first()
    )
    if notification is None:
        raise Http404("No such notification.")
    return _remove_notification(
        request, notification, reverse("billing:workspace_limits", args=[workspace.public_id])
    )


# -- Settings > Limits ---------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def organization_limits(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.limits.view")
    manages_requests = access.can("limits.increase_requests.manage")
    context = {
        "access": access,
        "limits": selectors.organization_effective_limits(access.member.organization),
        "increase_requests_url": reverse("billing:spend_limit_increase_request_list")
        if manages_requests
        else None,
        "pending_increase_requests": SpendLimitIncreaseRequest.objects.filter(
            organization_id=access.member.organization_id
        )
        .open()
        .count()
        if manages_requests
        else 0,
    }
    return render_page(request, "billing/organization_limits.html", context, partial="limits")


@require_http_methods(["GET", "POST"])
def organization_spend_limit_set(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.limits.edit")
    organization = access.member.organization
    limits = selectors.organization_effective_limits(organization)
    current = limits.settings.spend_limit_cents
    cap = limits.settings.spend_cap_cents
    fallback = "no limit" if cap is None else f"your usage tier's cap ({money.usd(cap)})"
    return _spend_limit_dialog(
        request,
        save=lambda form: services.organization_spend_limit_set(
            actor=Actor.from_request(request),
            organization=organization,
            amount_cents=form.amount_cents(),
        ),
        context={"limits": limits, "action": reverse("billing:organization_spend_limit_set")},
        cancel_url=reverse("billing:organization_limits"),
        message=lambda form: _spend_limit_message(organization.name, form.amount_cents(), fallback),
        initial={"amount": None if current is None else money.dollars(current)},
    )


@require_http_methods(["GET", "POST"])
def organization_spend_notification_add(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.limits.edit")
    organization = access.member.organization
    return _notification_dialog(
        request,
        limits=selectors.organization_effective_limits(organization),
        workspace=None,
        scope=organization.name,
        action=reverse("billing:organization_spend_notification_add"),
        cancel_url=reverse("billing:organization_limits"),
    )


@require_http_methods(["GET", "POST"])
def organization_spend_notification_remove(
    request: ConsoleRequest, amount_cents: int
) -> HttpResponse:
    access = organization_access(request.member, "org.limits.edit")
    notification = (
        SpendNotification.objects.filter(
            organization=access.member.organization,
            workspace__isnull=True,
            amount_cents=amount_cents,
        )
        .select_related("organization")
        .first()
    )
    if notification is None:
        raise Http404("No such notification.")
    return _remove_notification(request, notification, reverse("billing:organization_limits"))
