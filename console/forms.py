from typing import cast

from django import forms
from django.core.exceptions import ValidationError


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
