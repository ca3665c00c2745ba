"""ECR, Artifact Registry and ACR credentials come from ZenML's AWS, GCP and Azure connectors:
for resource type `docker-registry` they build a Docker connector client, which must be ours.

Each cloud connector runs its own `_get_connector_client` here, as far as it can without a
cloud: AWS completely, against moto's server (STS session token, ECR authorization token);
GCP with its `oauth2-token` method, which needs no network; Azure with its service-principal
method, after the subscription lookup (the one step that needs Azure's API) was answered by
seeding the connector's own cache of it. `test_ecr_*` then take the AWS path end to end:
the `zenml` CLI logs the docker CLI in to a local registry served under the ECR name.
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from testbed.docker_cli import docker_pull
from testbed.ecr import EcrBed
from testbed.leaks import assert_no_secret
from testbed.moto_server import ECR_HOST, ECR_PASSWORD, ECR_USERNAME, MotoServer
from testbed.requirements import require_service
from testbed.secret_scan import register_secret
from testbed.zenml_fixtures import output_of
from zenml_docker_connector.glue.connector import DockerServiceConnector

DOCKER_REGISTRY = "docker-registry"
CLOUD_SDKS_ENV = "ZDC_CLOUD_SDKS"


def _cloud_module(name: str, sdk: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """ZenML's connector module for one cloud. The GCP and Azure SDKs live outside the venv,
    in `$VENV/cloud-sdks` (`scripts/test.sh` says why), and are put on sys.path here only;
    the modules stay loaded."""
    overlay = Path(os.environ.get(CLOUD_SDKS_ENV) or Path(sys.prefix) / "cloud-sdks")
    if overlay.is_dir():
        # Appended: it adds missing packages and can shadow nothing the venv has.
        monkeypatch.setattr(sys, "path", [*sys.path, str(overlay)])
        importlib.invalidate_caches()
    try:
        found = importlib.util.find_spec(sdk) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        require_service(f"{name}-sdk", f"python module {sdk!r} missing: run scripts/test.sh")
    return importlib.import_module(
        f"zenml.integrations.{name}.service_connectors.{name}_service_connector"
    )


def _builtin_resource_id(registry: str) -> str:
    """What ZenML's built-in Docker connector calls the same registry."""
    from zenml.service_connectors.docker_service_connector import (
        DockerConfiguration,
    )
    from zenml.service_connectors.docker_service_connector import (
        DockerServiceConnector as Builtin,
    )

    config = DockerConfiguration(username="u", password="p", registry=registry)
    builtin = Builtin.model_construct(auth_method="password", config=config)
    return str(builtin._get_default_resource_id(DOCKER_REGISTRY))


def _assert_ours(client: Any, *, username: str, password: str, expires_at: Any) -> None:
    from zenml.service_connectors.docker_service_connector import (
        DockerServiceConnector as Builtin,
    )

    assert type(client) is DockerServiceConnector
    assert isinstance(client, Builtin)  # what BaseContainerRegistry checks
    assert client.resource_type == DOCKER_REGISTRY
    assert client.resource_id == _builtin_resource_id(str(client.config.registry))
    assert client.expires_at == expires_at
    assert client.credentials().username == username
    assert client.credentials().secret == password
    assert client.config.insecure is False


