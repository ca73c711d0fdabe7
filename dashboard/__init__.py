"""The SafeStream moderator dashboard: a Panel app run as its own process.

It talks to the app only over HTTP/SSE with a moderator's token from its login form:
`dashboard.client` (API client, SSE parser), `dashboard.frames` and `dashboard.policy`
(pure data transformations), `dashboard.live` (the push feed thread), the Panel views,
and `dashboard.server.run_dashboard` which `safestream dashboard` calls.
"""
