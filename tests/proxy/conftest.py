"""Fixtures for the LiteLLM callback tests (offline switches are applied by the root conftest)."""
