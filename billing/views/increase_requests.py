"""Spend limit increase requests: a member asks for a higher limit of a workspace on its
Limits tab; the organization's admins answer on Settings > Limits > Increase requests."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from billing import money, selectors, services
from billing.forms import SpendLimitIncreaseApproveForm, SpendLimitIncreaseRequestForm
from billing.models import IncreaseRequestStatus, SpendLimitIncreaseRequest
from console.forms import add_service_errors
from console.htmx import Event, confirm_action, dialog_done, render_dialog, render_page
from workspaces.access import organization_access, workspace_access


@require_http_methods(["GET", "POST"])
def spend_limit_increase_request_create(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "limits.request_increase")
    form = SpendLimitIncreaseRequestForm(request.POST or None)
    cancel_url = reverse("billing:workspace_limits", args=[workspace.public_id])
    if request.method == "POST" and form.is_valid():
        try:
            services.spend_limit_increase_request_create(
                actor=Actor.from_request(request),
                workspace=workspace,
                amount_cents=money.to_cents(form.cleaned_data["amount"]),
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=cancel_url,
                message="Your request was sent to the organization's admins.",
                events=(Event.LIMITS_CHANGED,),
            )
    return render_dialog(
        request,
        "billing/spend_limit_increase_request_create_dialog.html",
        {
            "form": form,
            "workspace": workspace,
            "access": access,
            "action": reverse(
                "billing:spend_limit_increase_request_create", args=[workspace.public_id]
            ),
        },
        cancel_url=cancel_url,
    )


@require_GET
@vary_on_headers("HX-Request")
def spend_limit_increase_request_list(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "limits.increase_requests.manage")
    requests = list(selectors.increase_requests(access.member.organization)[:200])
    pending = [r for r in requests if r.current_status() == IncreaseRequestStatus.PENDING]
    answered = [r for r in requests if r.current_status() != IncreaseRequestStatus.PENDING]
    return render_page(
        request,
        "billing/spend_limit_increase_request_list.html",
        {"access": access, "pending": pending, "answered": answered},
        partial="requests",
    )


def _increase_request(request: ConsoleRequest, request_id: str) -> SpendLimitIncreaseRequest:
    access = organization_access(request.member, "limits.increase_requests.manage")
    found = (
        selectors.increase_requests(access.member.organization)
        .filter(public_id=request_id)
        .select_related("workspace__organization", "organization")
        .first()
    )
    if found is None:
        raise Http404("No such increase request.")
    return found


@require_http_methods(["GET", "POST"])
def spend_limit_increase_request_approve(request: ConsoleRequest, request_id: str) -> HttpResponse:
    increase = _increase_request(request, request_id)
    form = SpendLimitIncreaseApproveForm(
        request.POST or None, initial={"amount": money.dollars(increase.amount_cents)}
    )
    cancel_url = reverse("billing:spend_limit_increase_request_list")
    if request.method == "POST" and form.is_valid():
        try:
            services.spend_limit_increase_request_approve(
                actor=Actor.from_request(request),
                increase=increase,
                amount_cents=money.to_cents(form.cleaned_data["amount"]),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=cancel_url,
                message=f"Approved: {increase.workspace.name}'s limit is now "
                f"{money.usd(money.to_cents(form.cleaned_data['amount']))} a month.",
                events=(Event.INCREASE_REQUESTS_CHANGED,),
            )
    return render_dialog(
        request,
        "billing/spend_limit_increase_request_approve_dialog.html",
        {
            "form": form,
            "increase": increase,
            "action": reverse(
                "billing:spend_limit_increase_request_approve", args=[increase.public_id]
            ),
        },
        cancel_url=cancel_url,
    )


@require_http_methods(["GET", "POST"])
def spend_limit_increase_request_deny(request: ConsoleRequest, request_id: str) -> HttpResponse:
    increase = _increase_request(request, request_id)
    return confirm_action(
        request,
        perform=lambda: services.spend_limit_increase_request_deny(
            actor=Actor.from_request(request), increase=increase
        ),
        template_name="billing/spend_limit_increase_request_deny_dialog.html",
        context={
            "increase": increase,
            "action": reverse(
                "billing:spend_limit_increase_request_deny", args=[increase.public_id]
            ),
        },
        cancel_url=reverse("billing:spend_limit_increase_request_list"),
        message="Request denied.",
        events=(Event.INCREASE_REQUESTS_CHANGED,),
    )
