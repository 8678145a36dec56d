"""`python -m luthien_proxy.tooling.bench` is `luthien bench` (before the subcommand is wired in)."""

import sys

from luthien_proxy.tooling.bench.cli import main

sys.exit(main())
