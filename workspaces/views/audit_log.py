"""Settings > Audit log: every change made in the organization, newest first."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET

from accounts import audit, selectors
from accounts.forms import AuditFilterForm
from accounts.http import ConsoleRequest
from console.htmx import render_page
from console.pagination import cursor_page
from workspaces.access import organization_access


@require_GET
def audit_log(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "audit.view")
    organization = access.member.organization
    actors = [
        (m.user.public_id, m.user.email) for m in selectors.organization_members(organization)
    ]
    form = AuditFilterForm(request.GET or None, actions=audit.ACTIONS, actors=actors)
    filters = selectors.AuditFilters()
    if form.is_valid():
        filters = selectors.AuditFilters(
            action=form.cleaned_data["action"], actor=form.cleaned_data["actor"]
        )
    page = cursor_page(
        selectors.audit_events(organization, filters), cursor=request.GET.get("cursor"), size=50
    )
    context = {"access": access, "form": form, "page": page, "action_labels": audit.ACTIONS}
    return render_page(request, "workspaces/audit_log.html", context, partial="results")
