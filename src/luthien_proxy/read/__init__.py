"""The read side: debug records, conversations, live SSE and the UI, over the store and the bus."""
