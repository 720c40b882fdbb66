"""Fixtures shared by the core tests."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture
def no_gc():
    """Reference counting alone must free the graph: no cycles left for the collector."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
