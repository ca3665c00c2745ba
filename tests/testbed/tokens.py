"""Docker registry bearer tokens: scope parsing, access decisions and RS256 JWT signing."""

from __future__ import annotations

import base64
import fnmatch
import json
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from testbed.certs import Issued

# Either actions for every resource, or {name pattern (fnmatch): actions}. "*" = any action.
Permissions = Collection[str] | Mapping[str, Collection[str]]
DEFAULT_PERMISSIONS: Permissions = frozenset({"pull", "push"})


@dataclass(frozen=True)
class Scope:
    """`type[(class)]:name:actions`; the name may contain `host:port`, so actions follow the
    last colon and the type ends at the first."""

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        resource_type, sep, rest = text.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2 or not resource_type or not name:
            return None
        resource_type = resource_type.split("(", 1)[0]
        return cls(resource_type, name, tuple(a for a in actions.split(",") if a))

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Scopes from repeated parameters, each possibly space-separated; malformed ones dropped."""
    return [s for v in values for part in v.split() if (s := Scope.parse(part)) is not None]


def _allowed_actions(permissions: Permissions, scope: Scope) -> Collection[str]:
    if not isinstance(permissions, Mapping):
        return permissions
    subject = scope.name if scope.type == "repository" else f"{scope.type}:{scope.name}"
    for pattern, actions in permissions.items():
        if fnmatch.fnmatchcase(subject, pattern):
            return actions
    return ()


def grant(permissions: Permissions | None, scopes: Iterable[Scope]) -> list[dict[str, Any]]:
    """The `access` claim: per resource, only the requested actions the user may perform."""
    granted: dict[tuple[str, str], list[str]] = {}
    for scope in scopes:
        allowed = _allowed_actions(permissions, scope) if permissions is not None else ()
        actions = granted.setdefault((scope.type, scope.name), [])
        for action in scope.actions:
            if (action in allowed or "*" in allowed) and action not in actions:
                actions.append(action)
    return [
        {"type": kind, "name": name, "actions": actions}
        for (kind, name), actions in granted.items()
        if actions
    ]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(signer: Issued, claims: Mapping[str, Any]) -> str:
    """An RS256 JWT whose `x5c` header carries the signer's certificate."""
    key = signer.key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("RS256 needs an RSA key")
    header = {"typ": "JWT", "alg": "RS256", "x5c": [signer.der_b64]}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT, for assertions in tests (no signature check)."""
    header, claims, _ = token.split(".")

    def load(part: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return loaded

    return load(header), load(claims)


def build_claims(
    *,
    issuer: str,
    service: str,
    subject: str,
    access: list[dict[str, Any]],
    expires_in: int,
    now: float | None = None,
) -> dict[str, Any]:
    """Claims distribution checks: `iss`, `aud` (a string), `exp`/`nbf`, `access`."""
    issued = int(time.time() if now is None else now)
    return {
        "iss": issuer,
        "sub": subject,
        "aud": service,
        "exp": issued + expires_in,
        "nbf": issued,
        "iat": issued,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
