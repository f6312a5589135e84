"""The refusal the service's decisions share, so the pages and the CLI catch one type."""

from __future__ import annotations


class DecisionError(ValueError):
    """The decision cannot be made; the message says why (Chinese)."""
