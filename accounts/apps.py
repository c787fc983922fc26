from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts import audit_text  # noqa: F401  (registers how its actions read)
        from accounts.views import account

        user_logged_in.connect(
            account.account_time_zone_detect, dispatch_uid="account_time_zone_detect"
        )
