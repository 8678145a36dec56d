"""Which paths hold secrets, which make a program run later (persistence), and which are the system.

Paths are canonical (`luthien_proxy.protocols.shell.paths.canonical`): every home is `~`. A glob
(`~/.ss?/id_*`) is matched against examples of each class, so a pattern that could name a key
counts as naming it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from luthien_proxy.protocols.shell.paths import home_relative


@dataclass(frozen=True)
class PathClass:
    score: float
    label: str


#: Under the home: prefixes (a directory or a file) holding credentials.
_HOME_SECRETS: tuple[tuple[str, float, str], ...] = (
    (".ssh", 0.9, "SSH keys"),
    (".aws", 0.9, "AWS credentials"),
    (".azure", 0.9, "Azure credentials"),
    (".config/gcloud", 0.9, "gcloud credentials"),
    (".kube", 0.9, "Kubernetes credentials"),
    (".docker/config.json", 0.85, "Docker registry credentials"),
    (".netrc", 0.9, "~/.netrc passwords"),
    (".pgpass", 0.9, "PostgreSQL passwords"),
    (".my.cnf", 0.85, "MySQL credentials"),
    (".git-credentials", 0.9, "git credentials"),
    (".config/gh", 0.9, "GitHub CLI token"),
    (".config/hub", 0.9, "GitHub token"),
    (".npmrc", 0.8, "npm token"),
    (".pypirc", 0.85, "PyPI token"),
    (".gnupg", 0.9, "GPG keys"),
    (".password-store", 0.9, "password store"),
    (".vault-token", 0.9, "Vault token"),
    (".terraform.d/credentials.tfrc.json", 0.9, "Terraform token"),
    (".cargo/credentials", 0.85, "crates.io token"),
    (".gem/credentials", 0.85, "RubyGems token"),
    (".local/share/keyrings", 0.9, "keyring"),
    ("Library/Keychains", 0.9, "macOS keychain"),
    (".mozilla/firefox", 0.8, "browser profile (passwords, cookies)"),
    (".config/google-chrome", 0.8, "browser profile (passwords, cookies)"),
    (".config/chromium", 0.8, "browser profile (passwords, cookies)"),
    ("Library/Application Support/Google/Chrome", 0.8, "browser profile (passwords, cookies)"),
    ("Library/Cookies", 0.8, "browser cookies"),
    (".oci", 0.85, "Oracle Cloud credentials"),
    (".config/doctl", 0.85, "DigitalOcean token"),
    (".s3cfg", 0.85, "S3 credentials"),
    (".boto", 0.85, "cloud credentials"),
    (".config/rclone", 0.8, "rclone remotes' credentials"),
    (".composer/auth.json", 0.8, "Composer credentials"),
    (".config/op", 0.85, "1Password CLI session"),
    (".bash_history", 0.7, "shell history"),
    (".zsh_history", 0.7, "shell history"),
    (".psql_history", 0.6, "database history"),
    (".mysql_history", 0.6, "database history"),
)
_SYSTEM_SECRETS: tuple[tuple[str, float, str], ...] = (
    ("/etc/shadow", 0.95, "password hashes"),
    ("/etc/gshadow", 0.95, "password hashes"),
    ("/etc/master.passwd", 0.95, "password hashes"),
    ("/etc/security/opasswd", 0.9, "old password hashes"),
    ("/etc/ssl/private", 0.9, "TLS private keys"),
    ("/etc/kubernetes", 0.85, "cluster credentials"),
    ("/var/run/secrets", 0.9, "mounted service secrets"),
    ("/run/secrets", 0.9, "mounted service secrets"),
    ("/etc/krb5.keytab", 0.9, "Kerberos keys"),
    ("/etc/sudoers", 0.6, "sudo rules"),
    ("/etc/passwd", 0.45, "the account list"),
)
_KEY_NAMES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk")
_KEY_SUFFIXES = {".key": 0.8, ".p12": 0.8, ".pfx": 0.8, ".ppk": 0.9, ".kdbx": 0.85, ".jks": 0.75}
#: A name in these directories is a test fixture or an example, not a live secret.
_FIXTURE_DIRS = {"fixtures", "testdata", "test-data", "examples", "samples", "tests", "test", "__fixtures__"}
_SECRET_FILES = {
    "credentials.json": 0.75,
    "client_secret.json": 0.8,
    "secrets.yaml": 0.7,
    "secrets.yml": 0.7,
    "secrets.json": 0.7,
    "secrets.toml": 0.7,
    ".htpasswd": 0.8,
    "terraform.tfstate": 0.6,
    "wallet.dat": 0.9,
    ".envrc": 0.6,
}
#: `.env.example` and kin are committed templates, not secrets.
_ENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults", "schema", "tmpl", "default")

_HOME_PERSISTENCE: tuple[tuple[str, float, str], ...] = (
    (".ssh/authorized_keys", 0.95, "SSH authorized_keys (a login for someone else)"),
    (".ssh/rc", 0.9, "SSH login script"),
    (".ssh/config", 0.8, "SSH client config"),
    (".ssh", 0.85, "the SSH directory"),
    (".config/autostart", 0.9, "desktop autostart"),
    (".config/systemd", 0.9, "a user systemd unit"),
    ("Library/LaunchAgents", 0.9, "a launchd agent"),
    (".config/fish", 0.9, "a shell startup file"),
    (".bashrc.d", 0.9, "a shell startup file"),
    (".local/bin", 0.6, "a program on the user's PATH"),
    (".gitconfig", 0.6, "the global git config"),
    (".config/git", 0.6, "the global git config"),
    (".npmrc", 0.7, "npm config (registry, scripts)"),
    (".pip", 0.7, "pip config (package index)"),
    (".config/pip", 0.7, "pip config (package index)"),
    (".curlrc", 0.7, "curl config"),
    (".wgetrc", 0.7, "wget config"),
    (".vimrc", 0.6, "editor startup file"),
    (".tmux.conf", 0.6, "tmux startup file"),
    (".docker/config.json", 0.7, "Docker config"),
    (".kube/config", 0.8, "Kubernetes config"),
    (".aws", 0.8, "AWS config"),
    (".netrc", 0.8, "~/.netrc"),
)
_SHELL_RC = {
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
    ".zprofile", ".zlogin", ".zlogout", ".cshrc", ".tcshrc", ".kshrc", ".mkshrc", ".xinitrc",
    ".xprofile", ".xsession", ".pam_environment",
}  # fmt: skip
_SYSTEM_PERSISTENCE: tuple[tuple[str, float, str], ...] = (
    ("/etc/ld.so.preload", 0.95, "a library preloaded into every program"),
    ("/etc/sudoers", 0.95, "sudo rules"),
    ("/etc/passwd", 0.95, "the account list"),
    ("/etc/shadow", 0.95, "password hashes"),
    ("/etc/group", 0.9, "group memberships"),
    ("/etc/gshadow", 0.95, "group passwords"),
    ("/etc/crontab", 0.95, "the system crontab"),
    ("/etc/cron", 0.95, "a cron job"),
    ("/var/spool/cron", 0.95, "a cron job"),
    ("/etc/systemd", 0.9, "a systemd unit"),
    ("/lib/systemd", 0.9, "a systemd unit"),
    ("/usr/lib/systemd", 0.9, "a systemd unit"),
    ("/etc/init.d", 0.9, "an init script"),
    ("/etc/init", 0.9, "an init script"),
    ("/etc/rc.local", 0.9, "a boot script"),
    ("/Library/LaunchAgents", 0.9, "a launchd agent"),
    ("/Library/LaunchDaemons", 0.9, "a launchd daemon"),
    ("/etc/profile", 0.9, "a shell startup file"),
    ("/etc/bash.bashrc", 0.9, "a shell startup file"),
    ("/etc/bashrc", 0.9, "a shell startup file"),
    ("/etc/zsh", 0.9, "a shell startup file"),
    ("/etc/environment", 0.9, "every login's environment"),
    ("/etc/ssh", 0.9, "the SSH server config"),
    ("/etc/pam.d", 0.9, "login authentication"),
    ("/etc/security", 0.85, "login security"),
    ("/etc/hosts", 0.8, "name resolution"),
    ("/etc/resolv.conf", 0.75, "name resolution"),
    ("/etc/apt", 0.75, "package sources"),
    ("/etc/yum.repos.d", 0.75, "package sources"),
    ("/boot", 0.9, "the boot files"),
    ("/var/log", 0.6, "system logs"),
    ("/etc", 0.7, "system configuration"),
    ("/usr/local/bin", 0.6, "a program on everyone's PATH"),
    ("/usr/local/sbin", 0.6, "a program on everyone's PATH"),
    ("/usr/bin", 0.75, "a system program"),
    ("/usr/sbin", 0.75, "a system program"),
    ("/bin", 0.75, "a system program"),
    ("/sbin", 0.75, "a system program"),
    ("/usr/lib", 0.7, "system libraries"),
    ("/lib", 0.7, "system libraries"),
)
#: Concrete members of the classes above, for matching globs.
_EXAMPLES = (
    "~/.ssh", "~/.ssh/id_rsa", "~/.ssh/id_ed25519", "~/.ssh/authorized_keys", "~/.aws", "~/.aws/credentials",
    "~/.config/gcloud/credentials.db", "~/.kube/config", "~/.netrc", "~/.git-credentials",
    "~/.config/gh/hosts.yml", "~/.docker/config.json", "~/.gnupg", "~/.bashrc", "~/.zshrc", "~/.profile",
    "/etc/shadow", "/etc/passwd", "/etc/sudoers", "/etc/crontab", ".env", "~/.bash_history",
    "/var/log/syslog", "/var/log/auth.log", "/etc/systemd/system/x.service", "/etc/cron.d/x",
)  # fmt: skip


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/") or path.startswith(prefix + ".")


def secret(path: str) -> PathClass | None:
    """How sensitive reading `path` is, or None for an ordinary file."""
    if any(c in path for c in "*?["):
        return _glob_class(path, secret)
    rel = home_relative(path)
    if rel is not None:
        for prefix, score, label in _HOME_SECRETS:
            if _under(rel, prefix):
                if prefix == ".ssh" and rel.endswith((".pub", "/known_hosts")):
                    return PathClass(0.4, "a public SSH file")
                if prefix == ".ssh" and rel == ".ssh":
                    return PathClass(0.6, "the SSH directory")
                return PathClass(score, label)
    for prefix, score, label in _SYSTEM_SECRETS:
        if _under(path, prefix):
            return PathClass(score, label)
    if path.startswith("/proc/") and path.endswith("/environ"):
        return PathClass(0.85, "a process's environment (API keys)")
    if path.startswith("/etc/ssh/ssh_host_") and not path.endswith(".pub"):
        return PathClass(0.9, "the SSH host key")
    found = _secret_name(path.rsplit("/", 1)[-1])
    if found is not None and _FIXTURE_DIRS & set(path.lower().split("/")[:-1]):
        return PathClass(min(found.score, 0.45), found.label + " in test fixtures")
    return found


def _secret_name(name: str) -> PathClass | None:
    lowered = name.lower()
    if lowered == ".env" or lowered.startswith(".env.") or lowered.endswith(".env"):
        if any(t in lowered for t in _ENV_TEMPLATES):
            return None
        return PathClass(0.8, "a .env file (secrets)")
    if lowered in _KEY_NAMES:
        return PathClass(0.9, "a private SSH key")
    if lowered in _SECRET_FILES:
        return PathClass(_SECRET_FILES[lowered], "a secrets file")
    if lowered.startswith(("service-account", "service_account", "serviceaccount")) and lowered.endswith(
        ".json"
    ):
        return PathClass(0.8, "a cloud service-account key")
    if lowered.endswith(".pem"):  # certificates are .pem too: only a name saying key is a key
        return PathClass(0.8, "a private key") if "key" in lowered or "priv" in lowered else None
    dot = lowered.rfind(".")
    if dot > 0 and lowered[dot:] in _KEY_SUFFIXES and "example" not in lowered:
        return PathClass(_KEY_SUFFIXES[lowered[dot:]], "a private key or keystore")
    return None


def persistence(path: str) -> PathClass | None:
    """How dangerous writing `path` is: it runs later, grants access, or changes the system."""
    if any(c in path for c in "*?["):
        return _glob_class(path, persistence)
    rel = home_relative(path)
    if rel is not None:
        if rel in _SHELL_RC:
            return PathClass(0.9, "a shell startup file")
        for prefix, score, label in _HOME_PERSISTENCE:
            if _under(rel, prefix):
                return PathClass(score, label)
    for prefix, score, label in _SYSTEM_PERSISTENCE:
        if _under(path, prefix):
            return PathClass(score, label)
    name = path.rsplit("/", 1)[-1]
    if name in ("sitecustomize.py", "usercustomize.py") or (name.endswith(".pth") and "-packages/" in path):
        return PathClass(0.85, "Python start-up code")
    if "/.git/hooks/" in "/" + path:
        return PathClass(0.65, "a git hook")
    return None


def _glob_class(pattern: str, classify: Callable[[str], PathClass | None]) -> PathClass | None:
    """The worst class among the examples `pattern` matches (`~/.ss?/*` matches `~/.ssh/id_rsa`)."""
    if len(pattern) > 256:
        return None
    found = [c for e in _EXAMPLES if fnmatch.fnmatchcase(e, pattern) and (c := classify(e)) is not None]
    return max(found, key=lambda c: c.score) if found else None


def is_block_device(path: str) -> bool:
    """A disk or partition (`/dev/sda`, `/dev/nvme0n1`, `/dev/disk2`), not `/dev/null` and kin."""
    if not path.startswith("/dev/"):
        return False
    name = path[5:]
    return name.startswith(
        ("sd", "hd", "vd", "xvd", "nvme", "mmcblk", "disk", "rdisk", "md", "dm-", "mapper/", "loop")
    )
