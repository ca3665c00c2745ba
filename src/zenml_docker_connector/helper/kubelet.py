"""`zenml-kubelet-credential-provider`: the kubelet's image credential provider protocol.

The kubelet (1.26+, `credentialprovider.kubelet.k8s.io/v1`) runs the plugin named in its
`CredentialProviderConfig` for images matching `matchImages`, with a
`CredentialProviderRequest` (`{"apiVersion", "kind", "image"}`) on stdin, and reads a
`CredentialProviderResponse` with `auth` for the image's registry, `cacheKeyType: Registry`
and `cacheDuration`: the credentials' expiry less the helper's margin, and for a static
password the helper's recheck bound (`cache.RECHECK_AFTER`), so the kubelet asks again when
the connector may have changed. The connector (name or id) comes from the `--connector`
argument (the config's `args`); ZenML's server and a service account's API key from the
environment (`env`: `ZENML_STORE_URL`, `ZENML_STORE_API_KEY`). The credentials are fetched
like `docker-credential-zenml` does on a cold `get` (in a child process; nothing is cached
here: the kubelet caches). Failures: one line on stderr (the kubelet logs it), exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from zenml_docker_connector.helper.cache import RECHECK_AFTER, serve_until
from zenml_docker_connector.helper.fetch import fetch
from zenml_docker_connector.helper.files import HelperError
from zenml_docker_connector.helper.keys import DOCKER_HUB_KEY, registry_key
from zenml_docker_connector.helper.mapping import Route

API_VERSION = "credentialprovider.kubelet.k8s.io/v1"
NAME = "zenml-kubelet-credential-provider"
MAX_REQUEST_BYTES = 64 * 1024


def image_registry(image: str) -> str:
    """The registry of an image reference, as docker names it (no registry: Docker Hub)."""
    first, slash, _ = image.strip().partition("/")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB_KEY
    return registry_key(first)


def parse_request(raw: bytes) -> str:
    """The image of a CredentialProviderRequest; anything else is refused."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise HelperError(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HelperError("the request is not JSON") from None
    if not isinstance(data, dict) or data.get("kind") != "CredentialProviderRequest":
        raise HelperError("the request is not a CredentialProviderRequest")
    if data.get("apiVersion") != API_VERSION:
        raise HelperError(f"the request's apiVersion is not {API_VERSION}")
    image = data.get("image")
    if not isinstance(image, str) or not image.strip():
        raise HelperError("the request names no image")
    return image


def respond(image: str, connector: str, resource_id: str | None, now: float) -> dict[str, object]:
    """The CredentialProviderResponse for `image`, from the connector's current credentials."""
    wanted = image_registry(image)
    route = Route(wanted, connector, connector, resource_id, "")
    answer = fetch(route, None)
    if answer.registry is not None and answer.registry != wanted:
        raise HelperError(
            f"connector '{connector}' serves {answer.registry}, not {wanted} (the registry of "
            "the image); narrow matchImages in the CredentialProviderConfig"
        )
    until = serve_until(answer.expires_at, now)
    seconds = int(min(until - now, RECHECK_AFTER) if answer.expires_at is None else until - now)
    return {
        "apiVersion": API_VERSION,
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "cacheDuration": f"{max(seconds, 0)}s",
        "auth": {wanted: {"username": answer.username, "password": answer.secret}},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=NAME, description="kubelet image credential provider")
    parser.add_argument("--connector", required=True, help="ZenML connector name or id")
    parser.add_argument("--resource-id", help="the registry, for connectors serving several")
    options = parser.parse_args(argv)
    try:
        image = parse_request(sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1))
        response = respond(image, options.connector, options.resource_id, time.time())
    except HelperError as error:
        sys.stderr.write(f"{NAME}: {' '.join(str(error).split())}\n")
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - the kubelet logs one line, never a traceback
        sys.stderr.write(f"{NAME}: internal error ({type(error).__name__})\n")
        sys.exit(1)
    sys.stdout.write(json.dumps(response) + "\n")
