"""ZenML glue: the only package that imports ZenML (layer 3)."""
