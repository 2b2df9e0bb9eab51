"""The live proxy: relays bytes verbatim, records them, and decodes behind the relay."""
