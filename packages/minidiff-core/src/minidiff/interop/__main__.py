"""`python -m minidiff.interop`: the NumPy functions minidiff differentiates (see `main`)."""

from minidiff.interop import main

if __name__ == "__main__":
    raise SystemExit(main())
