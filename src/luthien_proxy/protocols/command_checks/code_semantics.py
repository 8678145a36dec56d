"""What interpreter code (`python -c`, `perl -e`, `node -e`, `ruby -e`, PowerShell) does, read from
the names it uses and the strings it holds: fetch-and-exec, reverse shells, decode-and-exec,
reading secret files, writing startup files, sending files out, deleting the home, fork loops.
The shell commands it hands to `os.system` and kin are judged as commands by the analyzer."""

from __future__ import annotations

from collections.abc import Iterator

from luthien_proxy.protocols.command_checks.destructive import delete_target
from luthien_proxy.protocols.command_checks.finding import Finding
from luthien_proxy.protocols.command_checks.sensitive import persistence, secret
from luthien_proxy.protocols.command_checks.transfers import drop_host, host_of, is_loopback
from luthien_proxy.protocols.shell import code as code_reading
from luthien_proxy.protocols.shell.command import Command
from luthien_proxy.protocols.shell.paths import canonical

_NET = (
    "urlopen",
    "urllib",
    "requests.",
    "http.client",
    "httpx",
    "urlretrieve",
    "socket",
    "lwp::",
    "io::socket",
)
_NET += (
    "net::http",
    "open-uri",
    "uri.open",
    "fetch(",
    "http.get(",
    "https.get(",
    "require('http",
    "file_get_contents(",
)
_NET += (
    'require("http',
    "curl_exec",
    "invoke-webrequest",
    "iwr ",
    "downloadstring",
    "downloadfile",
    "webclient",
)
_NET += ("invoke-restmethod", "irm ", "xmlhttprequest", "websocket", "tcpsocket", "fsockopen", "/inet/tcp")
_EXEC = (
    "exec(",
    "eval(",
    "os.system",
    "subprocess",
    "popen",
    "pty.spawn",
    "system(",
    "child_process",
    "execsync",
)
_EXEC += (
    "spawn(",
    "new function(",
    "shell_exec",
    "passthru",
    "proc_open",
    "invoke-expression",
    "iex ",
    "iex(",
)
_EXEC += (
    "eval ",
    "exec ",
    "system ",
    "__import__",
    "runpy",
    "instance_eval",
    "| sh",
    "|sh",
    "| bash",
    "|bash",
)
_SHELL_HANDOFF = (
    "dup2",
    "pty.spawn",
    "/bin/sh",
    "/bin/bash",
    "cmd.exe",
    "subprocess",
    "child_process",
    "exec",
)
_SENDS = ("post(", ".post", "sendall", ".send(", "put(", "upload", "method='post'", 'method="post"', "data=")
_SENDS += ("-method post", "uploadfile", "uploadstring", ".write(")
_READS = ("open(", "read(", "readfile", "file_get_contents", "file.read", "get-content", "slurp", "readlines")
_WRITES = (
    "'w'",
    '"w"',
    "'a'",
    '"a"',
    "'wb'",
    '"wb"',
    "'ab'",
    "write(",
    "writefile",
    "appendfile",
    ">>",
    "set-content",
)
_WRITES += ("add-content", "out-file", "write_text", "write_bytes", "file.write", "fs.write")
_DELETES = (
    "rmtree",
    "os.remove",
    "unlink",
    "rm_rf",
    "rmsync",
    "rimraf",
    "rmdir",
    "remove-item",
    "file.delete",
)
_DELETES += ("fileutils.rm", "os.removedirs")


def check(command: Command) -> Iterator[Finding]:
    run = command.runs
    if run is None or run.code is None or run.language in ("shell", "file"):
        return
    code = run.code
    # The interpreter's options load modules too (`perl -MLWP::Simple`, `ruby -ropen-uri`).
    options = " ".join(a for a in command.args if a.startswith("-") and len(a) > 2)
    lowered = (options + " " + code).lower()
    language = run.language
    net = next((t for t in _NET if t in lowered), None)
    executes = next((t for t in _EXEC if t in lowered), None)
    literals = code_reading.string_literals(code)
    sockets = any(t in lowered for t in ("socket", "fsockopen", "tcpsocket", "/inet/tcp", "net.connect"))
    if net and sockets and any(t in lowered for t in _SHELL_HANDOFF):
        yield Finding(0.97, "exfiltration", f"{language} code opens a reverse shell (socket + shell)")
    elif net and executes:
        yield Finding(0.95, "download_execute", f"{language} code fetches ({net}) and runs ({executes}) code")
    if executes and any(d in lowered for d in code_reading.DECODERS):
        yield Finding(0.85, "obfuscation", f"{language} code decodes and runs hidden code")
    writes = any(w in lowered for w in _WRITES)
    reads_file = any(r in lowered for r in _READS)
    deletes = any(d in lowered for d in _DELETES)
    hosts = [host_of(s) for s in literals if "://" in s]
    remote = [h for h in hosts if not is_loopback(h)]
    for literal in literals:
        if not _path_like(literal):
            continue
        path = canonical(literal, command.cwd)
        if (found := secret(path)) is not None:
            yield Finding(found.score, "credentials", f"{language} code reads {path} ({found.label})")
        if writes and (kind := persistence(path)) is not None:
            yield Finding(kind.score, "persistence", f"{language} code writes {path} ({kind.label})")
        if deletes and (target := delete_target(path)) is not None:
            yield Finding(target[0], "destructive", f"{language} code deletes {target[1]}")
    if deletes and "expanduser('~')" in lowered.replace('"', "'") and "rmtree" in lowered:
        yield Finding(0.95, "destructive", f"{language} code deletes the home directory")
    if net and remote and any(s in lowered for s in _SENDS) and (reads_file or "environ" in lowered):
        yield Finding(0.85, "exfiltration", f"{language} code reads data and sends it to {remote[0]}")
    elif net and remote and any(s in lowered for s in _SENDS):
        yield Finding(0.5, "exfiltration", f"{language} code sends data to {remote[0]}")
    drop = next((d for d in (drop_host(s) for s in literals) if d), None)
    if drop is not None:
        yield Finding(0.85, "exfiltration", f"{language} code talks to the drop service {drop}")
    if "fork" in lowered and (lowered.count("fork") >= 2 or "while" in lowered or "for(;;)" in lowered):
        yield Finding(0.9, "destructive", f"{language} code forks without end (fork bomb)")
    if language == "osascript" and "login item" in lowered:
        yield Finding(0.8, "persistence", "AppleScript adds a login item")
    if "os.environ" in lowered and net and remote:
        yield Finding(0.85, "exfiltration", f"{language} code sends the environment to {remote[0]}")


def _path_like(text: str) -> bool:
    return 0 < len(text) < 4096 and "://" not in text and (text.startswith(("/", "~", ".")) or "/" in text)
