"""The gRPC layer: calls, messages, statuses and the four call styles, read from the HTTP/2 model."""
