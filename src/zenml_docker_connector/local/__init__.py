"""The user's own machine: docker and podman client files, credential helpers, the daemon.

Nothing here imports ZenML or speaks the registry protocol. `client_files` is the one model
of every client file (where it is, how docker and podman differ, what it holds, which helper
serves a registry), `json_files` reads and safely rewrites them (`atomic` replaces them),
`helpers` speaks the credential-helper protocol, `discovery` finds credentials for
`--auto-configure`, `login` writes and removes them, and `daemon` hands out logged-in clients.
"""
