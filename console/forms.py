from datetime import UTC, date, datetime
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from console import validation


def choice(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """The form's choice field `name`, whose choices are set when the form is made."""
    return cast(forms.ChoiceField, form.fields[name])


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's `ValidationError` in `form`: under its field when the form has that
    field, else at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class DateField(forms.DateField):
    """A calendar date, YYYY-MM-DD, within the range every path accepts: parsed and checked
    by `console.validation`, so a form says what the Admin API says. `what`, when given,
    names the field in the message (for errors shown apart from their field)."""

    widget = forms.DateInput(attrs={"type": "date"})

    def __init__(self, *, what: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.what = what

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        try:
            if isinstance(value, datetime):
                return validation.check_date(value.date())
            if isinstance(value, date):
                return validation.check_date(value)
            return validation.parse_date(str(value).strip())
        except ValidationError as error:
            raise _named(error, self.what) from None


class HourField(forms.Field):
    """An hour in UTC, such as 2026-11-01T13 (minutes, if given, are dropped; an offset is
    converted), within the range every path accepts (`console.validation`)."""

    def __init__(self, *, what: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.what = what

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            if isinstance(value, datetime):
                moment = validation.check_datetime(value)
            else:
                moment = validation.parse_datetime(str(value).strip())
        except ValidationError as error:
            raise _named(error, self.what) from None
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.replace(minute=0, second=0, microsecond=0)


def _named(error: ValidationError, what: str) -> ValidationError:
    message = " ".join(error.messages)
    code = getattr(error, "code", None) or "invalid"
    return ValidationError(f"{what}: {message}" if what else message, code=code)
