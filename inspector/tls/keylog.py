"""SSLKEYLOGFILE: the secrets a TLS client (curl, browsers, grpcio with
GRPC_SSL_KEYLOG, h2inspect's own proxy) writes so a capture can be decrypted.

Each line is `LABEL <client random, hex> <secret, hex>`. TLS 1.2 logs the
master secret (CLIENT_RANDOM); TLS 1.3 logs the traffic secrets of each phase.
"""

from __future__ import annotations

from inspector.errors import UsageError

#: the TLS 1.2 label; TLS 1.3's are read by name where they are used, others are kept and ignored
TLS12_MASTER = "CLIENT_RANDOM"


class KeyLog:
    """Secrets by client random: {client_random: {label: secret}}."""

    def __init__(self, secrets: dict[bytes, dict[str, bytes]] | None = None) -> None:
        self.secrets = secrets or {}

    @classmethod
    def parse(cls, text: str) -> KeyLog:
        """Read key log text; comment and malformed lines are skipped, as Wireshark does."""
        secrets: dict[bytes, dict[str, bytes]] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 3 or line.startswith("#"):
                continue
            label, random_hex, secret_hex = parts
            try:
                secrets.setdefault(bytes.fromhex(random_hex), {})[label] = bytes.fromhex(secret_hex)
            except ValueError:
                continue
        return cls(secrets)

    @classmethod
    def load(cls, path: str) -> KeyLog:
        """Read a key log file; one clear error if it cannot be read or holds no secrets."""
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                keylog = cls.parse(f.read())
        except OSError as exc:
            raise UsageError(f"--keylog {path}: {exc.strerror or exc}") from None
        if not keylog.secrets:
            raise UsageError(f"--keylog {path}: no TLS secrets in it (expected SSLKEYLOGFILE lines such as "
                             "'CLIENT_RANDOM <hex> <hex>')")
        return keylog

    def get(self, client_random: bytes) -> dict[str, bytes]:
        """The secrets logged for one connection (empty if none)."""
        return self.secrets.get(client_random, {})
