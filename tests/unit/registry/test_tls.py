"""Whom TLS trusts for one registry host (`tls`): bundles, certs.d directories, insecure."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from testbed.certs import Issued, issue_server_cert, make_ca
from testbed.local_http import LocalServer, registry_ok
from zenml_docker_connector.errors import RegistryTLSError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.policy import Outgoing
from zenml_docker_connector.registry.tls import TLSSettings, docker_cert_dirs, resolve_tls
from zenml_docker_connector.registry.transport import ConnectionSettings, Transport


def test_trust_order(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    env = {"REQUESTS_CA_BUNDLE": str(bundle), "CURL_CA_BUNDLE": "/nonexistent"}
    settings = resolve_tls("r", "r:5000", cert_dirs=[tmp_path / "none"], environ=env)
    assert settings.verify == str(bundle) and "REQUESTS_CA_BUNDLE" in settings.description
    settings = resolve_tls("r", "r:5000", cert_dirs=[], environ={"CURL_CA_BUNDLE": str(bundle)})
    assert settings.verify == str(bundle) and "CURL_CA_BUNDLE" in settings.description
    settings = resolve_tls("r", "r:5000", cert_dirs=[], environ={})
    assert "system CAs" in settings.description or "certifi" in settings.description
    insecure = resolve_tls("r", "r:5000", insecure=True, environ=env)
    assert insecure.verify is False and "disabled" in insecure.description


def test_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryTLSError) as caught:
        resolve_tls("r:5000", "r:5000", environ={"REQUESTS_CA_BUNDLE": str(tmp_path / "nope.pem")})
    assert "REQUESTS_CA_BUNDLE" in str(caught.value)


def test_certs_d_adds_cas_and_client_pair(tmp_path: Path) -> None:
    host_dir = tmp_path / "certs.d" / "r.example:5000"
    host_dir.mkdir(parents=True)
    (host_dir / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n")
    (host_dir / "extra.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n"
    )
    (host_dir / "client.cert").write_text("cert")
    (host_dir / "client.key").write_text("key")
    settings = resolve_tls("r", "r.example:5000", cert_dirs=[tmp_path / "certs.d"], environ={})
    assert isinstance(settings.verify, str)
    combined = Path(settings.verify).read_text()
    assert "\nA\n" in combined and "\nB\n" in combined
    assert combined.count("BEGIN CERTIFICATE") > 2  # the base bundle is kept
    assert settings.client_cert == (str(host_dir / "client.cert"), str(host_dir / "client.key"))
    assert str(host_dir / "ca.crt") in settings.description
    (host_dir / "client.key").unlink()
    with pytest.raises(RegistryTLSError, match="no matching key"):
        resolve_tls("r", "r.example:5000", cert_dirs=[tmp_path / "certs.d"], environ={})


def test_cert_dirs_docker_first_then_containers_rootful_before_rootless(tmp_path: Path) -> None:
    assert docker_cert_dirs({"XDG_CONFIG_HOME": str(tmp_path)}) == [
        Path("/etc/docker/certs.d"),
        tmp_path / "docker" / "certs.d",
        Path("/etc/containers/certs.d"),
        tmp_path / "containers" / "certs.d",
    ]


def test_the_first_cert_dir_with_files_wins(tmp_path: Path) -> None:
    empty, used = tmp_path / "a", tmp_path / "b"
    (empty / "r.example").mkdir(parents=True)
    (used / "r.example").mkdir(parents=True)
    (used / "r.example" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nC\n")
    settings = resolve_tls("r", "r.example", cert_dirs=[empty, used], environ={})
    assert str(used / "r.example" / "ca.crt") in settings.description
    other_host = resolve_tls("r", "other.example", cert_dirs=[empty, used], environ={})
    assert other_host.client_cert is None and "ca.crt" not in other_host.description


def test_cache_key_names_paths_not_contents() -> None:
    settings = TLSSettings("/x/bundle.pem", ("/x/c.cert", "/x/c.key"), "described")
    assert settings.cache_key() == ("/x/bundle.pem", "/x/c.cert|/x/c.key")
    assert TLSSettings(True, None, "d").cache_key() == ("True", "")


def test_insecure_skips_even_a_missing_bundle() -> None:
    settings = resolve_tls("r", "r:5000", insecure=True, environ={"REQUESTS_CA_BUNDLE": "/nope"})
    assert settings.verify is False and settings.client_cert is None
    with pytest.raises(RegistryTLSError, match="/nope"):
        resolve_tls("r", "r:5000", environ={"REQUESTS_CA_BUNDLE": "/nope"})


def _certs_d(root: Path, netloc: str, ca: Issued) -> Path:
    directory = root / netloc
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_bytes(ca.cert_path.read_bytes())
    return directory / "ca.crt"


def _get(netloc: str, cert_dirs: list[Path]) -> int:
    reference = parse_registry_reference(f"https://{netloc}")
    with Transport(reference, ConnectionSettings(cert_dirs=cert_dirs)) as transport:
        return transport.request(Outgoing("GET", f"https://{netloc}/v2/")).status


def test_one_context_per_trust_reused_and_rebuilt_when_a_certs_d_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ca = make_ca(tmp_path / "ca")
    server_cert = issue_server_cert(ca, tmp_path / "ca")
    root = tmp_path / "certs.d"
    with LocalServer(
        lambda seen: registry_ok(), tls=(server_cert.cert_path, server_cert.key_path)
    ) as server:
        ca_file = _certs_d(root, server.netloc, ca)
        first = resolve_tls("r", server.netloc, cert_dirs=[root]).ssl_context()
        assert first is not None
        assert resolve_tls("r", server.netloc, cert_dirs=[root]).ssl_context() is first
        assert _get(server.netloc, [root]) == 200
        # Another CA in certs.d: the next check trusts it, and no longer the server's.
        other = make_ca(tmp_path / "other", "another CA")
        ca_file.write_bytes(other.cert_path.read_bytes())
        second = resolve_tls("r", server.netloc, cert_dirs=[root]).ssl_context()
        assert second is not None and second is not first
        with pytest.raises(RegistryTLSError, match="TLS verification"):
            _get(server.netloc, [root])
        # And back: trusted again.
        _certs_d(root, server.netloc, ca)
        assert _get(server.netloc, [root]) == 200


def test_a_transport_hands_the_context_to_its_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ca = make_ca(tmp_path)
    server_cert = issue_server_cert(ca, tmp_path)
    root = tmp_path / "certs.d"
    with LocalServer(
        lambda seen: registry_ok(), tls=(server_cert.cert_path, server_cert.key_path)
    ) as server:
        _certs_d(root, server.netloc, ca)
        context = resolve_tls("r", server.netloc, cert_dirs=[root]).ssl_context()
        reference = parse_registry_reference(f"https://{server.netloc}")
        with Transport(reference, ConnectionSettings(cert_dirs=[root])) as transport:
            for _ in range(2):
                transport.request(Outgoing("GET", f"https://{server.netloc}/v2/"))
            adapter = transport.session.get_adapter(f"https://{server.netloc}/")
            pools = adapter.poolmanager.pools  # type: ignore[attr-defined]
            (key,) = pools.keys()
            pool = pools[key]
            assert key.key_ssl_context is context
            assert pool.conn_kw["ssl_context"] is context
            assert (pool.ca_certs, pool.cert_file) == (None, None)  # nothing loaded per connection


def test_an_insecure_context_verifies_nothing_and_unloadable_files_give_none(
    tmp_path: Path,
) -> None:
    insecure = resolve_tls("r", "r:5000", insecure=True).ssl_context()
    assert insecure is not None and insecure.verify_mode == ssl.CERT_NONE
    assert not insecure.check_hostname
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    assert TLSSettings(str(broken), None, "broken").ssl_context() is None
