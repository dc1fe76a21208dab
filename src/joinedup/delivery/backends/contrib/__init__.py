"""The built-in agency back-ends (each imports only `backends.base` and `backends.registry`)."""
