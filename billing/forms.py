from decimal import Decimal

from django import forms

from billing.services import MAX_RATE_LIMIT

AMOUNT_ERRORS = {
    "invalid": "Enter an amount in US dollars, e.g. 250 or 99.50.",
    "max_decimal_places": "Amounts have at most 2 decimal places (cents).",
    "max_digits": "That amount is too large.",
    "max_whole_digits": "That amount is too large.",
    "min_value": "The amount must be at least $0.01.",
}


def to_cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


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


class NotificationForm(forms.Form):
    amount = forms.DecimalField(
        label="Notify when spend reaches (USD)",
        max_digits=13,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={**AMOUNT_ERRORS, "required": "Enter an amount."},
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "autofocus": True}),
    )
