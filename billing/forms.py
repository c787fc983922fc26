from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms

from billing import money
from billing.reports import MAX_RANGE_DAYS
from billing.services import MAX_RATE_LIMIT
from console.forms import DateField, HourField, choice

AMOUNT_ERRORS = {
    "invalid": "Enter an amount in US dollars, e.g. 250 or 99.50.",
    "max_decimal_places": "Amounts have at most 2 decimal places (cents).",
    "max_digits": "That amount is too large.",
    "max_whole_digits": "That amount is too large.",
    "min_value": "The amount must be at least $0.01.",
}


class RateLimitForm(forms.Form):
    model_group = forms.CharField()
    limiter = forms.CharField()
    value = forms.IntegerField(
        min_value=1,
        max_value=MAX_RATE_LIMIT,
        error_messages={
            "required": "Enter a limit.",
            "invalid": "Enter a whole number.",
            "min_value": "The limit must be greater than zero.",
            "max_value": "That limit is too large.",
        },
        widget=forms.NumberInput(attrs={"min": 1, "step": 1, "autofocus": True}),
    )


class SpendLimitForm(forms.Form):
    amount = forms.DecimalField(
        label="Monthly spend limit (USD)",
        required=False,
        max_digits=13,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages=AMOUNT_ERRORS,
        help_text="Leave empty to remove the limit.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "autofocus": True}),
    )

    def amount_cents(self) -> int | None:
        """The valid form's limit in whole cents; None removes the limit."""
        amount = self.cleaned_data["amount"]
        return None if amount is None else money.to_cents(amount)


class SpendLimitIncreaseRequestForm(forms.Form):
    amount = forms.DecimalField(
        label="Monthly spend limit you need (USD)",
        max_digits=13,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={**AMOUNT_ERRORS, "required": "Enter the limit you need."},
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "autofocus": True}),
    )
    message = forms.CharField(
        label="Why (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The organization's admins read this with your request.",
    )


class SpendLimitIncreaseApproveForm(forms.Form):
    amount = forms.DecimalField(
        label="New monthly spend limit (USD)",
        max_digits=13,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={**AMOUNT_ERRORS, "required": "Enter the new limit."},
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "autofocus": True}),
    )


class NotificationForm(forms.Form):
    amount = forms.DecimalField(
        label="Notify when spend reaches (USD)",
        max_digits=13,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={**AMOUNT_ERRORS, "required": "Enter an amount."},
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "autofocus": True}),
    )

    # The amount above the spend limit that the person was warned about and confirmed.
    confirmed_cents = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def amount_cents(self) -> int:
        """The valid form's amount in whole cents."""
        return money.to_cents(self.cleaned_data["amount"])


def range_choices(today: date) -> list[tuple[str, str]]:
    """This month, rolling windows, each of the previous 12 months, and a custom range."""
    months = []
    first = today.replace(day=1)
    for _ in range(12):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append((f"month:{first:%Y-%m}", f"{first:%B %Y}"))
    return [
        ("this_month", "This month"),
        ("7d", "Last 7 days"),
        ("30d", "Last 30 days"),
        ("90d", "Last 90 days"),
        *months,
        ("custom", "Custom range…"),
    ]


class ReportFilterForm(forms.Form):
    """The filters of the Usage and Cost pages, as they appear in the URL."""

    workspace = forms.CharField(required=False)
    range = forms.ChoiceField(required=False)
    # Dates and hours are checked as everywhere else (console.validation: years 2000 to
    # 2999); errors are shown above the report, apart from their field, so they name it.
    start = DateField(required=False, what="From")
    end = DateField(required=False, what="To")
    model = forms.CharField(required=False)
    key = forms.CharField(required=False, label="API key")
    # Narrows the key filter's choices when there are more keys than it lists (no script;
    # with script the picker searches as one types).
    key_search = forms.CharField(required=False, max_length=100, strip=True)
    day = DateField(required=False, what="Day")
    hour = HourField(required=False, what="Hour")

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        choice(self, "range").choices = range_choices(today)
        self.fields["range"].error_messages["invalid_choice"] = "Choose one of the ranges listed."

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        chosen = data.get("range") or (
            "custom" if data.get("start") or data.get("end") else "this_month"
        )
        today = self.today
        if chosen == "this_month":
            start, end = today.replace(day=1), today
        elif chosen in ("7d", "30d", "90d"):
            start, end = today - timedelta(days=int(chosen[:-1]) - 1), today
        elif chosen.startswith("month:"):
            start = datetime.strptime(chosen[6:], "%Y-%m").date()
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            chosen_start, chosen_end = data.get("start"), data.get("end")
            if chosen_start is None or chosen_end is None:
                raise forms.ValidationError("Choose both the start and the end of the range.")
            start, end = chosen_start, chosen_end
        if end < start:
            raise forms.ValidationError("The end of the range is before its start.")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError("A range can cover at most 13 months.")
        data["range"], data["start"], data["end"] = chosen, start, end
        hour = data.get("hour")
        if hour is not None:
            data["day"] = hour.date()
        return data
