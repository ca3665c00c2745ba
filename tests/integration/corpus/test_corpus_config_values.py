"""Corpus runner: connector configuration values (config_values.yaml)."""

from __future__ import annotations

import pytest

from testbed import corpus
from testbed.corpus import Case, CorpusRun
from zenml_docker_connector.glue.spec import DockerConnectorConfiguration

CASES = corpus.load("config_values", default_paths=("model", "register"))
DEFAULTS = {"username": "alice", "password": "{secret}", "registry": "127.0.0.1:9"}


@pytest.mark.parametrize(("case", "path"), corpus.params(CASES))
def test_config_value(case: Case, path: str, run: CorpusRun) -> None:
    merged = {**DEFAULTS, **case.fields}
    values = {name: corpus.with_secret(value, run.secret) for name, value in merged.items()}
    with run.attempt():
        with pytest.raises(case.error_type) as caught:
            DockerConnectorConfiguration(**values)
        if path == "model":
            corpus.check_message(str(caught.value), case, (run.secret,))
            assert "input_value" not in str(caught.value)
        else:  # only values the model refuses reach the CLI
            arguments = [f"--{name}={value}" for name, value in values.items()]
            corpus.check_cli(run.zen.register_docker(run.name, *arguments), case, (run.secret,))
