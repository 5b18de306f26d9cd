"""The core tests' own model: a linear classifier of 2-D points (which side of a line they are on).

It lives in tests/ and is added to the package's models path by tests/conftest.py, so the core
tests never depend on the project's own models.
"""
