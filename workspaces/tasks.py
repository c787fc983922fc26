from django.tasks import task

from workspaces import services


@task
def api_key_expiry_notices_send() -> int:
    """Send the notices due about keys that expire soon (run it hourly)."""
    return services.api_key_expiry_notices_send()
