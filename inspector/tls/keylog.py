"""SSLKEYLOGFILE: the secrets a TLS client (curl, browsers, grpcio with
GRPC_SSL_KEYLOG, h2inspect's own proxy) writes so a capture can be decrypted.

Each line is `LABEL <client random, hex> <secret, hex>`. TLS 1.2 logs the
master secret (CLIENT_RANDOM); TLS 1.3 logs the traffic secrets of each phase.
"""

from __future__ import annotations

import time

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

    def settled(self, client_random: bytes) -> bool:
        """Whatever `get` gives now is all there will be (a finished file: always)."""
        return True


TLS13_SECRETS = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                 "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")


def _complete(entry: dict[str, bytes]) -> bool:
    """A connection's secrets are all there: TLS 1.2's master secret, or TLS 1.3's four."""
    return TLS12_MASTER in entry or all(name in entry for name in TLS13_SECRETS)


class FollowedKeyLog(KeyLog):
    """A key log the client is still writing (a live capture's `--keylog`): re-read as it grows.

    A client writes a connection's secrets while its handshake runs, so the packets that
    need them can be read a moment before they are in the file. Nothing here waits: `get`
    reads the new lines, and `settled` says whether to look again later, for `patience`
    seconds from the first time a connection's secrets were asked for and missing (so a
    connection never logged costs that wait once). The TLS layer holds the connection's
    records meanwhile and the loader polls (`SessionBuilder.retry_secrets`), at the pace of
    whoever drives it: a headless command sleeps, the TUI's event loop keeps drawing.
    """

    def __init__(self, path: str, patience: float = 1.0) -> None:
        super().__init__()
        self.path = path
        self.patience = patience
        self._read = 0  # bytes of the file read so far (whole lines only)
        self._first_asked: dict[bytes, float] = {}  # client random -> when its secrets were first missing
        self.refresh()

    def refresh(self) -> None:
        """Read the lines written since the last look (a missing file is a client not started yet)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._read)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        if end:
            for random, labels in KeyLog.parse(data[:end].decode("ascii", "replace")).secrets.items():
                self.secrets.setdefault(random, {}).update(labels)
            self._read += end

    def get(self, client_random: bytes) -> dict[str, bytes]:
        """The secrets of one connection, the file read again if they are not all there yet."""
        entry = self.secrets.get(client_random, {})
        if _complete(entry):
            return entry
        self.refresh()
        return self.secrets.get(client_random, {})

    def settled(self, client_random: bytes) -> bool:
        """The connection's secrets are all there, or were waited for long enough."""
        if _complete(self.secrets.get(client_random, {})):
            return True
        first = self._first_asked.setdefault(client_random, time.monotonic())
        return time.monotonic() - first >= self.patience
