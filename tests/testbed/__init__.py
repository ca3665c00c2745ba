"""All test support code: real services for tests, and the helpers the tests share.

`testbed.fixtures` is the pytest plugin for the real services (registries, a token server,
dockerd, a credential helper); their modules can also be started by hand (for example from a
REPL while debugging a failing test). `zenml_fixtures` and `zenml_server_fixture` are the
plugins for ZenML's CLI and servers; `secret_scan` (test secrets in any captured output fail
the session) and `corpus` (the bad-input corpus's checks and summary line) are session-wide
plugins too, and `cloud_fixtures` starts moto's AWS API server (`moto_server`) and the ECR
stand-in built on it (`ecr`, with `hosts_namespace`). The rest: `leaks` (the one secret-leak
assertion), `local_http` (a scriptable HTTP server), `loopback` (the unit tests' fixtures over
one such server on 127.0.0.1), `hostile` (what a hostile registry sends, for `local_http`),
`bounded_child` (a verification in a child process with an address-space limit),
`local_stores` (sandboxed docker/podman files), `docker_cli` (images and the real docker CLI),
`podman_cli` (podman pulling with a given auth file), `purity` (the unit tests' guard:
loopback sockets only, no processes).
"""
