"""Settings > Usage and Settings > Cost: filters in the URL, charts, tables and CSV."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from accounts.http import ConsoleRequest
from accounts.models import KeyStatus
from billing import charts, money, reports, selectors
from billing.forms import ReportFilterForm
from billing.models import Model
from billing.money import dollars, usd
from console.csv_export import csv_response
from console.htmx import render_page
from workspaces.access import organization_access, workspace_scope
from workspaces.models import ApiKey, Workspace

LIMITER_LABELS = {
    "requests_per_minute": "Requests per minute",
    "input_tokens_per_minute": "Input tokens per minute",
    "output_tokens_per_minute": "Output tokens per minute",
    "workspace_spend_limit": "Workspace spend limit",
    "organization_spend_limit": "Organization spend limit",
    "tier_spend_cap": "Usage tier cap",
}


@dataclass
class Filters:
    form: ReportFilterForm
    scope: reports.ReportScope | None
    workspaces: list[Workspace]
    models: list[Model]
    errors: list[str]
    key_choices: selectors.KeyChoices
    selected_key: ApiKey | None = None

    @property
    def selected_range(self) -> str:
        cleaned = getattr(self.form, "cleaned_data", {}) or {}
        return cleaned.get("range") or self.form.data.get("range") or "this_month"


def _filters(request: ConsoleRequest, capability: str, *, by_hour: bool) -> Filters:
    """The report's scope from the URL, limited to the workspaces where the viewer holds
    `capability` ("usage.view" or "cost.view"); `by_hour`: the report drills into days and
    hours.

    Workspaces and API keys of other organizations (or ones the viewer cannot see) are a
    404; other bad input is a message on the page.
    """
    member = organization_access(request.member).member
    where = workspace_scope(member, capability)
    workspaces = list(where.workspaces)
    allowed = None if where.every else workspaces
    models = list(Model.objects.select_related("group").order_by("group__position", "api_name"))
    form = ReportFilterForm(request.GET, today=datetime.now(UTC).date())
    errors: list[str] = []
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    if not valid:
        errors = [str(message) for messages in form.errors.values() for message in messages]
    # The workspace and key are looked up even when another filter is wrong, so the filter
    # bar still shows them (and offers the workspace's keys).
    workspace_id = data.get("workspace", form.data.get("workspace", ""))
    workspace = None
    if workspace_id:
        workspace = next((w for w in workspaces if w.public_id == workspace_id), None)
        if workspace is None:
            if Workspace.objects.filter(public_id=workspace_id).exists():
                raise Http404("No such workspace.")
            errors.append("No workspace has that ID; showing none. Choose one from the list.")
    api_key = None
    key_id = data.get("key", form.data.get("key", ""))
    if key_id:
        api_key = ApiKey.objects.filter(public_id=key_id).select_related("workspace").first()
        visible = {w.pk for w in workspaces}
        if api_key is not None and (
            api_key.organization_id != member.organization_id or api_key.workspace_id not in visible
        ):
            raise Http404("No such API key.")
        if api_key is None:
            errors.append("No API key has that ID. Choose one from the list.")
        elif workspace is not None and api_key.workspace_id != workspace.pk:
            errors.append(
                f"The API key “{api_key.name}” is in {api_key.workspace.name}, not in "
                f"{workspace.name}. Choose one of {workspace.name}'s keys, or All Workspaces."
            )
    key_choices = selectors.report_key_choices(
        member.organization,
        workspaces=[workspace] if workspace is not None else allowed,
        search=data.get("key_search", ""),
    )
    if api_key is not None and api_key not in key_choices.keys:
        key_choices = selectors.KeyChoices([api_key, *key_choices.keys], key_choices.more)
    model = None
    if data.get("model"):
        model = next((m for m in models if m.api_name == data["model"]), None)
        if model is None:
            errors.append(f"“{data['model'][:80]}” is not a model in the catalog.")
    filters = Filters(form, None, workspaces, models, errors, key_choices, api_key)
    if errors:
        return filters
    filters.scope = reports.ReportScope(
        organization=member.organization,
        workspaces=allowed,
        workspace=workspace,
        start=data["start"],
        end=data["end"],
        model=model,
        api_key=api_key,
        day=data["day"] if by_hour else None,
        hour=data["hour"] if by_hour else None,
    )
    return filters


@require_GET
def report_key_choices(request: ConsoleRequest, capability: str) -> JsonResponse:
    """The key picker's search beyond the keys the page lists: the keys of the chosen
    workspace (or of every workspace the viewer may report on) matching `q`."""
    member = organization_access(request.member).member
    where = workspace_scope(member, capability)
    workspace_id = request.GET.get("workspace", "")
    workspaces: list[Workspace] | None = None if where.every else list(where.workspaces)
    if workspace_id:
        workspace = next((w for w in where.workspaces if w.public_id == workspace_id), None)
        if workspace is None:
            raise Http404("No such workspace.")
        workspaces = [workspace]
    choices = selectors.report_key_choices(
        member.organization, workspaces=workspaces, search=request.GET.get("q", "").strip()[:100]
    )
    return JsonResponse(
        {
            "keys": [
                {
                    "id": key.public_id,
                    "name": key.name,
                    "hint": key.hint,
                    "workspace": key.workspace.name,
                    "status": "" if key.current_status() == KeyStatus.ACTIVE else key.status_label,
                }
                for key in choices.keys
            ],
            "more": choices.more,
        }
    )


def _query(request: ConsoleRequest, **changes: str | None) -> str:
    params = request.GET.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    params.pop("format", None)
    return "?" + params.urlencode()


def _drill_links(request: ConsoleRequest, buckets: list, granularity: str) -> dict:
    """Each bucket's link one level down (a day to its hours, an hour to its minutes), the
    rest of the address kept: built from one encoding of it, not one per bucket and chart."""
    if granularity == "minute":
        return {}
    params = request.GET.copy()
    for name in ("format", "hour", *(("day",) if granularity == "day" else ())):
        params.pop(name, None)
    prefix = "?" + (params.urlencode() + "&" if params else "")
    if granularity == "day":
        return {b: f"{prefix}day={b.isoformat()}" for b in buckets}
    return {b: f"{prefix}hour={b:%Y-%m-%dT%H}" for b in buckets}


# What following a bucket's link shows, by the granularity of the chart it is in.
LINK_ACTIONS = {"day": "Show its hours", "hour": "Show its minutes"}
X_TITLES = {"day": "Day (UTC)", "hour": "Hour (UTC)", "minute": "Minute (UTC)"}


def _label(bucket: date | datetime, granularity: str) -> str:
    if granularity == "day":
        return f"{bucket:%b} {bucket.day}"
    return f"{bucket:%H:%M}"


def _bucket_text(bucket: object) -> str:
    if isinstance(bucket, datetime):
        return bucket.isoformat().replace("+00:00", "Z")
    return bucket.isoformat() if isinstance(bucket, date) else str(bucket)


@require_GET
@vary_on_headers("HX-Request")
def usage(request: ConsoleRequest) -> HttpResponse:
    filters = _filters(request, "usage.view", by_hour=True)
    context = {
        "filters": filters,
        "form": filters.form,
        "limiter_labels": LIMITER_LABELS,
        "key_choices_url": reverse("billing:usage_key_choices"),
    }
    scope = filters.scope
    if scope is not None:
        report = reports.usage_report(scope)
        if request.GET.get("format") == "csv":
            return csv_response(
                f"usage-{_csv_period(scope)}.csv",
                ["period_start", "model", "requests", *reports.COUNT_LABELS],
                (
                    [
                        _bucket_text(row.bucket),
                        row.model,
                        row.requests,
                        *(getattr(row, f) for f in reports.COUNT_LABELS),
                    ]
                    for row in report.rows
                ),
            )
        context.update(_usage_context(request, report))
    return render_page(
        request, "billing/usage.html", context, partial="report", status=_status(request, filters)
    )


def _usage_context(request: ConsoleRequest, report: reports.UsageReport) -> dict:
    scope = report.scope
    granularity = scope.granularity
    buckets = scope.buckets()
    # Each (bucket, model)'s (input, output), read many times by the charts and the table.
    tokens = {(row.bucket, row.model): (row.input_tokens, row.output_tokens) for row in report.rows}
    no_tokens = (0, 0)
    links = _drill_links(request, buckets, granularity)
    href = links.get
    labels = {b: _label(b, granularity) for b in buckets}
    x_title = X_TITLES[granularity]
    link_action = LINK_ACTIONS.get(granularity, "")
    input_chart = charts.stacked_bars(
        buckets,
        report.models,
        lambda b, m: tokens.get((b, m), no_tokens)[0],
        label=labels.__getitem__,
        href=href,
        x_title=x_title,
        y_title="Input tokens",
        title="Input tokens by model",
        link_action=link_action,
    )
    output_chart = charts.stacked_bars(
        buckets,
        report.models,
        lambda b, m: tokens.get((b, m), no_tokens)[1],
        label=labels.__getitem__,
        href=href,
        x_title=x_title,
        y_title="Output tokens",
        title="Output tokens by model",
        link_action=link_action,
    )
    limiters = sorted({limiter for _b, limiter, _n in report.refusals})
    refused: dict = defaultdict(int)
    for bucket, limiter, count in report.refusals:
        refused[(bucket, LIMITER_LABELS.get(limiter, limiter))] += count
    refusal_chart = charts.stacked_bars(
        buckets,
        [LIMITER_LABELS.get(limiter, limiter) for limiter in limiters],
        lambda b, label: refused.get((b, label), 0),
        label=labels.__getitem__,
        href=href,
        x_title=x_title,
        y_title="Refused requests",
        title="Rate-limited requests by limiter",
        whole_numbers=True,
        link_action=link_action,
    )
    refused_by_bucket: dict = defaultdict(int)
    for (bucket, _limiter_label), count in refused.items():
        refused_by_bucket[bucket] += count
    table = []
    for b in buckets:
        pairs = [tokens.get((b, m)) for m in report.models]
        # Cells are formatted here: filters per cell would dominate the page's time.
        cells = [f"{pair[0]:,} / {pair[1]:,}" if pair else None for pair in pairs]
        cells += [
            f"{sum(pair[0] for pair in pairs if pair):,}",
            f"{sum(pair[1] for pair in pairs if pair):,}",
            f"{refused_by_bucket.get(b, 0):,}",
        ]
        # Only a bucket with something in it has detail to show.
        has_data = any(pairs) or refused_by_bucket.get(b)
        table.append(
            {
                "bucket": b,
                "label": labels[b],
                "href": href(b) if has_data else None,
                "cells": charts.number_cells(cells),
            }
        )
    return {
        "report": report,
        "totals": report.totals,
        "charts": [input_chart, output_chart],
        "refusal_chart": refusal_chart,
        "table": table,
        "back": _back_link(request, scope),
        "csv_url": _query(request) + "&format=csv",
        "refusal_total": sum(n for _b, _l, n in report.refusals),
        "period_label": _period_label(scope),
    }


def _back_link(request: ConsoleRequest, scope: reports.ReportScope) -> tuple[str, str] | None:
    """The link one level up from a drilled-into day or hour, and its text."""
    if scope.granularity == "minute" and scope.day is not None:
        return (
            _query(request, hour=None, day=scope.day.isoformat()),
            f"← Back to the hours of {scope.day:%b} {scope.day.day}",
        )
    if scope.granularity == "hour":
        return (_query(request, day=None, hour=None), "← Back to days")
    return None


def _period_label(scope: reports.ReportScope) -> str:
    if scope.hour:
        return f"{scope.hour:%A %d %B %Y, %H:00} to {scope.hour + timedelta(hours=1):%H:00} UTC"
    if scope.day:
        return f"{scope.day:%A %d %B %Y} (UTC)"
    return f"{scope.start:%d %b %Y} to {scope.end:%d %b %Y} (UTC)"


@require_GET
@vary_on_headers("HX-Request")
def cost(request: ConsoleRequest) -> HttpResponse:
    filters = _filters(request, "cost.view", by_hour=True)
    context = {
        "filters": filters,
        "form": filters.form,
        "key_choices_url": reverse("billing:cost_key_choices"),
    }
    scope = filters.scope
    if scope is not None:
        report = reports.cost_report(scope)
        if request.GET.get("format") == "csv":
            return _cost_csv(request, report)
        context.update(_cost_context(request, report))
    return render_page(
        request, "billing/cost.html", context, partial="report", status=_status(request, filters)
    )


def _status(request: ConsoleRequest, filters: Filters) -> int:
    """The page shows bad filters above the report (200, so htmx swaps it in); a CSV asked
    for with bad filters is that page too, as a 400, not a download."""
    return 400 if filters.scope is None and request.GET.get("format") == "csv" else 200


def _cost_context(request: ConsoleRequest, report: reports.CostReport) -> dict:
    scope = report.scope
    granularity = scope.granularity
    bucket_totals: dict = {}
    for (bucket, _series), cents in report.daily.items():
        bucket_totals[bucket] = bucket_totals.get(bucket, 0) + cents
    buckets = scope.buckets()
    links = _drill_links(request, buckets, granularity)
    labels = {b: _label(b, granularity) for b in buckets}
    chart = charts.stacked_bars(
        buckets,
        report.series,
        lambda b, s: report.daily.get((b, s), 0),
        label=labels.__getitem__,
        href=links.get,
        fmt=usd,
        y_axis_label=money.axis_label,
        x_title=X_TITLES[granularity],
        y_title="Cost (USD)",
        title=f"Cost per {granularity} by {'model' if scope.workspace else 'workspace'}",
        link_action=LINK_ACTIONS.get(granularity, ""),
    )
    return {
        "report": report,
        "chart": chart,
        "table": [
            {
                "bucket": b,
                "label": labels[b],
                "href": links.get(b) if bucket_totals.get(b) else None,
                "cells": charts.number_cells(
                    [
                        usd(report.daily[(b, s)]) if (b, s) in report.daily else None
                        for s in report.series
                    ]
                ),
                "total": usd(bucket_totals.get(b, 0)),
            }
            for b in buckets
        ],
        "breakdown": [
            {
                "workspace": line.workspace.name,
                "archived": line.workspace.is_archived,
                "model": line.model.api_name,
                "token_type": line.token_label,
                "tokens": f"{line.tokens:,}",
                "cost": usd(line.cost_cents),
            }
            for line in report.lines
        ],
        "back": _back_link(request, scope),
        "period_label": _period_label(scope),
        "csv_url": _query(request) + "&format=csv",
        "breakdown_csv_url": _query(request) + "&format=csv&table=breakdown",
    }


def _cost_csv(request: ConsoleRequest, report: reports.CostReport) -> HttpResponse:
    scope = report.scope
    if request.GET.get("table") == "breakdown":
        return csv_response(
            f"cost-breakdown-{_csv_period(scope)}.csv",
            ["workspace", "workspace_id", "archived", "model", "token_type", "tokens", "cost_usd"],
            (
                [
                    line.workspace.name,
                    line.workspace.public_id,
                    "yes" if line.workspace.is_archived else "no",
                    line.model.api_name,
                    line.token_type,
                    line.tokens,
                    str(dollars(line.cost_cents)),
                ]
                for line in report.lines
            ),
        )
    series_label = "model" if scope.workspace else "workspace"
    # Days are dates; the hours or minutes of a drilled-into period are when each starts.
    period_label = "date" if scope.granularity == "day" else "period_start"
    return csv_response(
        f"cost-{_csv_period(scope)}.csv",
        [period_label, series_label, "cost_usd"],
        (
            [_bucket_text(bucket), series, str(dollars(cents))]
            for (bucket, series), cents in sorted(report.daily.items())
        ),
    )


def _csv_period(scope: reports.ReportScope) -> str:
    """The period an export covers, for its file name."""
    if scope.hour is not None:
        return f"{scope.hour:%Y-%m-%dT%H}"
    if scope.day is not None:
        return scope.day.isoformat()
    return f"{scope.start}-{scope.end}"
