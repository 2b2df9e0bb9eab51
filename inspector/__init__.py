"""h2inspect: see what really travels on an HTTP/2 connection, and what gRPC makes of it."""

__version__ = "0.1.0"
