"""The tracking API: the fluent functions and the client."""
