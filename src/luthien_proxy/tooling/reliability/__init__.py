"""Reliability tooling: the soak run behind `make soak`."""
