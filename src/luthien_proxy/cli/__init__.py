"""The `luthien` command line."""

from luthien_proxy.cli.main import main

__all__ = ["main"]
