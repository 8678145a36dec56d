"""`PolicySet`: one policy document — one policy, or several named ones with routing rules — ready to
choose the policy of each call.

A document is the YAML of a policy file. The plain form, `policy: {class, config}`, is a set of one.
The routed form names its policies and the rules that choose between them (docs/policies.md):

    policies: {strict: {class: ..., config: ...}, lenient: {class: ...}}
    routes:
      - {name: ci, when: {key: [ci-bot], model: "gpt-*"}, policy: strict}
    default: lenient

The first rule whose every condition matches the call (`CallFacts`) chooses its policy; none: the
default. The set's version is a hash of the YAML text, so every instance that runs the same text
reports the same version.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import yaml

from luthien_proxy.policies.base import LuthienPolicy
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.policies.loader import PolicyConfigError, policy_from_mapping
from luthien_proxy.policies.noop import NoOpPolicy
from luthien_proxy.redaction import is_secret_name, redact_text

logger = logging.getLogger(__name__)

#: The rule name a call chosen by no rule records.
DEFAULT_RULE: Final = "default"
#: What a rule's `when` may test, and the doors a `door` condition may name.
CONDITIONS: Final = ("key", "team", "model", "door")
DOORS: Final = ("litellm", "native")
VERSION_CHARS = 12


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What routing may look at of a call: the door, the model asked for, the caller's key name (a
    native door key's name, a LiteLLM virtual key's alias) and its teams (LiteLLM team alias and id)."""

    door: str
    model: str | None = None
    key: str | None = None
    teams: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One routing rule: every condition given must hold (a list: any of its values)."""

    name: str
    policy: str
    keys: frozenset[str] | None = None
    teams: frozenset[str] | None = None
    models: tuple[str, ...] | None = None
    doors: frozenset[str] | None = None

    def matches(self, facts: CallFacts) -> bool:
        if self.doors is not None and facts.door not in self.doors:
            return False
        if self.keys is not None and facts.key not in self.keys:
            return False
        if self.teams is not None and not self.teams.intersection(facts.teams):
            return False
        if self.models is not None:
            model = facts.model or ""
            return any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models)
        return True

    def describe(self) -> dict[str, Any]:
        when = {
            name: sorted(values) if isinstance(values, frozenset) else list(values)
            for name, values in (
                ("key", self.keys),
                ("team", self.teams),
                ("model", self.models),
                ("door", self.doors),
            )
            if values is not None
        }
        return {"name": self.name, "when": when, "policy": self.policy}


@dataclass(frozen=True, slots=True)
class Selection:
    """The policy chosen for one call, and what its records say of it."""

    policy: LuthienPolicy
    name: str
    version: str
    rule: str

    def record(self) -> dict[str, str]:
        """The `policy` field of the call's records (and its summary)."""
        return {"name": self.name, "version": self.version, "rule": self.rule}


