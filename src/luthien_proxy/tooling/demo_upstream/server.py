"""Command-line entry for the demo upstream: `luthien demo-upstream [--host] [--port]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from luthien_proxy.tooling.demo_upstream.app import DemoDefaults, create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the demo-upstream options to `parser` (or a new one) so the main CLI can reuse them."""
    p = parser or argparse.ArgumentParser(prog="luthien demo-upstream", description=__doc__)
    p.add_argument("--host", default=DEFAULT_HOST, help="bind address (default: %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="bind port (default: %(default)s)")
    p.add_argument("--long-chunks", type=int, default=50, help="demo-long default chunk count")
    p.add_argument("--long-delay-ms", type=float, default=0.0, help="demo-long default delay per chunk")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default: %(default)s)")
    return p


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    long_chunks: int = 50,
    long_delay_ms: float = 0.0,
    log_level: str = "warning",
) -> None:
    """Serve the demo upstream until interrupted."""
    app = create_app(DemoDefaults(long_chunks=long_chunks, long_delay_ms=long_delay_ms))
    # Access logs cost measurable time per request and this server doubles as a benchmark upstream.
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the server with the options `build_parser` parsed; returns a process exit code."""
    run(
        args.host,
        args.port,
        long_chunks=args.long_chunks,
        long_delay_ms=args.long_delay_ms,
        log_level=args.log_level,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the server; returns a process exit code."""
    return run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
