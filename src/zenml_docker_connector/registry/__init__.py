"""The OCI distribution protocol: how a registry is asked whether credentials work.

Nothing here imports ZenML or touches the user's client files. The path of one check:
`verification` (the per-process verdict) → `client` (the flow) → `ping` (challenge
discovery) → `basic` or `bearer` (+ `token_service`, `tokens`) → `scopes`; every request goes
through `transport`, which asks `policy` where credentials may travel and `tls` whom to trust.
`cache` remembers challenges, tokens and verdicts; `probe` is the step-by-step view for
`zenml-docker doctor`.
"""
