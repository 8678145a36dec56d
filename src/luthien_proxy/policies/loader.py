"""Loads the active policy from YAML: `policy.class: "module:Class"` and `policy.config: {...}`.

A class whose `__init__` takes a `host` keyword also gets the `PolicyHost` (clock, environment,
HTTP client, model routes): the loader's caller's, or the process's own when it gives none.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from pathlib import Path
from typing import Any

import yaml

from luthien_proxy.policies.base import LuthienPolicy
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.policies.noop import NoOpPolicy

logger = logging.getLogger(__name__)


class PolicyConfigError(ValueError):
    """The policy file or the class it names is unusable; the message says why in one line."""


def load_policy(path: Path, *, required: bool = True, host: PolicyHost | None = None) -> LuthienPolicy:
    """Instantiate the policy `path` describes; a missing optional file means `NoOpPolicy`."""
    if not path.is_file():
        if required:
            raise PolicyConfigError(f"policy config {path} does not exist")
        logger.info("no policy config at %s; using NoOpPolicy", path)
        return NoOpPolicy()
    return policy_from_mapping(read_policy_document(path), source=str(path), host=host)


def read_policy_document(path: Path) -> Any:
    """The parsed YAML of a policy file (for a caller that adjusts it before `policy_from_mapping`)."""
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PolicyConfigError(f"policy config {path} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise PolicyConfigError(f"policy config {path} is not valid YAML: {_one_line(exc)}") from None


def policy_from_mapping(
    document: Any, *, source: str = "policy config", host: PolicyHost | None = None
) -> LuthienPolicy:
    """Instantiate a policy from an already-parsed `{"policy": {"class": ..., "config": ...}}`."""
    section = document.get("policy") if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise PolicyConfigError(f"{source} must have a 'policy' mapping with 'class' and optional 'config'")
    class_path = section.get("class")
    config = section.get("config") or {}
    if not isinstance(class_path, str) or ":" not in class_path:
        raise PolicyConfigError(f"{source}: policy.class must be 'module:Class', got {class_path!r}")
    if not isinstance(config, dict):
        raise PolicyConfigError(f"{source}: policy.config must be a mapping, got {type(config).__name__}")
    policy_class = _import_class(class_path, source)
    if "host" in inspect.signature(policy_class).parameters:
        if "host" in config:
            raise PolicyConfigError(f"{source}: policy.config cannot set 'host': the loader provides it")
        config = {**config, "host": host or PolicyHost.from_process()}
    try:
        return policy_class(**config)
    except (TypeError, ValueError) as exc:
        raise PolicyConfigError(f"{source}: {class_path} rejected its config: {_one_line(exc)}") from None


def _import_class(class_path: str, source: str) -> type[LuthienPolicy]:
    module_name, _, class_name = class_path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a module can fail to import in any way, the old policy API included
        raise PolicyConfigError(f"{source}: cannot import module {module_name!r}: {_one_line(exc)}") from None
    policy_class = getattr(module, class_name, None)
    if not (isinstance(policy_class, type) and issubclass(policy_class, LuthienPolicy)):
        raise PolicyConfigError(f"{source}: {class_path} is not a LuthienPolicy subclass")
    return policy_class


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
