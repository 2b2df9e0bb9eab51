"""TLS server names (SNI) checked before a certificate is made for them.

A client's SNI is input like any other: it becomes a certificate's subject
alternative name, a file name's digest and a cache key. RFC 6066 §3 says it
is an ASCII host name (internationalised names as IDNA A-labels, `xn--`),
without a trailing dot; DNS allows 253 characters, 63 per label. X.509 caps
a common name at 64 characters (RFC 5280, ub-common-name), so a longer name
goes in the subject alternative name only, which is what clients check.
"""

from __future__ import annotations

import re

from inspector.errors import InspectorError

MAX_NAME = 253
MAX_COMMON_NAME = 64
FALLBACK_COMMON_NAME = "h2inspect"
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")  # underscores: seen in the wild


class BadServerName(InspectorError):
    """A TLS server name no certificate should be made for."""


def shown(name: str | bytes, limit: int = 60) -> str:
    """A name as it may be shown on one line: repr'd (no control characters), shortened."""
    text = repr(name)
    return text if len(text) <= limit else f"{text[:limit - 5]}...{text[-4:]} ({len(name)} characters)"


def checked_server_name(name: str) -> str:
    """The SNI `name` as a certificate's DNS name (lowercase); raises BadServerName."""
    if not name.isascii():
        raise BadServerName(f"TLS server name {shown(name)} is not ASCII (international names are "
                            "sent as IDNA A-labels, xn--...)")
    if len(name) > MAX_NAME:
        raise BadServerName(f"TLS server name {shown(name)} is longer than a host name can be "
                            f"({len(name)} characters; at most {MAX_NAME})")
    lowered = name.lower()
    for label in lowered.split("."):
        if not _LABEL.match(label):
            raise BadServerName(f"TLS server name {shown(name)} is not a host name (label "
                                f"{shown(label, 30)}: 1 to 63 letters, digits and inner hyphens)")
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                raise BadServerName(f"TLS server name {shown(name)} has a label that is not valid "
                                    f"IDNA ({shown(label, 30)})") from None
    return lowered


def common_name(names: list[str]) -> str:
    """The subject's common name for a certificate covering `names`: the first that fits."""
    return next((n for n in names if 0 < len(n) <= MAX_COMMON_NAME), FALLBACK_COMMON_NAME)
