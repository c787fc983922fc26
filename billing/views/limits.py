"""Limits: the workspace page's Limits tab and Settings > Limits."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.audit import Actor
from accounts.permissions import Access, default_workspace_access, organization_access
from billing import money, selectors, services
from billing.forms import NotificationForm, RateLimitForm, SpendLimitForm, to_cents
from billing.models import Limiter, ModelGroup, SpendLimitIncreaseRequest, SpendNotification
from console.forms import add_service_errors
from console.htmx import confirm_action, dialog_done, render_dialog, render_page
from console.http import ConsoleRequest
from workspaces import selectors as workspace_selectors
from workspaces.views.members import tab_context

LIMITS_CHANGED = "limits:changed"


# -- Workspace Limits tab ----------------------------------------------------------------


def _tab_context(workspace, access, **extra) -> dict:
    changeable = not workspace.is_default and not workspace.is_archived
    can_request = changeable and access.can("limits.request_increase")
    return {
        **tab_context(workspace, access, "billing:workspace_limits"),
        "limits": selectors.effective_limits(workspace),
        "editable": access.can("limits.edit") and changeable,
        "can_request_increase": can_request,
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
    workspace, access = workspace_selectors.resolve_workspace(
        request.member, workspace_id, "limits.view"
    )
    return render_page(
        request, "billing/workspace_limits.html", _tab_context(workspace, access), partial="tab"
    )


def _row_context(workspace, access, row, *, editing=False, form=None) -> dict:
    return {
        "workspace": workspace,
        "access": access,
        "row": row,
        "editing": editing,
        "form": form,
        "editable": True,
    }


def _find_row(workspace, group_slug: str, limiter: str):
    group = ModelGroup.objects.filter(slug=group_slug).first()
    if group is None or limiter not in Limiter.values:
        return None, None
    return group, selectors.effective_limits(workspace).rate_limit(group.pk, limiter)


@require_http_methods(["GET", "POST"])
def workspace_rate_limit_edit(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    """The pencil: a rate limit's row in edit mode (GET), saving it (POST)."""
    workspace, access = workspace_selectors.resolve_workspace(
        request.member, workspace_id, "limits.edit"
    )
    data = request.POST if request.method == "POST" else request.GET
    group, row = _find_row(workspace, data.get("model_group", ""), data.get("limiter", ""))
    if row is None:
        raise Http404("No such model group or limit type.")
    if request.method == "GET":
        editing = data.get("mode") != "view"
        form = RateLimitForm(initial={"value": row.workspace_value or row.organization_value})
        if not request.htmx:  # the pencil followed as a link: the whole tab, this row editing
            context = _tab_context(
                workspace, access, editing_limit=row.key if editing else "", form=form
            )
            return render(request, "billing/workspace_limits.html", context)
        context = _row_context(workspace, access, row, editing=editing, form=form)
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
    if not request.htmx:
        if form.errors:
            context = _tab_context(workspace, access, editing_limit=row.key, form=form)
            return render(request, "billing/workspace_limits.html", context)
        messages.success(request, "Rate limit saved.")
        return redirect("billing:workspace_limits", workspace.public_id)
    if form.errors:
        context = _row_context(workspace, access, row, editing=True, form=form)
    else:
        _group, row = _find_row(workspace, group.slug, row.limiter)
        context = _row_context(workspace, access, row)
    return render_page(request, "billing/workspace_limits.html", context, partial="rate_row")


@require_POST
def workspace_rate_limit_reset(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    """The refresh icon: back to the organization's limit."""
    workspace, access = workspace_selectors.resolve_workspace(
        request.member, workspace_id, "limits.edit"
    )
    group, row = _find_row(
        workspace, request.POST.get("model_group", ""), request.POST.get("limiter", "")
    )
    if row is None:
        raise Http404("No such model group or limit type.")
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
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("billing:workspace_limits", workspace.public_id)
    _group, row = _find_row(workspace, group.slug, row.limiter)
    context = {**_row_context(workspace, access, row), "row_error": error}
    return render_page(request, "billing/workspace_limits.html", context, partial="rate_row")


def _amount_dialog(
    request: ConsoleRequest,
    *,
    form_class,
    save,
    title: str,
    template: str,
    context: dict,
    cancel_url: str,
    message: str,
    initial: dict | None = None,
) -> HttpResponse:
    """A modal with one USD amount that `save(cents)` applies."""
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save(to_cents(form.cleaned_data["amount"]))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request, redirect_to=cancel_url, message=message, events=(LIMITS_CHANGED,)
            )
    return render_dialog(
        request, template, {**context, "form": form}, title=title, cancel_url=cancel_url
    )


