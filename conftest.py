"""Settings of a test session over every distribution's tests (pytest loads this first)."""

import os

# SciPy reads SCIPY_ARRAY_API once, when first imported, and `distributed` (the Dask tests)
# imports it early: set here, tests/test_array_api_libraries.py runs SciPy's Array API code
# on Tensors in this process instead of a second one.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
