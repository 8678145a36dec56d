"""The doors: one adapter per transport, each speaking its clients' wire dialects to the one pipeline."""
