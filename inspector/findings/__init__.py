"""Findings: what went wrong, where, and which rule says so.

A rule is data (`rules.RULES`: id, severity, title, reference, one sentence in
English and Japanese, the limits it reads) plus a small checker. The decoder
feeds the checkers frame by frame as it decodes (`engine.ConnectionChecks`),
the gRPC call log feeds the call checker (`grpc.check_call`), and the engine
groups what they report, so a flood of a million frames is one finding with
a count, its first and its last frame. See docs/ARCHITECTURE.md, "How to add
a finding rule".
"""
