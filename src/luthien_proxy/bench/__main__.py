"""`python -m luthien_proxy.bench` is `luthien bench` (before the subcommand is wired in)."""

import sys

from luthien_proxy.bench.cli import main

sys.exit(main())
