"""Exfiltration: data leaving the machine — HTTP uploads of files, piped output or command output
spliced into a URL, raw sockets (`nc`, `/dev/tcp`, `socat`), copies to remote hosts (scp, rsync,
git remotes), DNS and ping carrying data, mail, and drop services (pastebins, webhooks)."""

from __future__ import annotations

from collections.abc import Iterator

from luthien_proxy.protocols.command_checks.credentials import secret_param
from luthien_proxy.protocols.command_checks.finding import Finding, State, quote
from luthien_proxy.protocols.command_checks.sensitive import secret
from luthien_proxy.protocols.command_checks.transfers import drop_host, host_of, is_loopback, transfer
from luthien_proxy.protocols.shell.command import Arg, Command
from luthien_proxy.protocols.shell.paths import UNKNOWN, canonical

_SOCKETS = {"nc", "ncat", "netcat", "socat", "telnet", "cryptcat", "pwncat"}
_DNS = {"dig", "nslookup", "host", "drill", "resolvectl", "getent", "ping", "ping6", "traceroute", "nping"}
_COPIERS = {"scp", "sftp", "rsync", "rclone"}
_MAILERS = {"mail", "mailx", "sendmail", "mutt", "swaks", "msmtp"}
_UPLOADERS = (("aws", "s3", "cp"), ("aws", "s3", "sync"), ("gsutil", "cp"), ("az", "storage", "upload"))
_UPLOADERS += (("gh", "gist", "create"), ("gh", "release", "upload"))


def check(command: Command, state: State) -> Iterator[Finding]:
    program = command.program
    found = transfer(command)
    if found is not None:
        yield from _http(command, found.urls, found.files_sent, found.sends_stdin, found.sent, found.method)
    elif program in _SOCKETS or (program == "openssl" and "s_client" in command.args):
        yield from _socket(command)
    elif program in _DNS:
        yield from _dns(command)
    elif program in _COPIERS:
        yield from _copy(command)
    elif program == "ssh" and command.stdin_from:
        yield Finding(0.85, "exfiltration", f"pipes {quote(command.stdin_from[0])} to {quote(command)}")
    elif program in _MAILERS and (command.stdin_from or "-a" in command.args or "-A" in command.args):
        yield Finding(0.8, "exfiltration", f"mails data out ({quote(command)})")
    elif program == "git":
        yield from _git(command, state)
    for words in _UPLOADERS:
        if program == words[0] and all(w in command.args for w in words[1:]):
            score = 0.8 if words[0] == "gh" else 0.5
            yield Finding(score, "exfiltration", f"uploads files to a cloud service ({quote(command)})")
    yield from _dev_tcp(command)
    yield from _serves(command)


def _http(
    command: Command, urls: list[Arg], files: list[str], stdin: bool, sent: list[Arg], method: str
) -> Iterator[Finding]:
    remote = [u for u in urls if not is_loopback(host_of(u.text))]
    if not remote:
        return
    host = host_of(remote[0].text)
    drop = next((d for d in (drop_host(u.text) for u in remote) if d), None)
    for path in files:
        found = secret(path)
        score = max(0.95 if found else 0.7, 0.9 if drop else 0.0)
        what = f"{path} ({found.label})" if found else path
        yield Finding(score, "exfiltration", f"uploads {what} to {host}")
    if stdin and command.stdin_from:
        yield Finding(0.9, "exfiltration", f"sends the output of {quote(command.stdin_from[0])} to {host}")
    elif stdin:
        yield Finding(0.6, "exfiltration", f"sends its standard input to {host}")
    for arg in [*sent, *remote]:
        if arg.sources:
            yield Finding(0.9, "exfiltration", f"sends command output to {host} ({quote(command)})")
            break
        leaked = secret_param(arg.params)
        if leaked is not None:
            yield Finding(0.9, "exfiltration", f"sends the secret variable {leaked} to {host}")
            break
    if drop is not None:
        yield Finding(
            0.85 if files or stdin or sent else 0.6, "exfiltration", f"talks to the drop service {drop}"
        )
    elif sent or method in ("POST", "PUT"):
        yield Finding(0.4, "exfiltration", f"posts data to {host} ({quote(command)})")


