"""Allow `python -m luthien_proxy.tooling.demo_upstream`."""

from luthien_proxy.tooling.demo_upstream.server import main

raise SystemExit(main())
