"""`NoOpPolicy`: passes everything through; the default."""

from luthien_proxy.policies.base import LuthienPolicy


class NoOpPolicy(LuthienPolicy):
    """Changes nothing; calls are still recorded and published."""
