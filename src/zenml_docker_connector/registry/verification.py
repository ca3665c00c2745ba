"""Do these credentials work on this registry? The one entry point, no Docker daemon needed.

`RegistryClient` runs the OCI distribution auth flow: ping (`challenge`), answer the
challenge (`auth`: Basic, or Bearer with a token), prove it with an authenticated `GET /v2/`,
then check repository access when asked. Cold, this costs what `docker login` costs (Basic 2
registry requests, Bearer 2 + 1 token request); a remembered challenge saves the ping, and
when the registry contradicts it the flow starts over with a fresh ping (here only).

`verify_registry_access` runs the flow once per registry + credentials + question within
`cache.VERDICT_TTL`, because ZenML calls `_verify` up to three times for one
`get_connector_client()` + `connect()`. `use_cache=False` (ZenML's public `verify()`) reads no
cached verdict or challenge but remembers its fresh success. Identical concurrent checks share
one exchange (`cache.Verdicts`); one `Deadline` bounds each check, its wait included. A
registry out of reach from here (`RegistryOutOfReachError`) is remembered
`cache.UNREACHABLE_TTL` for cached checks.

Decisions where the protocol leaves room:
- 200 on `GET /v2/`: no credentials needed; a valid (anonymous) result, credentials unchecked.
- A credential helper's `<token>` username is sent as an OAuth2 `refresh_token` grant.
- A repository is checked only when passed explicitly, never inferred from the reference (a
  Docker Hub namespace in a registry URI would read as `library/<namespace>`).
- Push is known only from a JWT's `access` claim; otherwise it is "not checkable".
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    AccessDeniedError,
    NotARegistryError,
    RegistryError,
    RegistryOutOfReachError,
    TokenServiceError,
)
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry import auth
from zenml_docker_connector.registry.auth import Authorization, ScopeCheck
from zenml_docker_connector.registry.cache import (
    CHALLENGE_TTL,
    UNREACHABLE_TTL,
    AuthCache,
    default_cache,
    verdict_ttl,
)
from zenml_docker_connector.registry.challenge import (
    Endpoint,
    contradicts,
    discover,
    require_api_access,
)
from zenml_docker_connector.registry.policy import Outgoing, scheme_of, v2_root
from zenml_docker_connector.registry.tls import resolve_tls
from zenml_docker_connector.registry.transport import (
    ConnectionSettings,
    Deadline,
    RequestCounter,
    Transport,
)

logger = logging.getLogger(__name__)


def row(label: str, value: str) -> str:
    """One line of a report: label and value in two columns."""
    return f"{label + ':':<17}{value}"


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
    notes: tuple[str, ...]
    registry_requests: int
    token_requests: int
    elapsed_seconds: float
    cached: bool
    """The answer came from the per-process cache (no request made)."""
    challenge: str | None = None
    """The challenge answered, as shown (redacted, printable); None when there was none."""
    token_method: str | None = None
    token_lifetime: float | None = None
    token_remaining: float | None = None
    """Seconds of validity the token had left: a verdict is not kept longer."""

    def summary(self) -> str:
        """One line for a user."""
        if self.anonymous and self.auth_scheme == "none":
            verdict = "reachable; it needs no credentials (the configured ones were not checked)"
        elif self.anonymous:
            verdict = "reachable; anonymous access works (no credentials configured)"
        else:
            verdict = "credentials accepted"
        auth = {"basic": "Basic auth", "bearer": "bearer token"}.get(self.auth_scheme, "no auth")
        return f"Registry {self.registry}: {verdict} ({auth}, {self.scheme})."

    def lines(self) -> list[str]:
        """A readable, secret-free report, one fact per line."""
        rows = [("Registry", self.registry), ("API endpoint", self.url), ("Transport", self.tls)]
        if self.auth_scheme == "none":
            rows.append(("Authentication", "none required (GET /v2/ answered 200)"))
        elif self.auth_scheme == "basic":
            rows.append(("Authentication", "Basic"))
        else:
            rows.append(("Authentication", "Bearer token"))
            rows.append(("Token realm", str(self.realm)))
            rows.append(("Token service", self.service or "(none)"))
            if self.token_method:
                lifetime = f", valid {self.token_lifetime:g} s" if self.token_lifetime else ""
                rows.append(("Token request", f"{self.token_method}{lifetime}"))
        rows.append(("Result", self.summary()))
        rows.extend(("Access", check.describe()) for check in self.scopes)
        rows.extend(("Note", note) for note in self.notes)
        trips = (
            f"{self.registry_requests} to the registry, {self.token_requests} to the token "
            f"service, {self.elapsed_seconds:.3f} s"
        )
        if self.cached:
            trips = "none (cached result from an earlier check)"
        rows.append(("Round trips", trips))
        return [row(label, value) for label, value in rows]


class _StaleChallengeError(Exception):
    """A remembered challenge no longer matches the registry; start over with a ping."""


class RegistryClient:
    """Checks one set of credentials against one registry; counts its round trips."""

    def __init__(
        self,
        reference: RegistryReference,
        credentials: Credentials,
        settings: ConnectionSettings | None = None,
        *,
        cache: AuthCache | None = None,
        use_cache: bool = True,
        deadline: Deadline | None = None,
    ) -> None:
        self.reference = reference
        self.credentials = credentials
        self.settings = settings or ConnectionSettings()
        self.cache = cache if cache is not None else default_cache()
        self.use_cache = use_cache
        """False for explicit checks: a cached challenge is not read (still written)."""
        self.deadline = deadline or Deadline(self.settings.deadline)
        self.counter = RequestCounter()
        self._transports: dict[str, Transport] = {}

    def __repr__(self) -> str:
        return f"RegistryClient(registry={self.reference.resource_id!r})"

    @property
    def steps(self) -> list[str]:
        return self.counter.steps

    def transport_at(self, base_url: str) -> Transport:
        """The transport to the registry's API at `base_url` (one per base URL)."""
        found = self._transports.get(base_url)
        if found is None:
            found = Transport(
                self.reference,
                self.settings,
                base_url=base_url,
                deadline=self.deadline,
                redactor=self.credentials.redactor,
                counter=self.counter,
            )
            self._transports[base_url] = found
        return found

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check(self, repository: str | None = None, push: bool = False) -> VerificationReport:
        """Authenticate (and check repository access); raise an `errors` exception.

        `repository` is `ns/repo` (Docker Hub: `repo` means `library/repo`); a malformed
        one raises `ValueError` before any request. Access denied on a scope is reported,
        not raised (`verify_registry_access` raises it).
        """
        scopes = auth.requested_scopes(auth.normalize_repository(self.reference, repository), push)
        endpoint = self._cached_endpoint()
        if endpoint is not None and endpoint.challenge is not None:
            transport = self.transport_at(endpoint.base_url)
            challenge = transport.shown(endpoint.challenge.describe(), 400)
            self.steps.append(f"cached challenge: {challenge}")
            try:
                return self._authenticate(transport, endpoint, scopes, cached=True)
            except (_StaleChallengeError, TokenServiceError, NotARegistryError):
                self.steps.append("cached challenge is stale: asking the registry again")
                self.cache.challenges.discard(self._challenge_key())
        transport, endpoint = discover(self.reference, self.transport_at)
        if endpoint.challenge is None:
            return self._report(transport, endpoint, auth.granted_without_auth(scopes), None)
        self._remember(endpoint)
        return self._authenticate(transport, endpoint, scopes, cached=False)

    def _authenticate(
        self, transport: Transport, endpoint: Endpoint, scopes: tuple[str, ...], *, cached: bool
    ) -> VerificationReport:
        """Answer the challenge and prove it with `GET /v2/`; a 401 to a remembered challenge
        that the registry no longer poses means the memory is stale."""
        challenge, base_url = endpoint.challenge, endpoint.base_url
        assert challenge is not None
        if challenge.scheme == "basic":
            authorization = auth.basic_authorization(transport.registry, self.credentials)
        else:
            authorization = auth.bearer_authorization(transport, self.credentials, endpoint, scopes)
            if authorization.fell_back_to_get:
                self._remember(dataclasses.replace(endpoint, prefer_get=True))
        response = transport.request(
            Outgoing(
                "GET",
                v2_root(base_url),
                authorization=authorization.header,
                auth_label=authorization.label,
            )
        )
        if response.status == 401:
            if cached and contradicts(challenge, response):
                raise _StaleChallengeError()
            raise authorization.rejected(transport, self.credentials)
        require_api_access(self.reference, self.credentials, response, authorization.what)
        token = authorization.token
        checks = tuple(
            auth.check_with_token(transport, base_url, scope, token)
            if token is not None
            else auth.probe(transport, base_url, scope, (authorization.header, "Basic"))
            for scope in scopes
        )
        return self._report(transport, endpoint, checks, authorization)

    def _report(
        self,
        transport: Transport,
        endpoint: Endpoint,
        scopes: tuple[ScopeCheck, ...],
        authorization: Authorization | None,
    ) -> VerificationReport:
        challenge, shown = endpoint.challenge, transport.shown
        token = authorization.token if authorization is not None else None
        anonymous = challenge is None or (token is not None and not self.credentials.complete)
        notes: list[str] = []
        if challenge is None:
            notes.append("the registry needs no credentials: the configured ones were not checked")
        elif anonymous:
            notes.append("no credentials configured: checked anonymous access only")
        if authorization is not None and authorization.fell_back_to_get:
            notes.append("the token service has no OAuth2 endpoint: used GET")
        return VerificationReport(
            registry=self.reference.resource_id,
            url=v2_root(endpoint.base_url),
            scheme=scheme_of(endpoint.base_url),
            tls=self._transport_text(transport, endpoint.base_url),
            auth_scheme=challenge.scheme if challenge is not None else "none",
            realm=shown(challenge.realm or "", 200) if token and challenge else None,
            service=shown(challenge.service, 200)
            if token and challenge and challenge.service
            else None,
            username=self.credentials.username or None,
            anonymous=anonymous,
            scopes=scopes,
            notes=tuple(notes),
            registry_requests=self.counter.registry,
            token_requests=self.counter.token,
            elapsed_seconds=self.counter.elapsed,
            cached=False,
            challenge=shown(challenge.describe(), 400) if challenge is not None else None,
            token_method=token.method if token else None,
            token_lifetime=float(token.expires_in) if token else None,
            token_remaining=token.remaining if token else None,
        )

    def _transport_text(self, transport: Transport, base_url: str) -> str:
        if scheme_of(base_url) == "http":
            why = "named with http://" if self.reference.scheme_explicit else "loopback registry"
            return f"plain HTTP ({why})"
        return f"TLS, {transport.tls_for(base_url).description}"

    # --- the remembered challenge -----------------------------------------------------

    def _cached_endpoint(self) -> Endpoint | None:
        """The endpoint remembered from an earlier check (explicit checks ignore it)."""
        if not self.use_cache:
            return None
        found = self.cache.challenges.get(self._challenge_key())
        return found if isinstance(found, Endpoint) else None

    def _remember(self, endpoint: Endpoint) -> None:
        self.cache.challenges.put(self._challenge_key(), endpoint, CHALLENGE_TTL)

    def _challenge_key(self) -> str:
        return self.cache.fingerprint(
            "challenge",
            self.reference.api_url,
            self.reference.scheme_explicit,
            self.settings.insecure,
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
    cache = client.cache
    leading = cache.verdicts.lead(key)
    failure: Exception | None = None
    try:
        with client:
            # Another identical check may have finished since we looked.
            found = _cached_verdict(cache, key, deadline) if client.use_cache else None
            return found or _check(client, question, key)
    except RegistryError as error:
        failure = error
        raise
    finally:
        if leading:
            cache.verdicts.land(key, failure)


def _check(client: RegistryClient, question: AccessQuestion, key: str) -> VerificationReport:
    """One exchange with the registry; its success is remembered for `verdict_ttl`."""
    try:
        report = client.check(question.repository, question.push)
    except RegistryOutOfReachError as error:
        # Replaces an earlier success too; cached checks get this answer for a while.
        client.cache.verdicts.put(key, _OutOfReach(error.registry, str(error)), UNREACHABLE_TTL)
        raise
    except RegistryError:
        # A failed fresh check also withdraws an earlier success for the question.
        client.cache.verdicts.discard(key)
        raise
    logger.debug(
        "verified %s (%s): %d registry + %d token requests in %.3f s",
        report.registry,
        report.auth_scheme,
        report.registry_requests,
        report.token_requests,
        report.elapsed_seconds,
    )
    # A fresh answer is remembered even when the cache was bypassed for reading.
    client.cache.verdicts.put(key, report, verdict_ttl(report.token_remaining))
    return report


def _wait_for_identical_check(
    cache: AuthCache, key: str, deadline: Deadline
) -> VerificationReport | None:
    """The outcome of an identical check already running: its verdict, or its error raised.

    Nothing is locked across network I/O: the running check owns no lock, others wait on
    its completion for at most their own deadline, then ask the registry themselves.
    """
    running, error = cache.verdicts.wait(key, deadline.remaining())
    if error is not None:
        raise error
    return _cached_verdict(cache, key, deadline) if running else None


@dataclass(frozen=True)
class _OutOfReach:
    """A check that found the registry out of reach: its message, not the exception (whose
    traceback would keep the failed check's frames, credentials included, alive)."""

    registry: str
    message: str


def _cached_verdict(cache: AuthCache, key: str, deadline: Deadline) -> VerificationReport | None:
    """The remembered answer: a verdict, None, or the remembered out-of-reach error raised."""
    found = cache.verdicts.get(key)
    if isinstance(found, _OutOfReach):
        logger.debug(
            "not asking %s again: out of reach within the last %g s",
            found.registry,
            UNREACHABLE_TTL,
        )
        raise RegistryOutOfReachError(found.registry, found.message, remembered=True)
    if not isinstance(found, VerificationReport):
        return None
    return dataclasses.replace(
        found,
        cached=True,
        registry_requests=0,
        token_requests=0,
        elapsed_seconds=deadline.seconds - deadline.remaining(),
    )


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
