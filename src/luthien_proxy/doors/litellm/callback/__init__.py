"""Luthien's side of the LiteLLM proxy: the callback, its control-plane clients, and the launcher.

Kept import-light: `litellm` is only imported by `litellm_callback` and `launcher.run`.
"""
