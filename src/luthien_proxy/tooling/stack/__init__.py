"""Running the whole stack: child processes, health waits, and the `luthien up` supervisor."""
