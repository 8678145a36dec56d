"""Luthien: an AI-control proxy that polices every LLM request and response."""

__version__ = "0.1.0"
