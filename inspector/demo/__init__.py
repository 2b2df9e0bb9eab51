"""A small gRPC service with one method of each call style, for tutorials and sample captures."""
