"""The native front door: OpenAI-compatible upstreams served by the control plane, policed in-process."""
