"""The cross-package tests import their shared helpers (`fresh_env`) from this folder."""

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib, which does not put test folders on sys.path
sys.path.insert(0, str(Path(__file__).parent))
