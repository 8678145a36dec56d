"""The backends, each an interface with an embedded and a server implementation: the store, the
event bus, the stream context and the policy state."""
