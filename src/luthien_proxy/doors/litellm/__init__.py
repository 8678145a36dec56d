"""The LiteLLM door: the callback inside LiteLLM (`callback/`) and the control-plane routes it talks to."""