class PolicySet:
    """An immutable policy document, built: its policies, rules and default, and its identity."""

    def __init__(
        self,
        name: str,
        version: str,
        text: str | None,
        members: Mapping[str, LuthienPolicy],
        rules: Iterable[Rule] = (),
        default: str | None = None,
    ) -> None:
        self.name = name
        self.version = version
        #: The YAML it was built from (None: built in code, as tests and `luthien eval` do).
        self.text = text
        self.members = dict(members)
        self.rules = tuple(rules)
        self.default = default or next(iter(self.members))
        self._default = Selection(self.members[self.default], self.default, version, DEFAULT_RULE)
        self._by_rule = {
            rule.name: Selection(self.members[rule.policy], rule.policy, version, rule.name)
            for rule in self.rules
        }

    @classmethod
    def of(cls, policy: LuthienPolicy) -> PolicySet:
        """A set of one policy built in code; its version hashes the class, not a text."""
        cls_path = f"{type(policy).__module__}:{type(policy).__qualname__}"
        return cls(
            type(policy).__name__, version_of("class: " + cls_path), None, {type(policy).__name__: policy}
        )

    @property
    def default_policy(self) -> LuthienPolicy:
        return self._default.policy

    @property
    def auditing_policy(self) -> LuthienPolicy:
        """The policy whose audit budget and held sessions the audit queue shows: the first that
        may hold calls for a person, else the default."""
        auditing = (policy for policy in self.members.values() if policy.sends_to_audit())
        return next(auditing, self._default.policy)

    def select(self, facts: CallFacts) -> Selection:
        """The policy for a call with `facts`: the first matching rule's, else the default."""
        for rule in self.rules:
            if rule.matches(facts):
                return self._by_rule[rule.name]
        return self._default

    def policies(self) -> list[LuthienPolicy]:
        return list(self.members.values())

    def describe(self) -> dict[str, Any]:
        """The set as `GET /api/policy` answers it."""
        return {
            "name": self.name,
            "version": self.version,
            "yaml": self.text,
            "default": self.default,
            "policies": {name: type(policy).__name__ for name, policy in self.members.items()},
            "routes": [rule.describe() for rule in self.rules],
        }

    async def aclose(self) -> None:
        for policy in self.members.values():
            await policy.aclose()


def version_of(text: str) -> str:
    """The version of a policy document: the start of the SHA-256 of its text."""
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_CHARS]


def read_policy_text(path: Path) -> str:
    """A policy file's text; `PolicyConfigError` when it cannot be read."""
    try:
        return path.read_text()
    except OSError as exc:
        raise PolicyConfigError(f"policy config {path} cannot be read: {exc.strerror or exc}") from None


def load_policy_set(path: Path, *, required: bool = True, host: PolicyHost | None = None) -> PolicySet:
    """The set the policy file at `path` describes; a missing optional file means `NoOpPolicy`."""
    if not path.is_file():
        if required:
            raise PolicyConfigError(f"policy config {path} does not exist")
        logger.info("no policy config at %s; using NoOpPolicy", path)
        return PolicySet.of(NoOpPolicy())
    return parse_policy_set(read_policy_text(path), source=f"policy config {path}", host=host)


