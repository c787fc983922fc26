"""Console's own Messages API: `/v1/messages` (streamed or not), `/v1/messages/count_tokens`,
`/v1/models` and `/v1/models/{model_id}`, for the workspace API keys Console issues.

A plain ASGI application (`app.gateway`) answers these paths ahead of Django's handler, so
a request to the gateway pays for no session, CSRF, organization or login middleware, and
makes no SQL query once the key, the limits and the routes are cached. Every request to
`/v1/messages` is checked by the enforcement engine before it is forwarded (`engine`), its
input tokens bounded from above first (`bounds`); the upstream's answer is passed on as it
arrives while its usage is read (`metering`), and the request is settled exactly once,
whatever happens (`forwarding`), a failed settle retried until it is recorded
(`settling`). Refusals are counted off the request path (`refusals`). `clients` holds the
connection pools to the model servers and the built-in demo server; `lookups` the cached
routes and keys.
"""
