"""Do these credentials work on this registry? The one entry point, no Docker daemon needed.

`verify_registry_access` runs the OCI distribution auth flow (`client`) once per
registry + credentials + question within `cache.VERDICT_TTL` (60 s): ZenML's base class
calls `_verify` up to three times for one `get_connector_client()` + `connect()`, and that
must cost one authentication exchange. A new process, `default_cache().clear()`,
`use_cache=False` or the TTL running out makes the next call ask the registry again, so a
password changed in the registry is noticed. `use_cache=False` is meant for explicit checks
(ZenML's public `verify()`, which register and a server's verify endpoint call): it never
reads a cached verdict, challenge or token, but its fresh success is remembered for the calls
that follow. Identical checks running at the same time share one exchange (`cache.Flights`)
without a lock held across network I/O, and one `Deadline` (`ConnectionSettings.deadline`,
30 s by default) bounds each check, its wait for an identical one included.

Decisions where the protocol leaves room:
- 200 on `GET /v2/`: the registry needs no credentials; that is a valid (anonymous) result,
  reported as such, and the credentials are not checked.
- A loopback registry named without a scheme is tried over http first; if the port speaks
  TLS (Go's "Client sent an HTTP request to an HTTPS server"), once more over https, with
  certificate verification as usual.
- Credentials marked as an identity token (a credential helper's `<token>` username) are
  sent as an OAuth2 `refresh_token` grant.
- A repository is checked only when passed explicitly (`repository=`), never inferred
  from the registry reference: a Docker Hub namespace in a container registry URI would
  otherwise be read as `library/<namespace>`.
- Push access is known from a JWT's `access` claim; on Basic registries and with opaque
  tokens it cannot be tested without writing, and is reported as "not checkable" rather
  than failing.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import AccessDeniedError, RegistryError
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry.cache import (
    TOKEN_MARGIN,
    VERDICT_TTL,
    AuthCache,
    default_cache,
)
from zenml_docker_connector.registry.client import AuthOutcome, RegistryClient
from zenml_docker_connector.registry.deadline import Deadline
from zenml_docker_connector.registry.scopes import ScopeCheck
from zenml_docker_connector.registry.settings import ConnectionSettings
from zenml_docker_connector.registry.tls import resolve_tls

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessQuestion:
    """What to ask beyond "are these credentials valid": a repository, and push too."""

    repository: str | None = None
    push: bool = False


@dataclass(frozen=True)
class VerificationReport:
    """What a verification found out; holds no secret, and shows no username (ZenML keeps it
    as a secret field)."""

    registry: str
    """Canonical resource id (`host[:port]`, `docker.io`)."""
    url: str
    """The `/v2/` URL that answered."""
    scheme: str
    tls: str
    """How the connection was protected: "plain HTTP (...)", "TLS, system CAs (...)", ..."""
    auth_scheme: str
    """`none`, `basic` or `bearer`."""
    realm: str | None
    service: str | None
    username: str | None = dataclasses.field(repr=False)
    anonymous: bool
    scopes: tuple[ScopeCheck, ...]
    """Per requested scope: which actions were granted."""
    notes: tuple[str, ...]
    registry_requests: int
    token_requests: int
    elapsed_seconds: float
    cached: bool
    """True when this answer came from the per-process cache (no request made)."""
    token_method: str | None = None
    token_lifetime: float | None = None

    @property
    def granted(self) -> dict[str, tuple[str, ...]]:
        """Scope -> granted actions."""
        return {check.scope: check.granted for check in self.scopes}

    def summary(self) -> str:
        """One line for a user."""
        if self.anonymous and self.auth_scheme == "none":
            verdict = "reachable; it needs no credentials (the configured ones were not checked)"
        elif self.anonymous:
            verdict = "reachable; anonymous access works (no credentials configured)"
        else:
            verdict = "credentials accepted"
        return f"Registry {self.registry}: {verdict} ({self._auth_text()}, {self.scheme})."

    def _auth_text(self) -> str:
        if self.auth_scheme == "basic":
            return "Basic auth"
        if self.auth_scheme == "bearer":
            return "bearer token"
        return "no auth"

    def lines(self) -> list[str]:
        """A readable, secret-free report, one fact per line."""
        lines = [
            f"Registry:        {self.registry}",
            f"API endpoint:    {self.url}",
            f"Transport:       {self.tls}",
        ]
        if self.auth_scheme == "none":
            lines.append("Authentication:  none required (GET /v2/ answered 200)")
        elif self.auth_scheme == "basic":
            lines.append("Authentication:  Basic")
        else:
            lines.append("Authentication:  Bearer token")
            lines.append(f"Token realm:     {self.realm}")
            lines.append(f"Token service:   {self.service or '(none)'}")
            if self.token_method:
                lifetime = f", valid {self.token_lifetime:g} s" if self.token_lifetime else ""
                lines.append(f"Token request:   {self.token_method}{lifetime}")
        lines.append(f"Result:          {self.summary()}")
        for check in self.scopes:
            lines.append(f"Access:          {check.describe()}")
        for note in self.notes:
            lines.append(f"Note:            {note}")
        if self.cached:
            lines.append("Round trips:     none (cached result from an earlier check)")
        else:
            lines.append(
                f"Round trips:     {self.registry_requests} to the registry, "
                f"{self.token_requests} to the token service, {self.elapsed_seconds:.3f} s"
            )
        return lines


def report_from(
    reference: RegistryReference,
    credentials: Credentials,
    outcome: AuthOutcome,
    client: RegistryClient,
) -> VerificationReport:
    return VerificationReport(
        registry=reference.resource_id,
        url=outcome.url,
        scheme=outcome.scheme,
        tls=outcome.transport,
        auth_scheme=outcome.auth_scheme,
        realm=outcome.realm,
        service=outcome.service,
        username=credentials.username or None,
        anonymous=outcome.anonymous,
        scopes=outcome.scopes,
        notes=outcome.notes,
        registry_requests=client.counter.registry,
        token_requests=client.counter.token,
        elapsed_seconds=client.counter.elapsed,
        cached=False,
        token_method=outcome.token_method,
        token_lifetime=outcome.token_lifetime,
    )


def verify_registry_access(
    reference: RegistryReference,
    credentials: Credentials,
    question: AccessQuestion | None = None,
    settings: ConnectionSettings | None = None,
    *,
    cache: AuthCache | None = None,
    use_cache: bool = True,
) -> VerificationReport:
    """Check the credentials (and, with a repository, pull/push access) against the registry.

    Raises `CredentialsRejectedError`, `AccessDeniedError`, `RegistryUnreachableError`,
    `RegistryTLSError`, `NotARegistryError`, `InsecureTransportError` or
    `TokenServiceError`, each with a message naming the registry and what to try; none
    carries a secret.
    """
    question = question or AccessQuestion()
    settings = settings or ConnectionSettings()
    cache = cache if cache is not None else default_cache()
    deadline = Deadline(settings.deadline)
    key = _verdict_key(cache, reference, credentials, question, settings)
    report = None
    if use_cache:
        report = _cached_verdict(cache, key, deadline) or _wait_for_identical_check(
            cache, key, deadline
        )
    if report is None:
        client = RegistryClient(
            reference, credentials, settings, cache=cache, use_cache=use_cache, deadline=deadline
        )
        report = _lead_check(client, question, key, deadline)
    _enforce(report)
    return report


def _lead_check(
    client: RegistryClient, question: AccessQuestion, key: str, deadline: Deadline
) -> VerificationReport:
    """Run the check as the leader of its key's flight, and share its outcome with waiters."""
    cache = client.context.cache
    leading = cache.flights.lead(key)
    failure: Exception | None = None
    try:
        with client:
            # Another identical check may have finished since we looked.
            found = _cached_verdict(cache, key, deadline) if client.context.use_cache else None
            return found or _check(client, question, key)
    except RegistryError as error:
        failure = error
        raise
    finally:
        if leading:
            cache.flights.land(key, failure)


