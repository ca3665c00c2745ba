"""ECR end to end: ZenML's AWS connector as the helper's source, expiry included.

On the moto-based ECR stand-in (`testbed.ecr`): a `session-token` AWS connector hands out
the ECR token with the STS session's expiry (900 s, the shortest AWS allows). The helper
serves it from the cache while it is valid, and fetches a new one once its time is up (the
cache entry's deadline is moved into the past: the expiry under the test's control); each
fetch is seen by the registry, because ZenML's client checks the token there first. The
kubelet provider's `cacheDuration` is shorter than the token's life.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from testbed.ecr import EcrBed
from testbed.leaks import assert_no_secret
from testbed.moto_server import (
    ACCESS_KEY_ID,
    ECR_HOST,
    ECR_PASSWORD,
    ECR_USERNAME,
    SECRET_ACCESS_KEY,
)
from testbed.secret_scan import observe
from testbed.zenml_fixtures import output_of
from zenml_docker_connector.helper import cache, mapping

BIN = Path(sys.executable).parent
SESSION_SECONDS = 900


def _in_namespace(
    ecr: EcrBed, argv: list[str], env: dict[str, str], stdin: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ecr.namespace.command(argv),
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    observe(done.stderr, f"stderr of {Path(argv[0]).name} (ECR namespace)")
    return done


def _verifications(ecr: EcrBed, mark: int) -> int:
    return sum(1 for r in ecr.registry.requests_since(mark) if (r.path, r.status) == ("/v2/", 200))


def test_the_ecr_token_is_cached_while_valid_and_renewed_after_expiry(
    ecr: EcrBed, no_podman: str, tmp_path: Path, runtime_dir: Path, unique_name: str
) -> None:
    env = ecr.env(tmp_path, no_podman)
    env.update(XDG_RUNTIME_DIR=str(runtime_dir))
    env[mapping.MAPPING_ENV] = str(tmp_path / "mapping.json")
    registered = ecr.zenml(
        env,
        "service-connector",
        "register",
        unique_name,
        "--type=aws",
        "--auth-method=session-token",
        f"--aws_access_key_id={ACCESS_KEY_ID}",
        f"--aws_secret_access_key={SECRET_ACCESS_KEY}",
        "--region=us-east-1",
        "--resource-type=docker-registry",
        f"--resource-id={ECR_HOST}",
        f"--expiration-seconds={SESSION_SECONDS}",
    )
    assert registered.returncode == 0, output_of(registered)
    configured = ecr.run(
        [str(BIN / "zenml-docker"), "configure-docker", unique_name, "--resource-id", ECR_HOST],
        env,
    )
    assert configured.returncode == 0, output_of(configured)
    (entry_path,) = (runtime_dir / cache.CACHE_DIR_NAME).glob("*.json")
    entry = json.loads(entry_path.read_text())
    # Served no longer than the token's life less the margin (a quarter of it, at most 5 min).
    # The session (and token) started during configure, after `started`: its margin is 225 s.
    assert time.time() + 60 < entry["expires"] <= time.time() + SESSION_SECONDS - 225

    mark = ecr.registry.mark()
    got = _in_namespace(ecr, [str(BIN / "docker-credential-zenml"), "get"], env, ECR_HOST)
    assert got.returncode == 0, got.stdout
    answer = json.loads(got.stdout)
    assert (answer["Username"], answer["Secret"]) == (ECR_USERNAME, ECR_PASSWORD)
    assert _verifications(ecr, mark) == 0, "served from the cache: ZenML was not asked"

    entry["expires"] = time.time() - 1  # the token's time is up
    entry_path.write_text(json.dumps(entry))
    mark = ecr.registry.mark()
    renewed = _in_namespace(ecr, [str(BIN / "docker-credential-zenml"), "get"], env, ECR_HOST)
    assert renewed.returncode == 0, renewed.stdout
    assert json.loads(renewed.stdout)["Secret"] == ECR_PASSWORD
    assert _verifications(ecr, mark) == 1, "one new token, checked against the registry"
    assert json.loads(entry_path.read_text())["expires"] > time.time()

    request = {
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderRequest",
        "image": ecr.image,
    }
    provided = _in_namespace(
        ecr,
        [
            str(BIN / "zenml-kubelet-credential-provider"),
            "--connector",
            unique_name,
            "--resource-id",
            ECR_HOST,
        ],
        env,
        json.dumps(request),
    )
    assert provided.returncode == 0, provided.stderr
    response = json.loads(provided.stdout)
    duration = int(response["cacheDuration"].removesuffix("s"))
    assert 0 < duration < SESSION_SECONDS
    assert response["auth"][ECR_HOST] == {"username": ECR_USERNAME, "password": ECR_PASSWORD}
    assert_no_secret([configured.stdout, configured.stderr], ECR_PASSWORD)
