"""Sustained load on a real ZenML server with the plugin (issue 19, item 4)."""
