"""Admin API: rate limits, spend limits (with their increase requests), spend notifications,
and the usage and cost reports, one router for the app made of one per resource.

Shapes follow the `anthropic` SDK's rate-limit and spend-limit types; the reports follow
Anthropic's usage and cost reports, and the analytics ones the SDK's analytics types; all
read `billing.reports`, the engine of the pages.
Money is in cents as decimal strings.
"""

from ninja import Router

from billing.api import analytics, limits, reports, spend_limits

router = Router()
router.add_router("", limits.router)
router.add_router("", spend_limits.router)
router.add_router("", reports.router)
router.add_router("", analytics.router)
