"""Scripted control-protocol episodes driven through the real stack (`luthien scenarios`)."""
