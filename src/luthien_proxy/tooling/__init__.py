"""Tooling off the request path: bench, scenarios, soak, the demo upstream and the `up` supervisor."""