def test_aws_connector_builds_our_class_for_ecr(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = _cloud_module("aws", "boto3", monkeypatch)
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    from testbed.moto_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    connector = aws.AWSServiceConnector(
        auth_method="session-token",
        resource_type=DOCKER_REGISTRY,
        config=aws.SessionTokenAuthenticationConfig(
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region="us-east-1",
        ),
        expiration_seconds=3600,
    )
    client = connector._get_connector_client(DOCKER_REGISTRY, ECR_HOST)
    _, session_expires = connector.get_boto3_session(
        connector.auth_method, resource_type=DOCKER_REGISTRY, resource_id=ECR_HOST
    )
    assert session_expires is not None
    _assert_ours(client, username=ECR_USERNAME, password=ECR_PASSWORD, expires_at=session_expires)
    assert client.config.registry == f"https://{ECR_HOST}"
    assert client.resource_id == ECR_HOST


def test_gcp_connector_builds_our_class_for_artifact_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gcp = _cloud_module("gcp", "google.cloud.artifactregistry_v1", monkeypatch)
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    token = register_secret(f"ya29.test-{uuid.uuid4().hex}", "GCP OAuth2 token")
    connector = gcp.GCPServiceConnector(
        auth_method="oauth2-token",
        resource_type=DOCKER_REGISTRY,
        config=gcp.GCPOAuth2TokenConfig(project_id="zenml-test", token=token),
        expires_at=expires,
    )
    resource = "europe-west1-docker.pkg.dev/zenml-test/images"
    client = connector._get_connector_client(DOCKER_REGISTRY, resource)
    _assert_ours(client, username="oauth2accesstoken", password=token, expires_at=expires)
    assert client.resource_id == "europe-west1-docker.pkg.dev"


def test_azure_connector_builds_our_class_for_acr(monkeypatch: pytest.MonkeyPatch) -> None:
    azure = _cloud_module("azure", "azure.mgmt.containerregistry", monkeypatch)
    client_id = uuid.uuid4()
    secret = register_secret(f"sp-secret-{uuid.uuid4().hex}", "Azure client secret")
    connector = azure.AzureServiceConnector(
        auth_method="service-principal",
        resource_type=DOCKER_REGISTRY,
        config=azure.AzureServicePrincipalConfig(
            tenant_id=uuid.uuid4(), client_id=client_id, client_secret=secret
        ),
    )
    # The connector caches the subscription it looked up; answer that lookup here.
    connector._subscription_id = str(uuid.uuid4())
    connector._subscription_name = "zenml-test"
    client = connector._get_connector_client(DOCKER_REGISTRY, "zenmltest.azurecr.io")
    _assert_ours(client, username=str(client_id), password=secret, expires_at=None)
    assert client.resource_id == "zenmltest.azurecr.io"


# --- the AWS connector end to end, against the local ECR stand-in -------------------------


def _register_aws(
    ecr: EcrBed, env: dict[str, str], name: str, auth_method: str = "secret-key"
) -> None:
    from testbed.moto_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    registered = ecr.zenml(
        env,
        "service-connector",
        "register",
        name,
        "--type=aws",
        f"--auth-method={auth_method}",
        f"--aws_access_key_id={ACCESS_KEY_ID}",
        f"--aws_secret_access_key={SECRET_ACCESS_KEY}",
        "--region=us-east-1",
        f"--resource-type={DOCKER_REGISTRY}",
        f"--resource-id={ECR_HOST}",
    )
    assert registered.returncode == 0, output_of(registered)


def test_ecr_login_through_the_aws_connector_lets_the_docker_cli_pull(
    ecr: EcrBed, no_podman: str, tmp_path: Path, unique_name: str
) -> None:
    env = ecr.env(tmp_path, no_podman)
    _register_aws(ecr, env, unique_name)
    mark = ecr.registry.mark()
    logged_in = ecr.zenml(
        env, "service-connector", "login", unique_name, f"--resource-type={DOCKER_REGISTRY}"
    )
    out = output_of(logged_in)
    assert logged_in.returncode == 0, out
    assert_no_secret([out], ECR_PASSWORD)
    # Our class checked the token against the registry before writing anything.
    assert ("GET", "/v2/", 200) in ecr.registry.requests_since(mark)
    config = json.loads((tmp_path / "docker-config" / "config.json").read_text())
    assert list(config["auths"]) == [ECR_HOST]

    pulled = docker_pull(ecr.dockerd, tmp_path / "docker-config", ecr.image)
    assert pulled.returncode == 0, pulled.stderr


CLIENT_SNIPPET = """
import json
from zenml.client import Client
client = Client().get_service_connector_client({name!r}, resource_type="docker-registry")
docker_client = client.connect()
print(json.dumps({{
    "class": type(client).__module__ + "." + type(client).__name__,
    "resource_id": client.resource_id,
    "username": client.credentials().username,
    "connect": type(docker_client).__module__ + "." + type(docker_client).__name__,
    "pulled": [t for i in [docker_client.images.pull({image!r})] for t in i.tags],
}}))
docker_client.images.remove({image!r})
"""


def test_ecr_client_connector_is_ours_connects_and_refuses_a_rejected_token(
    ecr: EcrBed, no_podman: str, tmp_path: Path, unique_name: str
) -> None:
    env = ecr.env(tmp_path, no_podman)
    _register_aws(ecr, env, unique_name)
    with_daemon = {**env, "DOCKER_HOST": ecr.dockerd.host}
    shown = ecr.python(with_daemon, CLIENT_SNIPPET.format(name=unique_name, image=ecr.image))
    assert shown.returncode == 0, output_of(shown)
    assert json.loads(shown.stdout.strip().splitlines()[-1]) == {
        "class": "zenml_docker_connector.glue.connector.DockerServiceConnector",
        "resource_id": ECR_HOST,
        "username": ECR_USERNAME,
        "connect": "docker.client.DockerClient",
        "pulled": [ecr.image],
    }

    ecr.registry.set_password(ECR_USERNAME, "not-what-moto-hands-out")
    try:
        refused = ecr.zenml(
            env, "service-connector", "login", unique_name, f"--resource-type={DOCKER_REGISTRY}"
        )
    finally:
        ecr.registry.set_password(ECR_USERNAME, ECR_PASSWORD)
    out = " ".join(output_of(refused).split())
    assert refused.returncode != 0, out
    assert ECR_HOST in out and "rejected" in out, out
    assert_no_secret([out], ECR_PASSWORD)
    assert not (tmp_path / "docker-config" / "config.json").exists()


def test_pull_secret_from_the_aws_connector_carries_the_ecr_token_and_its_expiry(
    ecr: EcrBed, no_podman: str, tmp_path: Path, unique_name: str
) -> None:
    """`zenml-docker pull-secret` on an AWS connector: the short-lived ECR token, verified
    against the registry, its expiry annotated and announced; the Secret's config pulls."""
    env = ecr.env(tmp_path, no_podman)
    # session-token: ZenML hands out STS session credentials (1 h by default), so the ECR
    # client connector carries their expiry.
    _register_aws(ecr, env, unique_name, auth_method="session-token")
    executable = str(Path(sys.executable).parent / "zenml-docker")
    mark = ecr.registry.mark()
    made = ecr.run(
        [executable, "pull-secret", unique_name, "--resource-id", ECR_HOST, "--output", "json"],
        env,
    )
    assert made.returncode == 0, output_of(made)
    assert ("GET", "/v2/", 200) in ecr.registry.requests_since(mark)  # verified first
    assert_no_secret([made.stderr], ECR_PASSWORD)
    assert "expire at" in made.stderr and "Refresh" in made.stderr, made.stderr
    manifest = json.loads(made.stdout)
    expires = manifest["metadata"]["annotations"]["zenml.io/credentials-expire-at"]
    left = datetime.datetime.fromisoformat(expires.replace("Z", "+00:00")) - datetime.datetime.now(
        datetime.timezone.utc
    )
    assert datetime.timedelta(0) < left <= datetime.timedelta(hours=12)
    config = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    entry = config["auths"][ECR_HOST]
    assert (entry["username"], entry["password"]) == (ECR_USERNAME, ECR_PASSWORD)

    config_dir = tmp_path / "from-the-secret"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps(config))
    pulled = docker_pull(ecr.dockerd, config_dir, ecr.image)
    assert pulled.returncode == 0, pulled.stderr
