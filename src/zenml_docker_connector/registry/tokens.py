"""Docker/OCI bearer token answers: the token, its lifetime, and what its `access` claim grants.

The answer carries `token` or `access_token`, `expires_in` (default and minimum 60 s) and
`issued_at`. A token that is a JWT is decoded (without a signature check: we are a client,
the registry checks it) to report which actions its `access` claim grants.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import time
from dataclasses import dataclass, field
from typing import Any

from zenml_docker_connector.errors import TokenServiceError
from zenml_docker_connector.registry.limits import InputLimitError, load_json
from zenml_docker_connector.registry.responses import json_object

DEFAULT_EXPIRES_IN = 60
MINIMUM_EXPIRES_IN = 60

_GO_ZERO_TIME = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)
"""What Go services write for an unset `issued_at`; distribution's client reads it as "now"."""

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class GrantedAccess:
    """One entry of a token's `access` claim."""

    type: str
    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class BearerToken:
    """A token and its lifetime; the value never appears in `repr`."""

    value: str = field(repr=False)
    expires_in: int
    """Lifetime the service announced (after the 60 s default/minimum)."""
    remaining: float
    """Seconds of validity left when we got it (`issued_at` + `expires_in` - now, clamped)."""
    method: str
    """`POST` (OAuth2) or `GET`."""
    access: tuple[GrantedAccess, ...] | None
    """Decoded `access` claim; None when the token is not a readable JWT."""

    def granted_actions(self, resource_type: str, name: str) -> tuple[str, ...] | None:
        """Actions granted on `type:name`, or None if the token does not say."""
        if self.access is None:
            return None
        actions: list[str] = []
        for entry in self.access:
            if entry.type == resource_type and entry.name == name:
                actions.extend(a for a in entry.actions if a not in actions)
        return tuple(actions)


def parse_token_response(
    registry: str,
    realm: str,
    body: bytes,
    method: str,
    *,
    now: float | None = None,
) -> BearerToken:
    """Read a token answer; raise `TokenServiceError` when it is not one."""
    data = json_object(body)
    if data is None:
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} did not answer with a JSON "
            "object; is the realm really a Docker token endpoint?",
        )
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value.strip():
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} answered without a token "
            "(neither 'token' nor 'access_token').",
        )
    try:
        access = decode_jwt_access(value.strip())
    except InputLimitError as error:
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} issued a token whose JWT "
            f"payload is {error}; refusing it.",
        ) from None
    expires_in = _expires_in(data.get("expires_in"))
    wall = time.time() if now is None else now
    remaining = float(expires_in)
    issued_at = _parse_rfc3339(data.get("issued_at"))
    if issued_at is not None:
        remaining = max(0.0, min(float(expires_in), issued_at + expires_in - wall))
    return BearerToken(
        value=value.strip(),
        expires_in=expires_in,
        remaining=remaining,
        method=method,
        access=access,
    )


def _expires_in(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_EXPIRES_IN
    return max(MINIMUM_EXPIRES_IN, int(value))


def _parse_rfc3339(value: object) -> float | None:
    """Seconds since the epoch, or None when absent (Go writes up to 9 fraction digits).

    Go's zero time counts as absent, as in distribution's token client: a token server that
    leaves `issued_at` unset means "issued now", not "expired two thousand years ago".
    """
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if zone in ("Z", "z"):
            tz = datetime.timezone.utc
        else:
            sign = 1 if zone[0] == "+" else -1
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = datetime.timezone(sign * offset)
        stamp = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:
        return None
    if stamp == _GO_ZERO_TIME and not (fraction or "").strip("0"):
        return None
    return stamp.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def decode_jwt_access(token: str) -> tuple[GrantedAccess, ...] | None:
    """The `access` claim of a JWT (unverified), or None when `token` is not a JWT; raises
    `InputLimitError` when its payload nests too deeply."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims: Any = load_json(payload.decode("utf-8"))
    except InputLimitError:
        raise
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    access = claims.get("access")
    if access is None:
        return ()
    if not isinstance(access, list):
        return None
    entries: list[GrantedAccess] = []
    for item in access:
        if not isinstance(item, dict):
            continue
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if isinstance(kind, str) and isinstance(name, str) and isinstance(actions, list):
            entries.append(
                GrantedAccess(kind, name, tuple(a for a in actions if isinstance(a, str)))
            )
    return tuple(entries)
