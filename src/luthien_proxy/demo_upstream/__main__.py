"""Allow `python -m luthien_proxy.demo_upstream`."""

from luthien_proxy.demo_upstream.server import main

raise SystemExit(main())
