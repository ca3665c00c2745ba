"""Real services for tests: registries, a token server, dockerd and a credential helper.

`testbed.fixtures` is the pytest plugin; the other modules hold the services so that they can
also be started by hand (for example from a REPL while debugging a failing test).
"""
