"""Service faults: each ends in one clear message, and a later try succeeds (issue 19, item 3)."""