@require_http_methods(["GET", "POST"])
def workspace_spend_limit_change(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, _access = workspace_selectors.resolve_workspace(
        request.member, workspace_id, "limits.edit"
    )
    limits = selectors.effective_limits(workspace)
    current = limits.workspace_spend_limit_cents
    return _amount_dialog(
        request,
        form_class=SpendLimitForm,
        save=lambda cents: services.workspace_spend_limit_set(
            actor=Actor.from_request(request), workspace=workspace, amount_cents=cents
        ),
        title="Change spend limit",
        template="billing/spend_limit_form.html",
        context={
            "limits": limits,
            "action": reverse("billing:workspace_spend_limit_change", args=[workspace.public_id]),
        },
        cancel_url=reverse("billing:workspace_limits", args=[workspace.public_id]),
        message="Spend limit saved.",
        initial={"amount": None if current is None else money.dollars(current)},
    )


@require_http_methods(["GET", "POST"])
def workspace_notification_add(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, _access = workspace_selectors.resolve_workspace(
        request.member, workspace_id, "limits.edit"
    )
    return _amount_dialog(
        request,
        form_class=NotificationForm,
        save=lambda cents: services.spend_notification_add(
            actor=Actor.from_request(request),
            organization=workspace.organization,
            workspace=workspace,
            amount_cents=cents,
        ),
        title="Add notification",
        template="billing/notification_form.html",
        context={
            "scope": workspace.name,
            "action": reverse("billing:workspace_notification_add", args=[workspace.public_id]),
        },
        cancel_url=reverse("billing:workspace_limits", args=[workspace.public_id]),
        message="Notification added.",
    )


def _remove_notification(
    request: ConsoleRequest, notification: SpendNotification, cancel_url: str
) -> HttpResponse:
    return confirm_action(
        request,
        perform=lambda: services.spend_notification_remove(
            actor=Actor.from_request(request), notification=notification
        ),
        body_template="billing/notification_remove_form.html",
        context={"notification": notification, "action": request.path},
        title="Remove notification",
        cancel_url=cancel_url,
        message="Notification removed.",
        events=(LIMITS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def workspace_notification_remove(
    request: ConsoleRequest, workspace_id: str, amount_cents: int
) -> HttpResponse:
    workspace, _access = workspace_selectors.resolve_workspace(
        request.member, workspace_id, "limits.edit"
    )
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


def _organization_limits_access(request: ConsoleRequest, capability: str) -> Access:
    """Organization-wide limits are asked as in the Default workspace, where every member
    holds their organization role's counterpart."""
    access = default_workspace_access(organization_access(request.member).member)
    access.require(capability)
    return access


@require_GET
@vary_on_headers("HX-Request")
def organization_limits(request: ConsoleRequest) -> HttpResponse:
    access = _organization_limits_access(request, "limits.view")
    manages_requests = organization_access(request.member).can("limits.increase_requests.manage")
    context = {
        "access": access,
        "limits": selectors.organization_effective_limits(access.member.organization),
        "editable": access.can("limits.edit"),
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
def organization_spend_limit_change(request: ConsoleRequest) -> HttpResponse:
    access = _organization_limits_access(request, "limits.edit")
    organization = access.member.organization
    limits = selectors.organization_effective_limits(organization)
    current = limits.settings.spend_limit_cents
    return _amount_dialog(
        request,
        form_class=SpendLimitForm,
        save=lambda cents: services.organization_spend_limit_set(
            actor=Actor.from_request(request), organization=organization, amount_cents=cents
        ),
        title="Change spend limit",
        template="billing/spend_limit_form.html",
        context={"limits": limits, "action": reverse("billing:organization_spend_limit_change")},
        cancel_url=reverse("billing:organization_limits"),
        message="Spend limit saved.",
        initial={"amount": None if current is None else money.dollars(current)},
    )


@require_http_methods(["GET", "POST"])
def organization_notification_add(request: ConsoleRequest) -> HttpResponse:
    access = _organization_limits_access(request, "limits.edit")
    organization = access.member.organization
    return _amount_dialog(
        request,
        form_class=NotificationForm,
        save=lambda cents: services.spend_notification_add(
            actor=Actor.from_request(request),
            organization=organization,
            workspace=None,
            amount_cents=cents,
        ),
        title="Add notification",
        template="billing/notification_form.html",
        context={
            "scope": organization.name,
            "action": reverse("billing:organization_notification_add"),
        },
        cancel_url=reverse("billing:organization_limits"),
        message="Notification added.",
    )


@require_http_methods(["GET", "POST"])
def organization_notification_remove(request: ConsoleRequest, amount_cents: int) -> HttpResponse:
    access = _organization_limits_access(request, "limits.edit")
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
