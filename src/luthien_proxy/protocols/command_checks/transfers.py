"""What an HTTP client command does: the URLs and hosts it reaches, what it sends (files, standard
input, spliced command output) and where it saves what it fetches. curl, wget, HTTPie/xh, aria2c."""

from __future__ import annotations

from dataclasses import dataclass, field

from luthien_proxy.protocols.shell.command import Arg, Command
from luthien_proxy.protocols.shell.paths import canonical

HTTP_CLIENTS = {
    "curl",
    "wget",
    "http",
    "https",
    "xh",
    "xhs",
    "aria2c",
    "fetch",
    "lwp-download",
    "lwp-request",
}
_CURL_VALUES = set("oDdFTHXuAebcxmwKrzCEUYyQPt")
_CURL_LONG_VALUES = {
    "--output", "--data", "--data-binary", "--data-raw", "--data-urlencode", "--data-ascii", "--form",
    "--form-string", "--upload-file", "--header", "--request", "--user", "--user-agent", "--referer",
    "--cookie", "--cookie-jar", "--proxy", "--max-time", "--connect-timeout", "--write-out", "--retry",
    "--config", "--resolve", "--cacert", "--cert", "--key", "--range", "--output-dir", "--url",
    "--continue-at", "--limit-rate", "--interface", "--dns-servers", "--json", "--proxy-user",
    "--oauth2-bearer", "--unix-socket", "--max-filesize", "--retry-delay", "--retry-max-time", "--quote",
    "--connect-to", "--doh-url", "--variable", "--time-cond", "--dump-header", "--trace", "--trace-ascii",
    "--stderr", "--mail-from", "--mail-rcpt",
}  # fmt: skip
_CURL_SENDS = {"-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "--data-ascii", "--json"}
_CURL_SENDS |= {"-F", "--form", "--form-string", "-T", "--upload-file"}
_WGET_VALUES = set("OoaPUetTiwQlARDB")
_WGET_LONG_VALUES = {
    "--output-document", "--output-file", "--append-output", "--directory-prefix", "--post-data",
    "--post-file", "--body-data", "--body-file", "--method", "--header", "--user-agent", "--user",
    "--password", "--http-user", "--http-password", "--execute", "--tries", "--timeout", "--input-file",
    "--wait", "--quota", "--level", "--accept", "--reject", "--domains", "--limit-rate", "--referer",
    "--load-cookies", "--save-cookies", "--base",
}  # fmt: skip
_LOOPBACK = ("localhost", "127.", "0.0.0.0", "::1", "[::1]", "0:0:0:0:0:0:0:1", "host.docker.internal")
#: Services an attacker uses to receive data: pastebins, request catchers, tunnels, chat webhooks.
DROP_HOSTS = (
    "transfer.sh", "paste.rs", "0x0.st", "pastebin.com", "termbin.com", "ix.io", "file.io", "webhook.site",
    "requestbin", "pipedream.net", "hookbin.com", "ngrok.io", "ngrok-free.app", "ngrok.app", "interact.sh",
    "oast.", "burpcollaborator.net", "requestcatcher.com", "beeceptor.com", "tmpfiles.org", "catbox.moe",
    "gofile.io", "sprunge.us", "dpaste", "hastebin", "ghostbin", "bashupload.com", "oshi.at",
    "trycloudflare.com",
    "discord.com/api/webhooks", "discordapp.com/api/webhooks", "hooks.slack.com", "api.telegram.org",
)  # fmt: skip


@dataclass
class Transfer:
    """One HTTP client invocation, read from its arguments."""

    urls: list[Arg] = field(default_factory=list[Arg])
    sent: list[Arg] = field(default_factory=list[Arg])  # data arguments: `@file`, `-`, literal text
    files_sent: list[str] = field(default_factory=list[str])
    sends_stdin: bool = False
    method: str = ""
    saved_to: list[str] = field(default_factory=list[str])
    to_stdout: bool = True


def host_of(url: str) -> str:
    """The host of a URL or of a bare `host[:port]/path` argument, lower case."""
    rest = url.split("://", 1)[1] if "://" in url else url
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest.split("]", 1)[0] + "]"
    return rest.split(":", 1)[0].lower()


def is_loopback(host: str) -> bool:
    return host == "" or host.startswith(_LOOPBACK) or host.endswith(".localhost")


def drop_host(url: str) -> str | None:
    """The drop service a URL points at (a pastebin, a webhook catcher, a tunnel), if any."""
    lowered = url.lower()
    return next((h for h in DROP_HOSTS if h in lowered), None)


def transfer(command: Command) -> Transfer | None:
    """The transfer `command` makes, if it is an HTTP client."""
    program = command.program
    if program not in HTTP_CLIENTS:
        return None
    if program == "curl":
        return _curl(command)
    if program == "wget":
        return _wget(command)
    if program in ("aria2c", "fetch", "lwp-download"):
        return _downloader(command)
    found = Transfer()
    args = command.argv[1:]
    for index, arg in enumerate(args):
        text = arg.text
        if text.upper() in ("POST", "PUT", "PATCH", "DELETE") and index == 0:
            found.method = text.upper()
        elif "://" in text or (
            not found.urls and not text.startswith("-") and "." in text and "=" not in text
        ):
            found.urls.append(arg)
        elif "=@" in text or ":=@" in text or text.startswith("@"):
            found.files_sent.append(canonical(text.split("@", 1)[1], command.cwd))
        elif "=" in text and not text.startswith("-"):
            found.sent.append(arg)
    found.sends_stdin = bool(command.stdin_from) and program in ("http", "https", "xh", "xhs")
    return found


def _options(args: list[Arg], short: set[str], long: set[str]) -> list[tuple[str, Arg | None]]:
    """`(option, value)` pairs and `("", arg)` for operands; clusters such as `-sSLo x` split."""
    out: list[tuple[str, Arg | None]] = []
    i = 0
    while i < len(args):
        text = args[i].text
        if text.startswith("--") and len(text) > 2:
            name, equals, value = text.partition("=")
            if equals:
                out.append((name, Arg(value, sources=args[i].sources, params=args[i].params)))
            elif name in long:
                out.append((name, args[i + 1] if i + 1 < len(args) else None))
                i += 1
            else:
                out.append((name, None))
        elif text.startswith("-") and len(text) > 1:
            for k, letter in enumerate(text[1:], 1):
                if letter in short:
                    rest = text[k + 1 :]
                    if rest:
                        value = Arg(rest, sources=args[i].sources, params=args[i].params)
                    else:
                        value = args[i + 1] if i + 1 < len(args) else None
                        i += 1
                    out.append(("-" + letter, value))
                    break
                out.append(("-" + letter, None))
        else:
            out.append(("", args[i]))
        i += 1
    return out


def _curl(command: Command) -> Transfer:
    found = Transfer()
    for option, value in _options(command.argv[1:], _CURL_VALUES, _CURL_LONG_VALUES):
        if option in ("", "--url") and value is not None:
            found.urls.append(value)
        elif option in _CURL_SENDS and value is not None:
            _curl_data(found, option, value, command.cwd)
        elif option in ("-X", "--request") and value is not None:
            found.method = value.text.upper()
        elif option in ("-o", "--output") and value is not None:
            found.to_stdout = value.text == "-"
            if not found.to_stdout:
                found.saved_to.append(canonical(value.text, command.cwd))
        elif option in ("-O", "--remote-name", "--remote-name-all"):
            found.to_stdout = False
        elif option in ("-K", "--config"):
            found.sent.append(Arg("config"))
    if not found.to_stdout and not found.saved_to:
        found.saved_to = [canonical(_basename(u.text), command.cwd) for u in found.urls]
    return found


def _curl_data(found: Transfer, option: str, value: Arg, cwd: str | None) -> None:
    text = value.text
    if option in ("-T", "--upload-file"):
        if text == "-" or text == ".":
            found.sends_stdin = True
        else:
            found.files_sent.append(canonical(text, cwd))
        return
    reference = (
        text.split("=", 1)[1] if option in ("-F", "--form", "--data-urlencode") and "=" in text else text
    )
    if reference.startswith(("@", "<")) and option != "--data-raw":
        path = reference[1:].split(";", 1)[0]
        if path == "-":
            found.sends_stdin = True
        else:
            found.files_sent.append(canonical(path, cwd))
    else:
        found.sent.append(value)


def _wget(command: Command) -> Transfer:
    found = Transfer(to_stdout=False)
    prefix: str | None = None
    for option, value in _options(command.argv[1:], _WGET_VALUES, _WGET_LONG_VALUES):
        if option == "" and value is not None:
            found.urls.append(value)
        elif option in ("-O", "--output-document") and value is not None:
            found.to_stdout = value.text == "-"
            if not found.to_stdout:
                found.saved_to.append(canonical(value.text, command.cwd))
        elif option in ("-P", "--directory-prefix") and value is not None:
            prefix = value.text
        elif option in ("--post-file", "--body-file") and value is not None:
            found.files_sent.append(canonical(value.text, command.cwd))
        elif option in ("--post-data", "--body-data") and value is not None:
            found.sent.append(value)
        elif option == "--method" and value is not None:
            found.method = value.text.upper()
    if not found.to_stdout and not found.saved_to:
        base = (prefix.rstrip("/") + "/") if prefix else ""
        found.saved_to = [canonical(base + _basename(u.text), command.cwd) for u in found.urls]
    return found


def _basename(url: str) -> str:
    path = url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    name = path.rstrip("/").rsplit("/", 1)[-1] if "/" in path else ""
    return name or "index.html"


def _downloader(command: Command) -> Transfer:
    """aria2c (`-o name`, `-d dir`), BSD fetch (`-o file`), lwp-download (`URL [file]`)."""
    found = Transfer(to_stdout=False)
    name: str | None = None
    folder = ""
    for option, value in _options(command.argv[1:], set("odO"), {"--out", "--dir", "--output"}):
        if option == "" and value is not None:
            if "://" in value.text or not found.urls:
                found.urls.append(value)
            else:
                name = value.text
        elif option in ("-o", "-O", "--out", "--output") and value is not None:
            name = value.text
        elif option in ("-d", "--dir") and value is not None:
            folder = value.text.rstrip("/") + "/"
    if name == "-":
        found.to_stdout = True
    elif found.urls:
        found.saved_to = [canonical(folder + (name or _basename(found.urls[0].text)), command.cwd)]
    return found
