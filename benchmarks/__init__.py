"""The performance benchmark: `nox -s bench` (see run.py)."""