def _check(client: RegistryClient, question: AccessQuestion, key: str) -> VerificationReport:
    """One exchange with the registry; its success is remembered for `_verdict_ttl`."""
    context = client.context
    try:
        outcome = client.check(question.repository, question.push)
    except RegistryError:
        # A failed fresh check also withdraws an earlier success for the question.
        context.cache.verdicts.discard(key)
        raise
    report = report_from(context.reference, context.credentials, outcome, client)
    logger.debug(
        "verified %s (%s): %d registry + %d token requests in %.3f s",
        report.registry,
        report.auth_scheme,
        report.registry_requests,
        report.token_requests,
        report.elapsed_seconds,
    )
    # A fresh answer is remembered even when the cache was bypassed for reading.
    context.cache.verdicts.put(key, report, _verdict_ttl(outcome))
    return report


def _wait_for_identical_check(
    cache: AuthCache, key: str, deadline: Deadline
) -> VerificationReport | None:
    """The outcome of an identical check already running: its verdict, or its error raised.

    Nothing is locked across network I/O: the running check owns no lock, others wait on
    its completion for at most their own deadline, then ask the registry themselves.
    """
    running, error = cache.flights.wait(key, deadline.remaining())
    if error is not None:
        raise error
    return _cached_verdict(cache, key, deadline) if running else None


def _cached_verdict(cache: AuthCache, key: str, deadline: Deadline) -> VerificationReport | None:
    found = cache.verdicts.get(key)
    if not isinstance(found, VerificationReport):
        return None
    return dataclasses.replace(
        found,
        cached=True,
        registry_requests=0,
        token_requests=0,
        elapsed_seconds=deadline.seconds - deadline.remaining(),
    )


def _verdict_ttl(outcome: AuthOutcome) -> float:
    if outcome.token_remaining is None:
        return VERDICT_TTL
    return min(VERDICT_TTL, max(0.0, outcome.token_remaining - TOKEN_MARGIN))


def _verdict_key(
    cache: AuthCache,
    reference: RegistryReference,
    credentials: Credentials,
    question: AccessQuestion,
    settings: ConnectionSettings,
) -> str:
    # The trust configuration is part of the question: a CA added or removed since the last
    # check must not be answered from the cache.
    try:
        tls_key = resolve_tls(
            reference.resource_id,
            urlsplit(reference.api_url).netloc,
            insecure=settings.insecure,
            cert_dirs=settings.cert_dirs,
        ).cache_key()
    except RegistryError:
        tls_key = ("unusable", "")  # raised again by the check itself if https is used
    return cache.fingerprint(
        "verdict",
        reference.api_url,
        reference.scheme_explicit,
        credentials.username,
        credentials.secret,
        credentials.identity_token,
        settings.insecure,
        question.repository,
        question.push,
        tls_key,
    )


def _enforce(report: VerificationReport) -> None:
    for check in report.scopes:
        if check.denied:
            granted = ",".join(check.granted) or "nothing"
            who = "they" if report.username else "anonymous access"
            raise AccessDeniedError(
                report.registry,
                f"Registry {report.registry} accepted the credentials, but {who} may not "
                f"{' or '.join(check.denied)} {check.scope.split(':', 1)[-1].rsplit(':', 1)[0]} "
                f"(granted: {granted}; {check.source}). Check the repository name and the "
                "user's permissions.",
            )
