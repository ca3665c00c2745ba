"""The user's own machine: docker and podman client files, credential helpers, the daemon.

Nothing here imports ZenML or speaks the registry protocol. `locations` knows every file,
`json_files` reads and safely rewrites them, `auth_entries` parses their credentials,
`formats` says how docker's `config.json` and podman's `auth.json` differ, `helpers` speaks
the credential-helper protocol, `discovery` finds credentials for `--auto-configure`,
`login` writes and removes them, and `daemon` hands out logged-in Docker clients.
"""
