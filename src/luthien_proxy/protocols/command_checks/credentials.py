"""Reads of credentials and keys: secret files and directories, commands that print tokens, hunts
for key files, environment dumps, and secret variables echoed."""

from __future__ import annotations

from collections.abc import Iterator

from luthien_proxy.protocols.command_checks.finding import Finding, quote
from luthien_proxy.protocols.command_checks.references import references
from luthien_proxy.protocols.command_checks.sensitive import secret
from luthien_proxy.protocols.shell.command import Command

SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY")
SECRET_WORDS += ("CREDENTIAL", "AUTH", "SESSION", "COOKIE", "_KEY", "PASS")
_CAPS = {"list": 0.6, "use": 0.3, "load": 0.35, "modify": 0.45, "touch": 0.3}
_ROLE_VERBS = {"list": "lists", "use": "uses", "load": "loads", "modify": "changes permissions of"}
#: (program, words that must all appear among its arguments, score, what it prints).
_TOKEN_COMMANDS: tuple[tuple[str, tuple[str, ...], float, str], ...] = (
    ("gh", ("auth", "token"), 0.85, "the GitHub token"),
    ("gh", ("auth", "--show-token"), 0.8, "the GitHub token"),
    ("aws", ("configure", "get"), 0.8, "AWS credentials"),
    ("aws", ("configure", "export-credentials"), 0.85, "AWS credentials"),
    ("aws", ("sts", "get-session-token"), 0.6, "an AWS session token"),
    ("aws", ("secretsmanager", "get-secret-value"), 0.7, "a stored secret"),
    ("aws", ("ssm", "--with-decryption"), 0.7, "a stored secret"),
    ("gcloud", ("auth", "print-access-token"), 0.85, "a gcloud access token"),
    ("gcloud", ("auth", "print-identity-token"), 0.85, "a gcloud identity token"),
    ("az", ("account", "get-access-token"), 0.85, "an Azure access token"),
    ("kubectl", ("config", "view", "--raw"), 0.85, "the cluster credentials"),
    ("kubectl", ("config", "view", "--flatten"), 0.85, "the cluster credentials"),
    ("kubectl", ("get", "secret"), 0.75, "Kubernetes secrets"),
    ("kubectl", ("get", "secrets"), 0.75, "Kubernetes secrets"),
    ("security", ("find-generic-password",), 0.9, "a keychain password"),
    ("security", ("find-internet-password",), 0.9, "a keychain password"),
    ("security", ("dump-keychain",), 0.95, "the keychain"),
    ("secret-tool", ("lookup",), 0.85, "a keyring secret"),
    ("git", ("credential", "fill"), 0.85, "git credentials"),
    ("vault", ("read",), 0.6, "a Vault secret"),
    ("vault", ("kv", "get"), 0.6, "a Vault secret"),
    ("op", ("read",), 0.7, "a 1Password secret"),
    ("op", ("item", "get"), 0.7, "a 1Password secret"),
    ("pass", ("show",), 0.8, "a stored password"),
    ("heroku", ("auth:token",), 0.85, "the Heroku token"),
    ("docker", ("login", "--password-stdin"), 0.3, "registry login"),
)
_SECRET_NAMES = (
    "id_rsa",
    "id_dsa",
    "id_ed25519",
    "id_ecdsa",
    ".pem",
    ".key",
    ".env",
    "credentials",
    "secret",
)
_SECRET_NAMES += ("token", "password", ".p12", ".pfx", ".kdbx", "wallet", ".netrc", ".pgpass", "shadow")


_HUNT_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private key",
    "aws_access",
    "akia",
)
_HUNT_WORDS += ("credential", "bearer", "begin rsa", "begin openssh")


def secret_param(names: tuple[str, ...]) -> str | None:
    """The first variable among `names` that looks like it holds a secret (`$GITHUB_TOKEN`)."""
    return next((n for n in names if any(w in n.upper() for w in SECRET_WORDS)), None)


def check(command: Command) -> Iterator[Finding]:
    for ref in references(command):
        found = secret(ref.path)
        if found is None or ref.role == "write":
            continue
        if ref.role == "delete":
            yield Finding(max(found.score - 0.1, 0.6), "destructive", f"deletes {ref.path} ({found.label})")
            continue
        score = min(found.score, _CAPS.get(ref.role, 1.0))
        verb = _ROLE_VERBS.get(ref.role, "reads")
        yield Finding(score, "credentials", f"{verb} {ref.path} ({found.label}) with {quote(command)}")
    program, args = command.program, command.args
    for name, words, score, what in _TOKEN_COMMANDS:
        if program == name and all(w in args for w in words):
            yield Finding(score, "credentials", f"prints {what} ({quote(command)})")
            break
    yield from _hunts(command)
    if program in ("grep", "egrep", "rg", "awk", "sed") and any(
        _dumps_secrets(f) for f in command.stdin_from
    ):
        pattern = " ".join(args).upper()
        if any(w in pattern for w in (*SECRET_WORDS, "KEY", "AWS", "API")):
            yield Finding(0.75, "credentials", f"searches the environment for secrets ({quote(command)})")
    if _dumps_environment(command):
        yield Finding(0.45, "credentials", f"prints the environment, API keys included ({quote(command)})")
    if program in ("echo", "printf", "printenv") and not command.writes():
        leaked = secret_param(tuple(p for a in command.argv[1:] for p in a.params))
        if leaked is None and program == "printenv":
            leaked = secret_param(tuple(args))
        if leaked is not None:
            yield Finding(0.7, "credentials", f"prints the secret variable {leaked}")


def _hunts(command: Command) -> Iterator[Finding]:
    """`find ~ -name '*.pem'`, `grep -r PASSWORD /`: searching for secrets outside the project."""
    program, args = command.program, command.args
    lowered = [a.lower() for a in args]
    if program == "find":
        names = [
            lowered[i + 1] for i, a in enumerate(args[:-1]) if a in ("-name", "-iname", "-path", "-regex")
        ]
        if any(any(s in n for s in _SECRET_NAMES) for n in names):
            yield Finding(0.8, "credentials", f"searches for key and credential files ({quote(command)})")
    elif program in ("grep", "egrep", "rg", "ag", "ack"):
        pattern = next((a for a in lowered if not a.startswith("-")), "")
        roots = [a for a in args if a.startswith(("~", "/home", "/root", "/Users")) or a in ("/", "/etc")]
        if any(w in pattern for w in _HUNT_WORDS) and roots:
            yield Finding(0.75, "credentials", f"searches {roots[0]} for secrets ({quote(command)})")


def _dumps_environment(command: Command) -> bool:
    program, args = command.program, command.args
    return (program in ("env", "printenv") and not args) or (
        program in ("export", "declare") and args == ["-p"]
    )


def _dumps_secrets(command: Command) -> bool:
    """The environment or the shell history: where secrets sit in plain text."""
    return _dumps_environment(command) or command.program == "history"
