"""Corpus runner: registry references (references.yaml), parsed and through `zenml register`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testbed import corpus
from testbed.corpus import Case, CorpusRun
from zenml_docker_connector.references import parse_registry_reference

CASES = corpus.load("references", default_paths=("parse", "register"))


@pytest.mark.parametrize(("case", "path"), corpus.params(CASES))
def test_reference(case: Case, path: str, run: CorpusRun, new_secret: Callable[..., str]) -> None:
    password = new_secret("corpus connector password")
    value = corpus.with_secret(case.fields["input"], run.secret)
    with run.attempt():
        with pytest.raises(case.error_type) as caught:
            parse_registry_reference(value)  # type: ignore[arg-type]
        if path == "parse":
            corpus.check_message(str(caught.value), case, (run.secret,))
        else:  # only inputs the parser refuses reach the CLI: none may reach a registry
            options = ("--username=alice", f"--password={password}", f"--registry={value}")
            result = run.zen.register_docker(run.name, *options)
            corpus.check_cli(result, case, (run.secret, password))
