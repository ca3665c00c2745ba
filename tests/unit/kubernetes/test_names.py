"""Kubernetes' naming rules: checked for user input, made valid for derived names."""

from __future__ import annotations

import re
import uuid

import pytest

from zenml_docker_connector.kubernetes.names import (
    MAX_LABEL_LENGTH,
    check_namespace,
    check_secret_name,
    default_secret_name,
    is_dns_label,
    is_dns_subdomain,
    label_value,
)

CONNECTOR_ID = "0b6c2a52-1c1e-4a3f-9d0e-5f4c3b2a1908"
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
"""Kubernetes' rule for label values (what `label_value` must produce)."""


def test_default_name_is_stable_and_says_where_it_comes_from() -> None:
    first = default_secret_name("team-registry", CONNECTOR_ID)
    assert first == default_secret_name("team-registry", CONNECTOR_ID)
    assert first.startswith("zenml-docker-team-registry-")
    assert len(first.rsplit("-", 1)[1]) == 8
    assert is_dns_label(first)


def test_connectors_whose_names_reduce_alike_get_different_names() -> None:
    one = default_secret_name("My Registry", str(uuid.uuid4()))
    two = default_secret_name("my_registry", str(uuid.uuid4()))
    assert one.rsplit("-", 1)[0] == two.rsplit("-", 1)[0] == "zenml-docker-my-registry"
    assert one != two


@pytest.mark.parametrize(
    "connector_name",
    ["x" * 300, "ÄÖÜ", "---", "a..b", "UPPER.case_name", "ends-with-dash-" * 5, "日本", "a\nb"],
)
def test_default_name_is_always_a_dns_label(connector_name: str) -> None:
    name = default_secret_name(connector_name, CONNECTOR_ID)
    assert is_dns_label(name), name
    assert check_secret_name(name) == name


def test_a_name_of_no_usable_characters_still_gets_a_name() -> None:
    name = default_secret_name("ÄÖÜ", CONNECTOR_ID)
    assert name == default_secret_name("", CONNECTOR_ID)
    assert re.fullmatch(r"zenml-docker-[0-9a-f]{8}", name)


@pytest.mark.parametrize(
    "text",
    ["team registry", "-leading", "trailing.", "x" * 100, "ü-name", "a/b:c", "..", "", "A_b.C-1"],
)
def test_label_values_follow_the_label_rules(text: str) -> None:
    value = label_value(text)
    assert len(value) <= MAX_LABEL_LENGTH and _LABEL_VALUE.match(value), value
    assert len(value) <= MAX_LABEL_LENGTH


def test_a_valid_label_value_is_kept() -> None:
    assert label_value("A_b.C-1") == "A_b.C-1"
    assert label_value(CONNECTOR_ID) == CONNECTOR_ID


@pytest.mark.parametrize("name", ["regcred", "team.registry-1", "a", "a" * 253])
def test_valid_secret_names_pass(name: str) -> None:
    assert is_dns_subdomain(name) and check_secret_name(name) == name


@pytest.mark.parametrize("name", ["", "RegCred", "-x", "x-", "a..b", "a_b", "a" * 254, "é"])
def test_invalid_secret_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(ValueError, match="is not a valid Kubernetes Secret name: use at most 253"):
        check_secret_name(name)


@pytest.mark.parametrize("namespace", ["default", "team-a", "a" * 63])
def test_valid_namespaces_pass(namespace: str) -> None:
    assert check_namespace(namespace) == namespace


@pytest.mark.parametrize("namespace", ["Team", "a.b", "a" * 64, "-a", ""])
def test_invalid_namespaces_are_refused(namespace: str) -> None:
    with pytest.raises(ValueError, match="is not a valid Kubernetes namespace"):
        check_namespace(namespace)


def test_refused_input_is_printable_and_bounded_in_the_message() -> None:
    with pytest.raises(ValueError) as caught:
        check_secret_name("bad\x1b[31mname" + "x" * 500)
    message = str(caught.value)
    assert "\x1b" not in message and "\\x1b" in message
    assert len(message) < 400
