"""The helper tests' fixtures (shared with tests/integration/helper)."""

from testbed.helper_env import CONNECTOR_ID, REGISTRY, mapping_file, runtime_dir

__all__ = ["CONNECTOR_ID", "REGISTRY", "mapping_file", "runtime_dir"]
