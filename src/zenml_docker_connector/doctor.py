"""`zenml-docker doctor`: explain, step by step, what verifying a registry involves.

It bypasses the per-process cache (a doctor that answers from memory explains nothing),
shows every round trip and what the registry and token service said, and ends with the
verdict or the actionable error. Secrets are never shown: the lines are built from
secret-free data and scrubbed once more before they are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zenml_docker_connector.errors import RegistryError, redact
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry_client import RegistryClient
from zenml_docker_connector.transport import Timeouts
from zenml_docker_connector.verification import report_from


@dataclass(frozen=True)
class DoctorReport:
    """The doctor's findings: `lines` to print, `ok` for the exit status."""

    ok: bool
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def run_doctor(
    reference: RegistryReference,
    username: str | None,
    password: str | None,
    repository: str | None = None,
    push: bool = False,
    insecure: bool = False,
    *,
    timeouts: Timeouts | None = None,
    cert_dirs: Sequence[Path] | None = None,
) -> DoctorReport:
    """Verify afresh and describe scheme, TLS, challenge, token, access, round trips."""
    lines = [
        _row(
            "Registry",
            reference.resource_id + (f" (repository {repository})" if repository else ""),
        ),
        _row(
            "Scheme",
            reference.scheme
            + (" (as named)" if reference.scheme_explicit else _default_scheme_reason(reference)),
        ),
        _row(
            "Credentials",
            f"user '{username}' with a password/token" if username and password else "none",
        ),
    ]
    if insecure:
        lines.append(_row("TLS", "certificate verification DISABLED (connector option insecure)"))
    warnings: list[str] = []
    with RegistryClient(
        reference,
        username,
        password,
        insecure=insecure,
        timeouts=timeouts,
        use_cache=False,
        cert_dirs=cert_dirs,
    ) as client:
        try:
            outcome = client.check(repository, push)
        except RegistryError as error:
            lines.append("Requests:")
            lines.extend(f"  {step}" for step in client.steps)
            lines.append(
                f"Took {client.counter.registry} registry and {client.counter.token} token "
                f"service request(s), {client.counter.elapsed:.3f} s."
            )
            message = str(error)
            return DoctorReport(
                ok=False,
                lines=_scrub(lines, password, username),
                error=_scrub([message], password, username)[0],
            )
        report = report_from(reference, username, outcome, client)
        steps = list(client.steps)
    if outcome.challenge:
        lines.append(_row("Challenge", outcome.challenge))
    lines.extend(line for line in report.lines() if not line.startswith("Registry:"))
    lines.append("Requests:")
    lines.extend(f"  {step}" for step in steps)
    for check in report.scopes:
        if check.denied:
            warnings.append(
                f"{' and '.join(check.denied)} NOT granted on {check.scope} ({check.source})"
            )
    if report.auth_scheme == "none":
        warnings.append("the registry accepts anyone: the credentials were not tested")
    return DoctorReport(
        ok=not any(check.denied for check in report.scopes),
        lines=_scrub(lines, password, username),
        warnings=_scrub(warnings, password, username),
    )


def _row(label: str, value: str) -> str:
    """The same two-column layout as `VerificationReport.lines()`."""
    return f"{label + ':':<17}{value}"


def _default_scheme_reason(reference: RegistryReference) -> str:
    if reference.scheme == "http":
        return " (loopback registry named without scheme: http, then https if the port speaks TLS)"
    return " (default)"


def _scrub(lines: list[str], password: str | None, username: str | None) -> list[str]:
    return [redact(line, [password], [username]) for line in lines]
