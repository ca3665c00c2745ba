"""Kubernetes' naming rules (DNS-1123 labels and subdomains, label values), as it documents them.

The API server rejects a manifest whose names break them, and `kubectl apply` would then fail
far from the command that made it; so user input is checked and derived names made valid
here (`kubernetes-validate` checks a manifest's structure, not these values).
"""

from __future__ import annotations

import hashlib
import re

from zenml_docker_connector.printable import clip, printable

MAX_LABEL_LENGTH = 63
MAX_SUBDOMAIN_LENGTH = 253
DEFAULT_NAME_PREFIX = "zenml-docker-"
DEFAULT_NAME_FORM = f"{DEFAULT_NAME_PREFIX}<name>-<hash of its id>"
"""How help texts describe `default_secret_name`."""
_HASH_LENGTH = 8

_SUBDOMAIN_RULE = f"{MAX_SUBDOMAIN_LENGTH} lower-case letters, digits, '-' and '.'"
_LABEL_RULE = f"{MAX_LABEL_LENGTH} lower-case letters, digits and '-'"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns_label(text: str) -> bool:
    """A DNS-1123 label: what a namespace name must be."""
    return len(text) <= MAX_LABEL_LENGTH and bool(_DNS_LABEL.match(text))


def is_dns_subdomain(text: str) -> bool:
    """A DNS-1123 subdomain: what a Secret name must be."""
    return 0 < len(text) <= MAX_SUBDOMAIN_LENGTH and all(
        _DNS_LABEL.match(part) for part in text.split(".")
    )


def check_secret_name(name: str) -> str:
    """`name` if Kubernetes accepts it for a Secret, else ValueError saying the rule."""
    return _checked(name, is_dns_subdomain(name), "Secret name", _SUBDOMAIN_RULE)


def check_namespace(namespace: str) -> str:
    return _checked(namespace, is_dns_label(namespace), "namespace", _LABEL_RULE)


def _checked(value: str, valid: bool, what: str, characters: str) -> str:
    if not valid:
        raise ValueError(
            f"'{clip(printable(value), 80)}' is not a valid Kubernetes {what}: use at most "
            f"{characters}, starting and ending with a letter or digit."
        )
    return value


def default_secret_name(connector_name: str, connector_id: str) -> str:
    """`DEFAULT_NAME_FORM`, a DNS-1123 label: stable (ids never change), distinct for names
    that reduce to the same text, and recognisable in `kubectl get secrets`."""
    digest = hashlib.sha256(connector_id.encode()).hexdigest()[:_HASH_LENGTH]
    room = MAX_LABEL_LENGTH - len(DEFAULT_NAME_PREFIX) - _HASH_LENGTH - 1
    slug = re.sub(r"[^a-z0-9]+", "-", connector_name.lower()).strip("-")[:room].strip("-")
    return f"{DEFAULT_NAME_PREFIX}{slug}-{digest}" if slug else f"{DEFAULT_NAME_PREFIX}{digest}"


def label_value(text: str) -> str:
    """`text` made into a valid label value: other characters become '-', at most 63 long."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)
    trimmed = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
    return re.sub(r"[^A-Za-z0-9]+$", "", trimmed[:MAX_LABEL_LENGTH])