def parse_policy_set(text: str, *, source: str = "policy", host: PolicyHost | None = None) -> PolicySet:
    """Build the set a policy document's YAML describes; `PolicyConfigError` names what is wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyConfigError(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{source} must be a YAML mapping with a 'policy' or 'policies' section")
    document = cast("dict[str, Any]", document)
    name = document.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise PolicyConfigError(f"{source}: name must be a non-empty string")
    version = version_of(text)
    named = document.get("policies")
    if named is None:
        if "routes" in document or "default" in document:
            raise PolicyConfigError(
                f"{source}: routes and default need a 'policies' mapping of named policies"
            )
        policy = policy_from_mapping(document, source=source, host=host)
        label = name or type(policy).__name__
        return PolicySet(label, version, text, {label: policy})
    members = _members(named, document.get("policy"), source, host)
    default = document.get("default")
    if default is None:
        if "policy" not in document:
            raise PolicyConfigError(f"{source}: default must name one of policies ({', '.join(members)})")
        default = DEFAULT_RULE
    elif not isinstance(default, str) or default not in members:
        raise PolicyConfigError(
            f"{source}: default {default!r} is not one of policies ({', '.join(members)})"
        )
    rules = _rules(document.get("routes"), members, source)
    return PolicySet(name or "routed", version, text, members, rules, default)


def _members(named: Any, unnamed: Any, source: str, host: PolicyHost | None) -> dict[str, LuthienPolicy]:
    if not isinstance(named, dict) or not named:
        raise PolicyConfigError(f"{source}: policies must be a mapping of names to {{class, config}}")
    members: dict[str, LuthienPolicy] = {}
    for key, section in cast("dict[Any, Any]", named).items():
        if not isinstance(key, str) or not key or key == DEFAULT_RULE:
            raise PolicyConfigError(f"{source}: policies: {key!r} is not a usable name")
        members[key] = policy_from_mapping({"policy": section}, source=f"{source}: policies.{key}", host=host)
    if unnamed is not None:
        members[DEFAULT_RULE] = policy_from_mapping(
            {"policy": unnamed}, source=f"{source}: policy", host=host
        )
    return members


def _rules(raw: Any, members: Mapping[str, LuthienPolicy], source: str) -> list[Rule]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PolicyConfigError(f"{source}: routes must be a list of rules")
    rules: list[Rule] = []
    for index, entry in enumerate(cast("list[Any]", raw)):
        where = f"{source}: routes[{index}]"
        if not isinstance(entry, dict):
            raise PolicyConfigError(f"{where} must be a mapping with 'when' and 'policy'")
        entry = cast("dict[str, Any]", entry)
        unknown = sorted(set(entry) - {"name", "when", "policy"})
        if unknown:
            raise PolicyConfigError(f"{where}: unknown field {unknown[0]!r} (name, when, policy)")
        rule_name = entry.get("name") or f"routes[{index}]"
        if not isinstance(rule_name, str) or any(rule.name == rule_name for rule in rules):
            raise PolicyConfigError(f"{where}: name must be a string no other rule has")
        policy = entry.get("policy")
        if not isinstance(policy, str) or policy not in members:
            raise PolicyConfigError(
                f"{where}: policy {policy!r} is not one of policies ({', '.join(members)})"
            )
        when = entry.get("when") or {}
        if not isinstance(when, dict):
            raise PolicyConfigError(f"{where}: when must be a mapping of {', '.join(CONDITIONS)}")
        when = cast("dict[str, Any]", when)
        unknown = sorted(set(when) - set(CONDITIONS))
        if unknown:
            raise PolicyConfigError(
                f"{where}: when: unknown condition {unknown[0]!r} ({', '.join(CONDITIONS)})"
            )
        values = {name: _values(when[name], f"{where}: when.{name}") for name in CONDITIONS if name in when}
        doors = values.get("door")
        if doors is not None and (bad := sorted(set(doors) - set(DOORS))):
            raise PolicyConfigError(f"{where}: when.door: unknown door {bad[0]!r} ({', '.join(DOORS)})")
        rules.append(
            Rule(
                rule_name,
                policy,
                keys=frozenset(values["key"]) if "key" in values else None,
                teams=frozenset(values["team"]) if "team" in values else None,
                models=values.get("model"),
                doors=frozenset(doors) if doors is not None else None,
            )
        )
    return rules


def _values(raw: Any, where: str) -> tuple[str, ...]:
    items = cast("list[Any]", raw) if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise PolicyConfigError(f"{where} must be a non-empty string or list of strings")
    return tuple(cast("list[str]", items))


def credential_in(text: str) -> str | None:
    """Where a policy document holds a literal credential (a stored or published document must
    reference it, `os.environ/NAME`), in words; None when it holds none."""
    for number, line in enumerate(text.splitlines(), 1):
        if redact_text(line) != line:
            return f"line {number} holds a credential-shaped value"
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if isinstance(document, dict):  # a rule's `key` names a key, it is not one
        document = {k: v for k, v in cast("dict[Any, Any]", document).items() if k != "routes"}
    found = _secret_field(document)
    return f"field {found!r} holds a literal credential" if found else None


def _secret_field(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, item in cast("dict[Any, Any]", value).items():
            literal = isinstance(item, str) and item and not item.startswith("os.environ/")
            if isinstance(key, str) and is_secret_name(key) and literal and "${" not in item:
                return key
            if (found := _secret_field(item)) is not None:
                return found
    elif isinstance(value, list):
        for item in cast("list[Any]", value):
            if (found := _secret_field(item)) is not None:
                return found
    return None
