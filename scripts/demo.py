"""Demo: a throwaway local registry, and the `docker` connector doing its job against it.

Run through `bash scripts/demo.sh` (it makes the venv). Everything happens in a temporary
ZenML home and docker config, on 127.0.0.1, and is removed at the end.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER, PASSWORD = "demo", "demo-Pa55word"
BIN = Path(sys.executable).parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="zdc-demo-") as tmp:
        work = Path(tmp)
        env = dict(
            os.environ,
            ZENML_CONFIG_PATH=str(work / "zenml"),
            DOCKER_CONFIG=str(work / "docker"),
            ZENML_ANALYTICS_OPT_IN="false",
            ZENML_ENABLE_RICH_TRACEBACK="false",
            ZENML_LOGGING_COLORS_DISABLED="true",
            COLUMNS="120",
        )
        try:
            registry_cm = throwaway_registry(work)
            url = registry_cm.__enter__()
        except RuntimeError as error:
            print(f"Cannot start a local registry: {error}", file=sys.stderr)
            return 1
        try:
            return run_demo(url, env, work)
        finally:
            registry_cm.__exit__(None, None, None)


def run_demo(url: str, env: dict[str, str], work: Path) -> int:
    host = url.split("://", 1)[1]
    step("Which class serves the `docker` connector type?")
    show(
        [
            str(BIN / "python"),
            "-c",
            "from zenml.client import Client; "
            "print(Client().get_service_connector_type('docker').connector_class)",
        ],
        env,
    )
    step("A wrong password is refused and nothing is registered")
    show(
        zenml(
            "service-connector",
            "register",
            "demo-bad",
            "--type",
            "docker",
            f"--username={USER}",
            "--password=wrong-password",
            f"--registry={url}",
        ),
        env,
    )
    step("The right password registers, verified against the registry (no Docker daemon used)")
    no_daemon = dict(env, DOCKER_HOST="unix:///nonexistent/docker.sock")
    show(
        zenml(
            "service-connector",
            "register",
            "demo",
            "--type",
            "docker",
            f"--username={USER}",
            f"--password={PASSWORD}",
            f"--registry={url}",
        ),
        no_daemon,
    )
    show(zenml("service-connector", "verify", "demo"), no_daemon)
    step("What happens on the wire")
    show([str(BIN / "zenml-docker"), "doctor", "demo", "--repository", "demo/app"], no_daemon)
    push_through_a_container_registry(url, env, work)
    step("`login` writes credentials where the docker CLI looks")
    show(zenml("service-connector", "login", "demo"), no_daemon)
    config = Path(env["DOCKER_CONFIG"]) / "config.json"
    if config.exists():
        print(f"{config} (mode {oct(config.stat().st_mode & 0o777)}):")
        print(masked_config(config))
    step("Auto-configuration from what `login` just stored (as `docker login` would have)")
    show(
        zenml(
            "service-connector",
            "register",
            "demo-auto",
            "--type",
            "docker",
            "--auto-configure",
            f"--resource-id={host}",
        ),
        no_daemon,
    )
    step("`zenml-docker logout` removes exactly what `login` wrote")
    show([str(BIN / "zenml-docker"), "logout", "demo"], no_daemon)
    if config.exists():
        print(masked_config(config))
    print("\nDemo finished; the registry and all files are being removed.")
    return 0


PUSH = """
from zenml.client import Client
from zenml.enums import StackComponentType
from zenml.stack import StackComponent

model = Client().get_stack_component(StackComponentType.CONTAINER_REGISTRY, "demo-registry")
registry = StackComponent.from_model(model)
try:
    from zenml.container_engines import get_container_engine
except ModuleNotFoundError:  # ZenML < 0.94.3: the component pushes with connect()'s client
    registry.push_image({image!r})
    how = "BaseContainerRegistry.push_image"
else:
    get_container_engine().push_image({image!r}, container_registry=registry)
    how = "ZenML's container engine"
connector = registry.get_connector()
print(f"pushed {image} with {{how}}; credentials from {{type(connector).__module__}}."
      f"{{type(connector).__name__}} (connector {{registry.connector}})")
