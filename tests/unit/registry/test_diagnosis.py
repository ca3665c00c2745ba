"""The doctor's probe: a fresh check, explained line by line, never showing a secret."""

from __future__ import annotations

from testbed.certs import Issued
from testbed.leaks import assert_no_secret
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge, registry_ok
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.diagnosis import run_doctor
from zenml_docker_connector.registry.transport import ConnectionSettings
from zenml_docker_connector.registry.verification import AccessQuestion

SECRET = "Probe-Secret-1"
USER = Credentials("alice", SECRET)


def _basic(seen: Seen) -> Reply:
    if seen.path.endswith("/tags/list"):
        return Reply(403)
    if seen.headers.get("Authorization") == USER.basic_header():
        return registry_ok()
    # A registry that echoes what it got: the probe must scrub it.
    return Reply(401, [("WWW-Authenticate", f'Basic realm="echo {SECRET}"')])


def test_a_successful_probe_explains_each_step(loopback: Loopback) -> None:
    loopback.serve(_basic)
    result = run_doctor(parse_registry_reference(loopback.netloc), USER)
    assert result.ok and result.error is None and result.warnings == []
    text = "\n".join(result.lines)
    assert result.lines[:3] == [
        f"Registry:        {loopback.netloc}",
        "Scheme:          http (loopback registry named without scheme: http, then https if "
        "the port speaks TLS)",
        "Credentials:     a username with a password/token",
    ]
    assert 'Challenge:       Basic realm="echo ********"' in text
    assert f"Requests:\n  GET {loopback.url}/v2/ -> 401\n" in text
    assert f"  GET {loopback.url}/v2/ (Basic) -> 200" in text
    assert_no_secret(result.lines, SECRET, usernames=["alice"])


def test_the_probe_never_answers_from_the_cache(loopback: Loopback) -> None:
    loopback.serve(_basic)
    reference = parse_registry_reference(loopback.netloc)
    for _ in range(2):
        lines = run_doctor(reference, USER).lines
        (round_trips,) = [line for line in lines if line.startswith("Round trips:")]
        assert round_trips.startswith("Round trips:     2 to the registry, 0 to the token")
    assert len(loopback.seen) == 2 + 2


def test_a_failed_probe_lists_the_requests_and_the_error(loopback_cert: Issued) -> None:
    # A TLS registry whose certificate nobody trusts: only `insecure` gets the probe through.
    tls = (loopback_cert.cert_path, loopback_cert.key_path)
    with LocalServer(lambda seen: basic_challenge(), tls=tls) as server:
        reference = parse_registry_reference(f"https://{server.netloc}")
        result = run_doctor(reference, USER, settings=ConnectionSettings(insecure=True))
    assert not result.ok and result.error is not None
    assert "rejected the credentials" in result.error and "alice" not in result.error
    assert "Scheme:          https (as named)" in result.lines
    assert "TLS:             certificate verification DISABLED (connector option insecure)" in (
        result.lines
    )
    assert result.lines[-1].startswith("Took 2 registry and 0 token service request(s)")
    assert [s.headers.get("Authorization") for s in server.seen] == [None, USER.basic_header()]


def test_denied_access_and_open_registries_are_warnings(loopback: Loopback) -> None:
    reference = parse_registry_reference(loopback.netloc)
    loopback.serve(_basic)
    denied = run_doctor(reference, USER, AccessQuestion("team/app", push=True))
    assert not denied.ok
    assert denied.warnings == [
        "pull NOT granted on repository:team/app:pull,push (GET /v2/team/app/tags/list answered "
        "403; push needs a write to test)"
    ]
    assert f"Registry:        {loopback.netloc} (repository team/app)" in denied.lines
    loopback.serve(lambda seen: registry_ok())
    open_registry = run_doctor(reference, Credentials(None, None))
    assert open_registry.ok and "Credentials:     none" in open_registry.lines
    assert open_registry.warnings == [
        "the registry accepts anyone: the credentials were not tested"
    ]
