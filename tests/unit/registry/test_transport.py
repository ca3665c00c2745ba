"""`Transport.request`: the credential guard, hand-followed redirects, counting, step logs;
the settings it is built from and the deadline that bounds it.

Over real sockets to in-process loopback servers (`testbed.loopback`); TLS, timeouts,
proxies and body caps against real servers are in tests/integration/registry/test_transport.py.
"""

from __future__ import annotations

import socket

import pytest
import requests

from testbed.local_http import LocalServer, Reply, Script, Seen
from testbed.loopback import Loopback
from zenml_docker_connector.errors import (
    DestinationRefusedError,
    InsecureTransportError,
    NotARegistryError,
    RegistryError,
    TokenServiceError,
)
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.policy import Outgoing
from zenml_docker_connector.registry.transport import (
    MAX_REDIRECTS,
    ConnectionSettings,
    Deadline,
    PeerRefusedError,
    RequestCounter,
    SocketWatchdog,
    Transport,
    summarize_connection_error,
)

BASIC = "Basic dXNlcjpwYXNz"


def test_refuses_credentials_for_plain_http_before_connecting() -> None:
    reference = parse_registry_reference("registry.example.com")
    with Transport(reference) as transport, pytest.raises(InsecureTransportError) as caught:
        transport.request(
            Outgoing("GET", "http://registry.example.com/v2/", authorization="Basic dXNlcjpwYXNz")
        )
    assert transport.counter.registry == 0
    assert "plain HTTP" in str(caught.value) and "dXNlcjpwYXNz" not in str(caught.value)


def _redirecting(location: str, status: int = 302) -> Script:
    def script(seen: Seen) -> Reply:
        if seen.path == "/v2/":
            return Reply(status, [("Location", location)])
        return Reply(200, body=b"{}")

    return script


def test_a_same_origin_redirect_keeps_the_credentials_and_counts_each_hop(
    loopback: Loopback,
) -> None:
    transport = loopback.transport(_redirecting("/v2/moved"))
    response = transport.request(
        Outgoing("GET", f"{loopback.url}/v2/", authorization=BASIC, auth_label="Basic")
    )
    assert response.status == 200 and response.redirected
    assert [s.headers.get("Authorization") for s in loopback.seen] == [BASIC, BASIC]
    assert transport.counter.registry == 2
    assert transport.steps == [
        f"GET {loopback.url}/v2/ (Basic) -> 302",
        f"GET {loopback.url}/v2/moved (Basic) -> 200",
    ]


def test_a_registry_redirect_to_another_host_is_not_followed(loopback: Loopback) -> None:
    """The registry's base never moves (`policy`): neither credentials nor the request go."""
    with LocalServer(lambda seen: Reply(200, body=b"{}"), url_host="localhost") as cdn:
        transport = loopback.transport(_redirecting(f"{cdn.url}/blob?sig=1"))
        with pytest.raises(NotARegistryError, match="to another origin") as caught:
            transport.request(
                Outgoing("GET", f"{loopback.url}/v2/", authorization=BASIC, auth_label="Basic")
            )
        assert cdn.seen == []
    assert f"{cdn.url}/blob" in str(caught.value) and "sig=" not in str(caught.value)


def test_redirect_loops_end_with_an_error_naming_the_last_location(loopback: Loopback) -> None:
    transport = loopback.transport(_redirecting("/v2/"))
    with pytest.raises(RegistryError, match=f"redirected more than {MAX_REDIRECTS} times"):
        transport.request(Outgoing("GET", f"{loopback.url}/v2/"))
    assert transport.counter.registry == MAX_REDIRECTS + 1 == len(loopback.seen)


def test_a_token_service_redirecting_to_a_non_http_url_is_a_token_service_error(
    loopback: Loopback,
) -> None:
    transport = loopback.transport(_redirecting("file:///etc/passwd"))
    with pytest.raises(TokenServiceError, match="unsupported location file:///etc/passwd"):
        transport.request(Outgoing("GET", f"{loopback.url}/v2/", role="token"))
    assert (transport.counter.registry, transport.counter.token) == (0, 1)


