"""Settings > Audit log: every change made in the organization, newest first, in words, with
who made it and what it was made to; filtered, searched, paged, and exported as CSV."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts import audit, selectors
from accounts.forms import AuditFilterForm
from accounts.http import ConsoleRequest
from accounts.models import AuditEvent
from console.csv_export import csv_streaming_response
from console.htmx import render_page
from console.pagination import cursor_page
from workspaces.access import organization_access

PAGE_SIZE = 50
CSV_CHUNK = 500


@dataclass(frozen=True)
class AuditRow:
    """An event as the log shows it."""

    event: AuditEvent
    actor_name: str
    actor_email: str
    # How the actor acted when it was not as themselves (an Admin API key, a command).
    actor_via: str
    action: str
    change: str
    target: audit.TargetName


def _rows(organization_id: uuid.UUID, events: list[AuditEvent]) -> list[AuditRow]:
    names = audit.target_names(organization_id, events)
    rows = []
    for event in events:
        person = event.actor
        if person is not None:
            name, email = person.name or person.email, person.email
            via = "" if event.actor_label == person.email else event.actor_label
        else:
            name, email, via = event.actor_label, "", ""
        rows.append(
            AuditRow(
                event=event,
                actor_name=name,
                actor_email=email if email != name else "",
                actor_via=via,
                action=audit.ACTIONS.get(event.action, event.action),
                change=audit.describe(event),
                target=names[(event.target_type, event.target_id)],
            )
        )
    return rows


def _day_start(day: date) -> datetime:
    """Midnight starting `day` in the viewer's zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


@require_GET
@vary_on_headers("HX-Request")
def audit_log(request: ConsoleRequest) -> HttpResponse | StreamingHttpResponse:
    access = organization_access(request.member, "audit.view")
    organization = access.member.organization
    actors = [
        (m.user.public_id, f"{m.user.name} ({m.user.email})" if m.user.name else m.user.email)
        for m in selectors.organization_members(organization)
    ]
    form = AuditFilterForm(request.GET or None, actions=audit.ACTIONS, actors=actors)
    filters = selectors.AuditFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.AuditFilters(
            action=data["action"],
            actor=data["actor"],
            search=data["q"].strip(),
            since=_day_start(data["start"]) if data["start"] else None,
            until=_day_start(data["end"] + timedelta(days=1)) if data["end"] else None,
        )
    events = selectors.audit_events(organization, filters)
    if request.GET.get("format") == "csv":
        return _csv(organization.pk, events)
    page = cursor_page(events, cursor=request.GET.get("cursor"), size=PAGE_SIZE)
    context = {
        "access": access,
        "form": form,
        "page": page,
        "rows": _rows(organization.pk, page.items),
        "filtered": any(
            [filters.action, filters.actor, filters.search, filters.since, filters.until]
        ),
        "zone": timezone.get_current_timezone_name(),
    }
    return render_page(request, "workspaces/audit_log.html", context, partial="results")


CSV_HEADER = [
    "Time",  # ISO 8601 in the viewer's zone, with its offset
    "Actor",
    "Actor e-mail",
    "Acting through",
    "Action",
    "Change",
    "Target type",
    "Target",
    "Target ID",
    "IP address",
]


def _csv(organization_id: uuid.UUID, events: QuerySet[AuditEvent]) -> StreamingHttpResponse:
    """Every event the filters find, newest first, as CSV (written as it is read, in chunks
    whose targets are named together)."""

    def lines() -> Iterator[list[object]]:
        found = events.iterator(chunk_size=CSV_CHUNK)
        while chunk := list(islice(found, CSV_CHUNK)):
            for row in _rows(organization_id, chunk):
                event = row.event
                yield [
                    timezone.localtime(event.created_at).isoformat(timespec="seconds"),
                    row.actor_name,
                    row.actor_email,
                    row.actor_via,
                    row.action,
                    row.change,
                    event.target_type,
                    row.target.name,
                    event.target_id,
                    event.ip_address or "",
                ]

    stamp = timezone.localtime().strftime("%Y-%m-%d")
    return csv_streaming_response(f"audit-log-{stamp}.csv", CSV_HEADER, lines())