"""


def push_through_a_container_registry(url: str, env: dict[str, str], work: Path) -> None:
    """The main job: a container registry stack component, linked to the connector, pushes."""
    from demo_daemon import catalog, docker_daemon, import_image, remove_image

    title = "A container registry linked to the connector pushes an image (ZenML's own code)"
    host = url.split("://", 1)[1]
    with docker_daemon() as (docker_host, which):
        if docker_host is None:
            step(f"{title}: SKIPPED, {which}")
            return
        step(f"{title}; daemon: {which}")
        with_daemon = dict(env, DOCKER_HOST=docker_host)
        uri = f"{host}/demo"
        show(
            zenml(
                "container-registry",
                "register",
                "demo-registry",
                "--flavor=default",
                f"--uri={uri}",
            ),
            env,
        )
        show(zenml("container-registry", "connect", "demo-registry", "--connector", "demo"), env)
        image = f"{uri}/hello:1"
        import_image(docker_host, image)
        script = work / "push.py"  # a file: ZenML wants a source root, `python -c` has none
        script.write_text(PUSH.format(image=image))
        print(f"{script.name}:{PUSH.format(image=image)}")
        try:
            show([str(BIN / "python"), str(script)], with_daemon)
        finally:
            remove_image(docker_host, image)
        print(catalog(url, USER, PASSWORD))


def zenml(*args: str) -> list[str]:
    return [str(BIN / "zenml"), *args]


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def show(command: list[str], env: dict[str, str]) -> None:
    shown = [
        part if "password=" not in part else part.split("=")[0] + "=********" for part in command
    ]
    print(
        "$ " + " ".join(Path(shown[0]).name if i == 0 else p for i, p in enumerate(shown)),
        flush=True,
    )
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    text = (result.stdout + result.stderr).replace(PASSWORD, "********")
    print(text.rstrip() or "(no output)")
    print(f"[exit code {result.returncode}]", flush=True)


def masked_config(path: Path) -> str:
    data = json.loads(path.read_text())
    for entry in data.get("auths", {}).values():
        if "auth" in entry:
            user = base64.b64decode(entry["auth"]).decode().split(":", 1)[0]
            entry["auth"] = f"<base64 of {user}:********>"
    return json.dumps(data, indent=2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_registry(work: Path) -> Iterator[str]:
    """Debian's docker-registry when available (as root, installed on demand), else registry:2."""
    port = free_port()
    htpasswd = work / "htpasswd"
    registry_bin = shutil.which("docker-registry")
    if registry_bin is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's docker-registry and apache2-utils ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "docker-registry", "apache2-utils"],
            check=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
            stdout=subprocess.DEVNULL,
        )
        registry_bin = shutil.which("docker-registry")
    if registry_bin and shutil.which("htpasswd"):
        line = subprocess.run(
            ["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True
        ).stdout.strip()
        htpasswd.write_text(line + "\n")
        config = work / "registry.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {work / 'storage'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
            f"auth:\n  htpasswd:\n    realm: demo\n    path: {htpasswd}\n"
        )
        process = subprocess.Popen(
            [registry_bin, "serve", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(url)
            print(f"Started Debian's docker-registry at {url} (user {USER})")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
        return
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    ):
        line = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "htpasswd",
                "httpd:2",
                "-Bbn",
                USER,
                PASSWORD,
            ],
            capture_output=True,
            text=True,
        )
        if line.returncode != 0:
            raise RuntimeError("could not create an htpasswd file (no htpasswd, no httpd:2 image)")
        htpasswd.write_text(line.stdout.strip() + "\n")
        name = f"zdc-demo-{port}"
        subprocess.run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                name,
                "-p",
                f"127.0.0.1:{port}:5000",
                "-v",
                f"{work}:/auth",
                "-e",
                "REGISTRY_AUTH=htpasswd",
                "-e",
                "REGISTRY_AUTH_HTPASSWD_REALM=demo",
                "-e",
                "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
                "registry:2",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(url)
            print(f"Started registry:2 in Docker at {url} (user {USER})")
            yield url
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        return
    raise RuntimeError(
        "neither Debian's docker-registry (install it: apt-get install docker-registry "
        "apache2-utils, as root) nor a running Docker daemon (for `docker run registry:2`) "
        "is available"
    )


def wait_for(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/v2/", timeout=1)  # noqa: S310 - loopback only
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the registry at {url} did not answer within {seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
