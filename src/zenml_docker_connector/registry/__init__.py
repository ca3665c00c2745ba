"""The OCI distribution protocol: how a registry is asked whether credentials work.

Nothing here imports ZenML or touches the user's client files. The path of one check:
`verification` (the per-process verdict and the flow) → `challenge` (`GET /v2/` and its
`WWW-Authenticate` challenges) → `auth` (Basic, or Bearer with a token from the token service;
the scopes); every request goes through `transport`, which asks `policy` where credentials may
travel and `tls` whom to trust, and reads every answer with `reader`. `cache` remembers
verdicts and challenges; `diagnosis` is the step-by-step view for `zenml-docker doctor`.
"""
