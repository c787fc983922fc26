from datetime import date
from typing import Any, cast

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from accounts import outbox, services, time_zones
from accounts.models import NAME_MAX_LENGTH, Theme
from accounts.roles import OrgRole
from console import validation
from console.forms import choice


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, with the e-mail sent through the outbox: a failing mail server is retried
    later, never an error page for the person asking."""

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        context = kwargs.get("context") or args[2]
        outbox.send_after_commit(services.password_reset_email, context["user"].pk)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "off"})
    )
    role = forms.ChoiceField(choices=OrgRole.choices, initial=OrgRole.USER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=OrgRole.choices)


class NewAccountForm(forms.Form):
    """Accepting an invite as someone without an account yet."""

    name = forms.CharField(
        max_length=NAME_MAX_LENGTH, widget=forms.TextInput(attrs={"autofocus": True})
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not entirely numeric, not a common password.",
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        error_messages={"max_length": "Search for at most 100 characters."},
    )
    action = forms.ChoiceField(required=False)
    actor = forms.ChoiceField(required=False)
    start = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the first day as YYYY-MM-DD."},
    )
    end = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the last day as YYYY-MM-DD."},
    )

    def clean_start(self) -> date | None:
        return self._check_day("start")

    def clean_end(self) -> date | None:
        return self._check_day("end")

    def _check_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None:
            validation.check_date(day, field=None)
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The last day is before the first.")
        return data

    def __init__(
        self,
        *args: Any,
        actions: dict[str, str],
        actors: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        by_label = sorted(actions.items(), key=lambda action: action[1])
        choice(self, "action").choices = [("", "All actions"), *by_label]
        choice(self, "actor").choices = [("", "Everyone"), *actors]


class AdminKeyForm(forms.Form):
    name = forms.CharField(
        max_length=500,
        error_messages={"required": "Give the key a name."},
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
        help_text="Admin keys manage the whole organization through the Admin API.",
    )


class AccountSettingsForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Every time in the console is shown in this zone.",
    )
    theme = forms.ChoiceField(choices=Theme.choices, widget=forms.RadioSelect)

    def __init__(self, *args: Any, current_time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = time_zones.grouped_choices()
        offered = {name for _group, zones in choices for name, _label in zones}
        if current_time_zone and current_time_zone not in offered:
            # An older alias (US/Pacific) the user already has stays selectable.
            choices = [("", [(current_time_zone, current_time_zone)]), *choices]
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = choices
