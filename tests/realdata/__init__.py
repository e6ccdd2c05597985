"""Tests against the shared real public data (see ``conftest.py``)."""
