"""Download-and-execute and hidden code: code an interpreter gets from the network (a pipe, a
substitution, a file fetched earlier), code decoded on the fly, commands whose names are computed,
and packages installed from outside the registries."""

from __future__ import annotations

from collections.abc import Iterator

from luthien_proxy.protocols.command_checks.finding import Finding, State, quote
from luthien_proxy.protocols.command_checks.transfers import transfer
from luthien_proxy.protocols.shell.command import Command
from luthien_proxy.protocols.shell.paths import UNKNOWN, canonical

#: Programs that read from the network to standard output (raw sockets and scripted fetches too).
_RAW_FETCHERS = {"nc", "ncat", "netcat", "socat", "telnet", "openssl", "tftp", "ftp", "lynx", "links", "w3m"}
_DECODER_VIA = ("base64", "base32", "xxd", "openssl", "gunzip", "zcat", "gzip", "rev", "tr ", "printf")
_INSTALLERS = {"pip", "pip3", "uv", "pipx", "npm", "pnpm", "yarn", "gem", "cargo", "go", "composer", "bun"}
_NET_CODE = ("urlopen", "urllib", "requests.get", "http.client", "httpx", "lwp::", "net::http", "open-uri")
_NET_CODE += ("uri.open", "fetch(", "http.get(", "https.get(", "downloadstring", "invoke-webrequest", "iwr ")


def fetches(command: Command) -> bool:
    """Whether `command` writes something it fetched from the network to its standard output."""
    found = transfer(command)
    if found is not None:
        return found.to_stdout and bool(found.urls)
    if command.argv and command.argv[0].unknown and any("://" in a for a in command.args):
        return True  # a computed program given a URL: assume the worst
    if command.program in _RAW_FETCHERS:
        return True
    if command.program in ("ssh",) and len(command.argv) > 2:
        return True
    code = (command.runs.code or "").lower() if command.runs else ""
    return any(token in code for token in _NET_CODE)


def _fetcher(commands: list[Command] | tuple[Command, ...]) -> Command | None:
    pending, seen = list(commands), 0
    while pending and seen < 64:
        command = pending.pop()
        seen += 1
        if fetches(command):
            return command
        pending.extend(command.stdin_from)
        pending.extend(command.children)
    return None


def note_downloads(command: Command, state: State) -> None:
    """Remember the files `command` saves from the network (`curl -o x`, `wget URL`, `curl .. > x`)."""
    found = transfer(command)
    if found is not None:
        for path in found.saved_to:
            state.add_download(path, command)
        if found.to_stdout:
            for path in command.writes():
                state.add_download(path, command)
    elif command.program == "tee" and _fetcher(command.stdin_from):
        for arg in command.args:
            if not arg.startswith("-"):
                state.add_download(canonical(arg, command.cwd), command)
    elif _fetcher(command.stdin_from) is not None:
        for path in command.writes():
            state.add_download(path, command)


def check(command: Command, state: State) -> Iterator[Finding]:
    run = command.runs
    if run is not None:
        yield from _runs(command, state)
    if command.program == "chmod":
        for arg in [a for a in command.args if not a.startswith("-")][1:]:  # after the mode
            source = state.downloaded(canonical(arg, command.cwd))
            if source is not None:
                yield Finding(
                    0.85, "download_execute", f"makes {arg}, downloaded by {quote(source)}, executable"
                )
    if command.argv and command.argv[0].unknown:
        score = 0.65 if any("://" in a for a in command.args) else 0.35
        yield Finding(
            score, "obfuscation", f"runs a program whose name is computed at run time ({quote(command)})"
        )
    if "glob" in command.wrappers:
        yield Finding(0.75, "obfuscation", f"names the program with a wildcard ({quote(command)})")
    if command.program in _INSTALLERS:
        yield from _install(command)


def _runs(command: Command, state: State) -> Iterator[Finding]:
    run = command.runs
    assert run is not None
    interpreter = command.program or run.language
    if run.stdin and command.stdin_from:
        source = _fetcher(command.stdin_from)
        if source is not None:
            yield Finding(0.97, "download_execute", f"{quote(source)} is piped into {interpreter}")
        elif run.code is None and _decoded(command.feeders()):
            yield Finding(0.85, "obfuscation", f"{interpreter} runs decoded data it cannot show")
        elif run.code is None:
            feeder = command.stdin_from[0]
            yield Finding(0.35, "download_execute", f"{interpreter} runs the output of {quote(feeder)}")
    if run.sources:
        source = _fetcher(run.sources)
        if source is not None:
            yield Finding(0.97, "download_execute", f"{interpreter} runs code fetched by {quote(source)}")
        elif run.code is not None and UNKNOWN in run.code:
            yield Finding(0.4, "obfuscation", f"{interpreter} runs code computed by a command substitution")
    if run.file is not None:
        source = state.downloaded(run.file)
        if source is not None:
            yield Finding(0.95, "download_execute", f"runs {run.file}, downloaded by {quote(source)}")
        elif run.file.startswith(("/tmp/", "/dev/shm/", "/var/tmp/")) and run.language == "file":
            yield Finding(0.4, "download_execute", f"runs a program from a temporary directory ({run.file})")
    if run.code is not None and UNKNOWN not in run.code and _decoded_via(command, run.stdin):
        yield Finding(0.75, "obfuscation", f"{interpreter} runs commands hidden by encoding")
    if command.program == "eval" and run.code is not None and UNKNOWN in run.code and not run.sources:
        yield Finding(0.6, "obfuscation", "evaluates text that cannot be read before it runs")
    if command.program == "deno" and any("://" in a for a in command.args):
        yield Finding(0.9, "download_execute", f"runs a remote script ({quote(command)})")


def _decoded(commands: list[Command]) -> bool:
    return any(c.program in ("base64", "base32", "xxd", "openssl", "gunzip", "zcat") for c in commands)


def _decoded_via(command: Command, from_stdin: bool) -> bool:
    """Whether the code `command` runs was decoded: fed by a decoder, or spliced from one."""
    if from_stdin and _decoded(command.feeders()):
        return True
    run = command.runs
    return run is not None and any(_decoded([s, *s.feeders()]) for s in run.sources)


def _install(command: Command) -> Iterator[Finding]:
    args = command.args
    if not any(a in ("install", "add", "i", "get") for a in args[:3]):
        return
    for index, arg in enumerate(args):
        index_url = None
        if arg in ("--index-url", "-i", "--extra-index-url", "--registry") and index + 1 < len(args):
            index_url = args[index + 1]
        elif arg.startswith(("--index-url=", "--extra-index-url=", "--registry=")):
            index_url = arg.split("=", 1)[1]
        elif "://" in arg and not arg.startswith(("git+https://github.com/", "https://github.com/")):
            yield Finding(0.5, "download_execute", f"installs a package straight from a URL ({arg})")
        if index_url is not None:
            local = "localhost" in index_url or "127.0.0.1" in index_url
            plain = index_url.startswith("http://") and not local
            score = 0.6 if plain or index_url.split("://")[-1][:1].isdigit() else 0.45
            yield Finding(score, "download_execute", f"installs packages from another index ({index_url})")
