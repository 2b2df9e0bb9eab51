"""What counts as English prose in Japanese output: words left after taking away what is not
prose (protocol names as the RFCs spell them, header names and values, methods, numbers, hex,
commands and options the learner types)."""

from __future__ import annotations

import re

# Protocol and specification names, as RFC 9113, RFC 7541 and the gRPC documents spell them.
PROTOCOL_WORDS = {
    "HTTP", "HPACK", "RFC", "gRPC", "TCP", "PRI", "SM", "ACK", "Huffman", "Never", "Indexed", "Trailers-Only",
    "Requests", "Responses", "Trailers", "Errors", "Length-Prefixed-Message", "over", "protobuf", "grpcio",
    "OK", "CANCEL", "CANCELLED", "NOT_FOUND", "DEADLINE_EXCEEDED", "NO_ERROR", "R", "BDP", "POST", "http",
    "identity", "deflate", "gzip", "trailers", "application", "grpc", "linux", "chttp2", "half-closed", "te",
    "pcap", "pcapng",
}
NOT_PROSE = [
    r"\bgrpc-timeout \d+[HMSmun]\b",  # a grpc-timeout value as sent
    r"(?m)^\s+:?[a-z][a-z0-9-]*: .*$",  # a header field as it was sent (HPACK listings): data, not prose
    r"「[^」]*」|'[^']*'",  # a value quoted from the wire (grpc-message)
    r"バイト: [0-9a-f …]+$",  # bytes in hex after their count
    r"`[^`]*`",  # a command to type
    r"h2inspect tutorial(?: [a-z-]+)?(?: --[a-z-]+(?: \S+)?)*",  # a lesson's command
    r"--[a-z-]+",  # an option
    r"/h2inspect\.demo\.Demo/\w+",  # a gRPC method
    r"\b(?:Unary|ServerStream|ClientStream|Bidi)\b",  # the demo service's methods, short
    r"\(linux; chttp2\)",  # the rest of grpcio's user-agent
    r"\b[A-Z][A-Z0-9_]+\b",  # frame types, flags, settings, error and status codes
    r"(?<![\w-]):?[a-z0-9]+(?:-[a-z0-9]+)+:?",  # header names (grpc-status, content-type) and other-hyphenated ids
    r":[a-z]+",  # pseudo-headers
    r"\b(?:grpc-python|grpc-c)/[\d.]+",  # the user-agent
    r"\b[0-9a-f]{2}(?: [0-9a-f]{2})+\b",  # bytes in hex
    r"0x[0-9a-f]+",
    r"\d+(?:\.\d+)*",
    r"\b(?:ms|B|KiB|kB|MiB)\b",  # units
    r"(?<![A-Za-z])(?:unary|[a-z]+-streaming)(?=（|\s|$)",  # a style name before its Japanese gloss
]


def english_words(text: str) -> list[str]:
    """The Latin-script words left in `text` once everything that is not prose is taken away."""
    for pattern in NOT_PROSE:
        text = re.sub(pattern, " ", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text) if w not in PROTOCOL_WORDS]
