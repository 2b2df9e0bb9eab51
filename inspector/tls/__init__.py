"""TLS in captures: key logs, record keys, and a sans-I/O decryptor per connection."""
