"""`luthien bench`: latency, throughput and CPU of the direct upstream, LiteLLM and Luthien, side by side."""