def test_a_redirect_without_location_is_the_answer(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: Reply(302))
    assert transport.request(Outgoing("GET", f"{loopback.url}/v2/")).status == 302


def test_a_refused_connected_address_reads_as_its_rule_says() -> None:
    """The socket check's verdicts: a `public` destination rebound to a private address gets
    the server's one refusal; a plain-HTTP loopback realm leading elsewhere is about plain
    HTTP (and may name the kind: it only ever concerns the user's own machine or the
    registry's own host)."""
    reference = parse_registry_reference("127.0.0.1:5000")
    settings = ConnectionSettings(refuse_private_destinations=True)
    with Transport(reference, settings) as transport:
        public = Outgoing("GET", "https://auth.example.com/token", role="token", peer="public")
        rebound = transport._failure(public, PeerRefusedError("10.0.0.7", "public"))
        direct = Outgoing("GET", "http://app.localhost:5001/token", role="token", peer="loopback")
        elsewhere = transport._failure(direct, PeerRefusedError("10.0.0.7", "loopback"))
    assert isinstance(rebound, DestinationRefusedError)
    assert str(rebound).startswith("Refusing to contact https://auth.example.com/token for")
    assert "10.0.0.7" not in str(rebound)
    assert isinstance(elsewhere, InsecureTransportError)
    assert "over plain HTTP to http://app.localhost:5001/token" in str(elsewhere)
    assert "it leads to a private address" in str(elsewhere)
    assert transport.steps[-2:] == [
        "GET https://auth.example.com/token -> refused",
        "GET http://app.localhost:5001/token -> refused",
    ]


def test_counter_keeps_registry_and_token_requests_apart() -> None:
    counter = RequestCounter()
    counter.add("registry")
    counter.add("token")
    counter.add("token")
    assert (counter.registry, counter.token) == (1, 2) and counter.elapsed >= 0


def test_insecure_is_for_the_registry_host_only() -> None:
    settings = ConnectionSettings(insecure=True)
    with Transport(parse_registry_reference("registry.example.com"), settings) as transport:
        registry = transport.tls_for("https://registry.example.com/v2/")
        realm = transport.tls_for("https://auth.example/token")
    assert registry.verify is False and "verification disabled" in registry.description
    assert realm.verify is not False and "disabled" not in realm.description


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
            "connection refused",
        ),
        (OSError("Name or service not known"), "the host name does not resolve"),
        (OSError("RemoteDisconnected('Remote end closed')"), "the server closed the connection"),
        (OSError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), "does not speak TLS"),
        (
            OSError("(certificate verify failed: unable to get local issuer certificate (_ssl.c))"),
            "certificate verify failed: unable to get local issuer certificate (_ssl.c",
        ),
        # Clipping comes later, after redaction (`Transport.shown`).
        (OSError("x" * 300), "x" * 300),
        (OSError(), "OSError"),
    ],
)
def test_connection_errors_are_summarised(error: BaseException, reason: str) -> None:
    assert reason in summarize_connection_error(error)


def test_the_deadline_counts_down_on_its_clock() -> None:
    now = [100.0]
    deadline = Deadline(30, clock=lambda: now[0])
    assert deadline.remaining() == 30 and not deadline.expired
    now[0] = 129.5
    assert deadline.remaining() == 0.5
    now[0] = 131
    assert deadline.remaining() == 0 and deadline.expired


def test_the_watchdog_shuts_tracked_sockets_when_the_time_is_up() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watchdog = SocketWatchdog(Deadline(0.05))
        watchdog.track(ours)
        watchdog.arm()
        ours.settimeout(10)
        assert ours.recv(1) == b""  # a blocked read returns once the deadline passes
        assert watchdog.fired
        watchdog.close()


def test_a_closed_watchdog_lets_go_of_its_duplicates() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watchdog = SocketWatchdog(Deadline(60))
        watchdog.arm()
        watchdog.track(ours)
        watchdog.close()  # disarmed: nothing is shut
        theirs.sendall(b"x")
        assert ours.recv(1) == b"x" and not watchdog.fired
        watchdog.track(ours)  # after close: not kept
