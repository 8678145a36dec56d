"""`python -m luthien_proxy` is the `luthien` command."""

import sys

from luthien_proxy.cli import main

sys.exit(main())
