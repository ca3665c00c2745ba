"""`docker-credential-zenml`: the docker credential-helper protocol, its mapping and its cache.

Layer 1, standard library only: docker calls the helper on every pull, push and build, so a
warm `get` (a cached credential still valid) must not pay for importing ZenML, pydantic or
requests. `keys` normalises what clients send, `files` checks and reads private files,
`mapping` says which connector serves which registry, `cache` keeps credentials in the
user's runtime directory (tmpfs) for a bounded time, `fetch` asks ZenML in a child process
(`glue.credential_source`) when the cache cannot answer, and `command` speaks the protocol.
"""
