"""The doctor's diagnosis: verify afresh and explain, step by step, what it involved.

It bypasses the per-process cache (a doctor answering from memory explains nothing), shows
every round trip, and ends with the verdict or the actionable error. Lines are built from
secret-free, printable data and scrubbed once more before they are returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import RegistryError
from zenml_docker_connector.printable import printable
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry.transport import ConnectionSettings
from zenml_docker_connector.registry.verification import AccessQuestion, RegistryClient, row


@dataclass(frozen=True)
class DoctorReport:
    """What `zenml-docker doctor` prints: `lines`, `warnings`, the `error`, and `ok` for the
    exit status. The findings themselves are the flow's `VerificationReport`, rendered here
    with the settings before and the requests after."""

    ok: bool
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def run_doctor(
    reference: RegistryReference,
    credentials: Credentials,
    question: AccessQuestion | None = None,
    settings: ConnectionSettings | None = None,
) -> DoctorReport:
    """Verify afresh and describe scheme, TLS, challenge, token, access, round trips."""
    question = question or AccessQuestion()
    settings = settings or ConnectionSettings()
    lines = _setting_lines(reference, credentials, question, settings)
    with RegistryClient(reference, credentials, settings, use_cache=False) as client:
        try:
            report = client.check(question.repository, question.push)
        except RegistryError as error:
            lines.append("Requests:")
            lines.extend(f"  {step}" for step in client.steps)
            lines.append(
                f"Took {client.counter.registry} registry and {client.counter.token} token "
                f"service request(s), {client.counter.elapsed:.3f} s."
            )
            return DoctorReport(
                ok=False,
                lines=_scrub(lines, credentials),
                error=_scrub([str(error)], credentials)[0],
            )
    if report.challenge:
        lines.append(row("Challenge", report.challenge))
    lines.extend(line for line in report.lines() if not line.startswith("Registry:"))
    lines.append("Requests:")
    lines.extend(f"  {step}" for step in client.steps)
    warnings = [
        f"{' and '.join(check.denied)} NOT granted on {check.scope} ({check.source})"
        for check in report.scopes
        if check.denied
    ]
    if report.auth_scheme == "none":
        warnings.append("the registry accepts anyone: the credentials were not tested")
    return DoctorReport(
        ok=not any(check.denied for check in report.scopes),
        lines=_scrub(lines, credentials),
        warnings=_scrub(warnings, credentials),
    )


def _setting_lines(
    reference: RegistryReference,
    credentials: Credentials,
    question: AccessQuestion,
    settings: ConnectionSettings,
) -> list[str]:
    """What is about to be checked, before any request."""
    repository, username = question.repository, credentials.username
    if reference.scheme_explicit:
        scheme_reason = " (as named)"
    elif reference.scheme == "http":
        scheme_reason = (
            " (loopback registry named without scheme: http, then https if the port speaks TLS)"
        )
    else:
        scheme_reason = " (default)"
    lines = [
        row(
            "Registry",
            reference.resource_id + (f" (repository {repository})" if repository else ""),
        ),
        row("Scheme", reference.scheme + scheme_reason),
        row(
            "Credentials",
            "a username with a password/token" if username and credentials.secret else "none",
        ),
    ]
    if settings.insecure:
        lines.append(row("TLS", "certificate verification DISABLED (connector option insecure)"))
    return lines


def _scrub(lines: list[str], credentials: Credentials) -> list[str]:
    """Once more, whatever the parts went through: no secret, nothing unprintable."""
    return [printable(credentials.redact(line)) for line in lines]
