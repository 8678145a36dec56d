"""Wire dialects: each decodes its requests, responses and streams into the neutral model and
encodes a policy's output back, so policies never read a provider's JSON."""
