"""One TLS connection seen from outside (sans-I/O): follow the handshake, open
the records with the secrets from a key log, hand out the application data.

Feed each direction's TCP bytes in order with `receive`; it returns the
plaintext application data those bytes completed. TLS 1.3 (RFC 8446) and
TLS 1.2 (RFC 5246) with AEAD suites; the handshake is read in the clear up
to the ServerHello, then followed through the encrypted records (Finished
switches a direction to its application keys, KeyUpdate to the next ones).

A key log still being written (`FollowedKeyLog`) may not hold a connection's
secrets yet when its first protected record arrives: the connection then
`waiting`, its records held as they came, until `resume` finds the secrets
(or the key log says there is no point in waiting longer). Nothing here
sleeps: whoever feeds the bytes decides when to look again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from inspector.tls.keylog import TLS12_MASTER, TLS13_SECRETS, KeyLog
from inspector.tls.keys import SUITES, RecordKey, Suite, tls12_keys

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
CLIENT_HELLO, SERVER_HELLO, ENCRYPTED_EXTENSIONS, FINISHED, KEY_UPDATE = 1, 2, 8, 20, 24
EXT_ALPN, EXT_SUPPORTED_VERSIONS = 16, 43
TLS13 = 0x0304
# ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3)
HELLO_RETRY = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def looks_like_client_hello(first: bytes) -> bool:
    """A TLS handshake record whose first message is a ClientHello."""
    return len(first) >= 6 and first[0] == HANDSHAKE and first[1] == 3 and first[2] <= 4 and \
        first[5] == CLIENT_HELLO


def _vector(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    n = int.from_bytes(data[pos:pos + size], "big")
    return data[pos + size:pos + size + n], pos + size + n


def _extensions(data: bytes, pos: int) -> dict[int, bytes]:
    block, _ = _vector(data, pos, 2)
    out, i = {}, 0
    while i + 4 <= len(block):
        kind = int.from_bytes(block[i:i + 2], "big")
        body, i = _vector(block, i + 2, 2)
        out[kind] = body
    return out


def _alpn(body: bytes) -> list[str]:
    names, _ = _vector(body, 0, 2)
    out, i = [], 0
    while i < len(names):
        name, i = _vector(names, i, 1)
        out.append(name.decode("ascii", "replace"))
    return out


@dataclass(slots=True)
class _Side:
    """One direction: bytes waiting to make a record, handshake bytes waiting to make a message, keys."""

    buf: bytearray = field(default_factory=bytearray)
    handshake: bytearray = field(default_factory=bytearray)
    key: RecordKey | None = None  # the key records are opened with now
    encrypted: bool = False  # records are protected from here on
    app_secret: bytes = b""  # TLS 1.3: the application traffic secret, used after Finished
    in_application: bool = False  # TLS 1.3: this direction's Finished has passed
    broken: bool = False  # a record would not open: stop trying on this direction


class TlsConnection:
    """The TLS layer of one TCP connection."""

    def __init__(self, keylog: KeyLog | None) -> None:
        self.keylog = keylog
        self.sides = (_Side(), _Side())  # [0] client, [1] server
        self.client_random = b""
        self.server_random = b""
        self.version = 0
        self.suite: Suite | None = None
        self.alpn_offered: list[str] = []
        self.alpn: str | None = None
        self.problems: list[str] = []  # what stopped decryption, each said once
        self.waiting = False  # a protected record waits for secrets the key log may still get
        self._patient = True  # False once the source has ended: secrets are not waited for any more

    def describe(self) -> str:
        """TLS 1.3, its suite and ALPN, in a few words."""
        version = {0x0304: "TLS 1.3", 0x0303: "TLS 1.2"}.get(self.version, "TLS")
        suite = f" {self.suite.name}" if self.suite else ""
        alpn = self.alpn or (f"offered {', '.join(self.alpn_offered)}" if self.alpn_offered else "none")
        return f"{version}{suite}, ALPN {alpn}"

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def lose(self, from_client: bool) -> None:
        """Bytes of one direction were lost: nothing after them can be opened."""
        side = self.sides[0 if from_client else 1]
        side.broken = True
        side.buf.clear()

    def receive(self, from_client: bool, data: bytes) -> list[bytes]:
        """The application data completed by these bytes of one direction, in order (none while
        `waiting`: the bytes are held)."""
        side = self.sides[0 if from_client else 1]
        if side.broken:
            return []
        side.buf += data
        if self.waiting:
            return []
        return self._open(from_client, side)

    def resume(self, from_client: bool, patient: bool = True) -> list[bytes]:
        """Look for the secrets again and go on with the held records of the direction that
        waited; `patient` False (the source has ended): go on without them if they are not there."""
        self._patient = self._patient and patient
        self.waiting = False
        side = self.sides[0 if from_client else 1]
        if side.broken:
            return []
        return self._open(from_client, side)

    def _open(self, from_client: bool, side: _Side) -> list[bytes]:
        """The whole records in a direction's buffer, opened in order, until one must wait."""
        out: list[bytes] = []
        buf = side.buf
        pos = 0
        while len(buf) - pos >= 5:
            length = int.from_bytes(buf[pos + 3:pos + 5], "big")
            if len(buf) - pos < 5 + length:
                break
            if side.key is None and self._must_wait(side, buf[pos]):
                self.waiting = True
                break
            header, fragment = bytes(buf[pos:pos + 5]), bytes(buf[pos + 5:pos + 5 + length])
            pos += 5 + length
            self._record(from_client, side, header, fragment, out)
        del buf[:pos]
        return out

    def _must_wait(self, side: _Side, kind: int) -> bool:
        """A protected record with no key to open it: the key log has the secrets now (keys made,
        go on), may still get them (wait), or will not (go on, and fail as without a key log)."""
        protected = side.encrypted or (self.version == TLS13 and kind == APPLICATION_DATA)
        if not protected or side.broken or self.keylog is None or self.suite is None or not self.client_random:
            return False
        if self._derive_keys():
            return False
        return self._patient and not self.keylog.settled(self.client_random)

    def _record(self, from_client: bool, side: _Side, header: bytes, fragment: bytes, out: list[bytes]) -> None:
        kind = header[0]
        if kind == CHANGE_CIPHER_SPEC:
            # TLS 1.2: what follows is protected. TLS 1.3 sends it only for middleboxes,
            # also after a HelloRetryRequest, before the version is known.
            if self.version and self.version != TLS13:
                side.encrypted = True
                if side.key is not None:
                    side.key.seq = 0
            return
        protected = side.encrypted or (self.version == TLS13 and kind == APPLICATION_DATA)
        if not protected:
            if kind == HANDSHAKE:
                self._handshake(from_client, side, fragment)
            return
        if side.broken:
            return
        if side.key is None:
            self._problem("the traffic is encrypted and no key log was given" if self.keylog is None
                          else "no secrets for this connection in the key log" if self.client_random
                          else "the capture starts after the TLS handshake")
            side.broken = True
            return
        try:
            plain = side.key.open(header, fragment)
        except InvalidTag:
            self._problem("a record would not decrypt with the logged secrets (wrong key log?)")
            side.broken = True
            return
        if self.version == TLS13:
            plain = plain.rstrip(b"\x00")  # zero padding, then the real content type
            kind, plain = (plain[-1], plain[:-1]) if plain else (0, b"")
        if kind == APPLICATION_DATA:
            out.append(plain)
        elif kind == HANDSHAKE and self.version == TLS13:
            self._protected_handshake(side, plain)

    def _messages(self, side: _Side, data: bytes) -> list[tuple[int, bytes]]:
        side.handshake += data
        hs, out, pos = side.handshake, [], 0
        while len(hs) - pos >= 4:
            length = int.from_bytes(hs[pos + 1:pos + 4], "big")
            if len(hs) - pos < 4 + length:
                break
            out.append((hs[pos], bytes(hs[pos + 4:pos + 4 + length])))
            pos += 4 + length
        del hs[:pos]
        return out

    def _handshake(self, from_client: bool, side: _Side, data: bytes) -> None:
        for kind, body in self._messages(side, data):
            if kind == CLIENT_HELLO and from_client:
                self.client_random = body[2:34]
                _, pos = _vector(body, 34, 1)  # session id
                _, pos = _vector(body, pos, 2)  # cipher suites
                _, pos = _vector(body, pos, 1)  # compression methods
                alpn = _extensions(body, pos).get(EXT_ALPN)
                self.alpn_offered = _alpn(alpn) if alpn else []
            elif kind == SERVER_HELLO and not from_client:
                self._server_hello(body)

    def _server_hello(self, body: bytes) -> None:
        random = body[2:34]
        if random == HELLO_RETRY:
            return  # a second ClientHello and ServerHello follow
        self.server_random = random
        _, pos = _vector(body, 34, 1)
        code = int.from_bytes(body[pos:pos + 2], "big")
        extensions = _extensions(body, pos + 3)
        versions = extensions.get(EXT_SUPPORTED_VERSIONS)
        self.version = int.from_bytes(versions[:2], "big") if versions else int.from_bytes(body[:2], "big")
        if EXT_ALPN in extensions:
            chosen = _alpn(extensions[EXT_ALPN])
            self.alpn = chosen[0] if chosen else None
        self.suite = SUITES.get(code)
        if self.suite is None:
            self._problem(f"cipher suite 0x{code:04x} is not one h2inspect decrypts (AES-GCM and "
                          "ChaCha20-Poly1305 only)")
            return
        self._derive_keys()

    def _derive_keys(self) -> bool:
        """Both directions' keys from the key log's secrets for this connection, if it has them."""
        if self.keylog is None or self.suite is None:
            return False
        secrets = self.keylog.get(self.client_random)
        client, server = self.sides
        if self.version == TLS13:
            if not all(n in secrets for n in TLS13_SECRETS):
                return False
            names = TLS13_SECRETS
            client.key = RecordKey.tls13_from_secret(self.suite, secrets[names[0]])
            server.key = RecordKey.tls13_from_secret(self.suite, secrets[names[1]])
            client.app_secret, server.app_secret = secrets[names[2]], secrets[names[3]]
            return True
        if TLS12_MASTER not in secrets:
            return False
        client.key, server.key = tls12_keys(self.suite, secrets[TLS12_MASTER], self.client_random,
                                            self.server_random)
        return True

    def _protected_handshake(self, side: _Side, data: bytes) -> None:
        for kind, body in self._messages(side, data):
            if kind == ENCRYPTED_EXTENSIONS and EXT_ALPN in (extensions := _extensions(body, 0)):
                chosen = _alpn(extensions[EXT_ALPN])  # TLS 1.3 says the ALPN choice here
                self.alpn = chosen[0] if chosen else None
            elif kind == FINISHED and not side.in_application and side.key is not None:
                side.key = RecordKey.tls13_from_secret(side.key.suite, side.app_secret)
                side.in_application = True
            elif kind == KEY_UPDATE and side.key is not None:
                side.key, side.app_secret = side.key.next_generation(side.app_secret)
