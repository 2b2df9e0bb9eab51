"""The Textual TUI: streams, per-stream timeline, connection view, frame detail."""
