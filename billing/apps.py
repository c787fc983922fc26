from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import audit_text, checks  # noqa: F401  (they register themselves)