def _socket(command: Command) -> Iterator[Finding]:
    args = command.args
    lowered = " ".join(args).lower()
    shell = (
        any(a in ("-e", "-c", "--exec", "--sh-exec") for a in args)
        or "exec:" in lowered
        or "system:" in lowered
    )
    hosts = [a for a in args if not a.startswith("-") and not a.isdigit()]
    local = all(is_loopback(h.split(":")[-2] if h.count(":") >= 2 else h) for h in hosts) and hosts
    if shell:
        yield Finding(0.97, "exfiltration", f"hands a shell to a network connection ({quote(command)})")
    elif local:
        yield Finding(0.3, "exfiltration", f"opens a local connection ({quote(command)})")
    elif command.stdin_from or any(r.reads for r in command.redirections):
        what = quote(command.stdin_from[0]) if command.stdin_from else "a file"
        yield Finding(0.9, "exfiltration", f"sends {what} over a raw connection ({quote(command)})")
    elif "-l" in args or any(a.startswith("-l") for a in args):
        yield Finding(0.55, "exfiltration", f"listens for connections ({quote(command)})")
    else:
        yield Finding(0.7, "exfiltration", f"opens a raw network connection ({quote(command)})")


def _dns(command: Command) -> Iterator[Finding]:
    names = [a for a in command.argv[1:] if not a.text.startswith(("-", "+", "@"))]
    for name in names:
        if name.sources or UNKNOWN in name.text:
            yield Finding(
                0.9, "exfiltration", f"carries command output in a DNS or ping request ({quote(command)})"
            )
            return
        labels = name.text.split(".")
        if any(len(label) > 40 for label in labels) or secret_param(name.params):
            yield Finding(0.7, "exfiltration", f"looks up a name that encodes data ({quote(command)})")
            return
    if command.program.startswith("ping") and "-p" in command.args:
        yield Finding(0.7, "exfiltration", f"hides data in ping payloads ({quote(command)})")


def _copy(command: Command) -> Iterator[Finding]:
    operands = [a.text for a in command.argv[1:] if not a.text.startswith("-")]
    if len(operands) < 2:
        return
    *sources, destination = operands
    if not _remote(destination) or all(_remote(s) for s in sources):
        return
    host = destination.split(":", 1)[0].rsplit("@", 1)[-1]
    for source in sources:
        found = secret(canonical(source, command.cwd))
        if found is not None:
            yield Finding(0.95, "exfiltration", f"copies {source} ({found.label}) to {host}")
            return
    yield Finding(0.7, "exfiltration", f"copies files to the remote host {host} ({quote(command)})")


def _remote(operand: str) -> bool:
    if "://" in operand:
        return not is_loopback(host_of(operand))
    head = operand.split("/", 1)[0]
    return ":" in head and not is_loopback(head.split(":", 1)[0].rsplit("@", 1)[-1])


def note_remotes(command: Command, state: State) -> None:
    """Remember the git remotes `command` adds or re-points (`git remote add x URL`)."""
    args = [a for a in command.args if not a.startswith("-")]
    adds = args[:1] == ["remote"] and args[1:2] in (["add"], ["set-url"]) and len(args) >= 4
    if command.program == "git" and adds:
        state.remotes.add(args[2])


def _git(command: Command, state: State) -> Iterator[Finding]:
    args = [a for a in command.args if not a.startswith("-")]
    if args[:1] == ["remote"] and args[1:2] in (["add"], ["set-url"]) and len(args) >= 4:
        note_remotes(command, state)
        yield Finding(0.5, "exfiltration", f"points a git remote at {host_of(args[3])}")
    elif args[:1] == ["push"] and len(args) >= 2:
        target = args[1]
        if "://" in target or "@" in target or target in state.remotes:
            yield Finding(0.8, "exfiltration", f"pushes the repository to {target}")


def _dev_tcp(command: Command) -> Iterator[Finding]:
    texts = [a.text for a in command.argv] + [r.target.text for r in command.redirections]
    for text in texts:
        for marker in ("/dev/tcp/", "/dev/udp/"):
            at = text.find(marker)
            if at >= 0:
                host = text[at + len(marker) :].split("/", 1)[0]
                score = 0.4 if is_loopback(host) else 0.95
                yield Finding(score, "exfiltration", f"opens a raw connection to {host} through {marker}")
                return


def _serves(command: Command) -> Iterator[Finding]:
    """`python -m http.server` of the home or the root: every file readable over the network."""
    args = command.args
    if "http.server" not in args and "SimpleHTTPServer" not in args:
        return
    folder = args[args.index("--directory") + 1] if "--directory" in args[:-1] else command.cwd
    if folder is not None and canonical(folder, command.cwd) in ("~", "/"):
        yield Finding(0.75, "exfiltration", f"serves {canonical(folder, command.cwd)} over HTTP")
