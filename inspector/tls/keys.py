"""Record protection keys from logged secrets (RFC 8446 §7, RFC 5246 §6.3),
and the AEAD that opens one record. Pure functions over bytes.

Only AEAD cipher suites are supported (AES-GCM and ChaCha20-Poly1305): all
of TLS 1.3, and what every current TLS 1.2 client offers first for HTTP/2
(RFC 9113 §9.2.2 forbids the rest for HTTP/2 anyway).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand


@dataclass(slots=True, frozen=True)
class Suite:
    """What a cipher suite needs for record protection."""

    name: str
    aead: str  # "aes-gcm" or "chacha20"
    key_length: int
    hash: str  # "sha256" or "sha384"


SUITES: dict[int, Suite] = {
    # TLS 1.3 (RFC 8446 §B.4)
    0x1301: Suite("TLS_AES_128_GCM_SHA256", "aes-gcm", 16, "sha256"),
    0x1302: Suite("TLS_AES_256_GCM_SHA384", "aes-gcm", 32, "sha384"),
    0x1303: Suite("TLS_CHACHA20_POLY1305_SHA256", "chacha20", 32, "sha256"),
    # TLS 1.2 AEAD suites (RFC 5288, 5289, 7905)
    0x009C: Suite("TLS_RSA_WITH_AES_128_GCM_SHA256", "aes-gcm", 16, "sha256"),
    0x009D: Suite("TLS_RSA_WITH_AES_256_GCM_SHA384", "aes-gcm", 32, "sha384"),
    0x009E: Suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "aes-gcm", 16, "sha256"),
    0x009F: Suite("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "aes-gcm", 32, "sha384"),
    0xC02B: Suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "aes-gcm", 16, "sha256"),
    0xC02C: Suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "aes-gcm", 32, "sha384"),
    0xC02F: Suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "aes-gcm", 16, "sha256"),
    0xC030: Suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "aes-gcm", 32, "sha384"),
    0xCCA8: Suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "chacha20", 32, "sha256"),
    0xCCA9: Suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "chacha20", 32, "sha256"),
    0xCCAA: Suite("TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "chacha20", 32, "sha256"),
}

_HASHES = {"sha256": (hashes.SHA256, hashlib.sha256), "sha384": (hashes.SHA384, hashlib.sha384)}


def hkdf_expand_label(suite: Suite, secret: bytes, label: str, length: int) -> bytes:
    """HKDF-Expand-Label with an empty context (RFC 8446 §7.1)."""
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(_HASHES[suite.hash][0](), length, info).derive(secret)


def tls12_prf(suite: Suite, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """P_hash of RFC 5246 §5 with the suite's hash."""
    digest = _HASHES[suite.hash][1]
    seed = label + seed
    out, a = b"", seed
    while len(out) < length:
        a = hmac.new(secret, a, digest).digest()
        out += hmac.new(secret, a + seed, digest).digest()
    return out[:length]


class RecordKey:
    """Opens the records of one direction under one key, counting their sequence numbers."""

    __slots__ = ("suite", "aead", "iv", "seq", "tls13")

    def __init__(self, suite: Suite, key: bytes, iv: bytes, tls13: bool) -> None:
        self.suite = suite
        self.aead = AESGCM(key) if suite.aead == "aes-gcm" else ChaCha20Poly1305(key)
        self.iv = iv
        self.seq = 0
        self.tls13 = tls13

    @classmethod
    def tls13_from_secret(cls, suite: Suite, secret: bytes) -> RecordKey:
        return cls(suite, hkdf_expand_label(suite, secret, "key", suite.key_length),
                   hkdf_expand_label(suite, secret, "iv", 12), True)

    def _nonce(self) -> bytes:
        padded = self.seq.to_bytes(12, "big")
        return bytes(a ^ b for a, b in zip(self.iv, padded, strict=True))

    def open(self, header: bytes, fragment: bytes) -> bytes:
        """The plaintext of one record (raises cryptography's InvalidTag if it is not ours)."""
        if self.tls13:
            plain = self.aead.decrypt(self._nonce(), fragment, header)
        elif self.suite.aead == "aes-gcm":
            # TLS 1.2 GCM: 4-byte salt from the key block + 8-byte explicit nonce in the record.
            aad = self.seq.to_bytes(8, "big") + header[:3] + (len(fragment) - 24).to_bytes(2, "big")
            plain = self.aead.decrypt(self.iv + fragment[:8], fragment[8:], aad)
        else:
            aad = self.seq.to_bytes(8, "big") + header[:3] + (len(fragment) - 16).to_bytes(2, "big")
            plain = self.aead.decrypt(self._nonce(), fragment, aad)
        self.seq += 1
        return plain

    def next_generation(self, secret: bytes) -> tuple[RecordKey, bytes]:
        """After a KeyUpdate (TLS 1.3): the next traffic secret's key."""
        size = hashlib.new(self.suite.hash).digest_size
        new_secret = hkdf_expand_label(self.suite, secret, "traffic upd", size)
        return RecordKey.tls13_from_secret(self.suite, new_secret), new_secret


def tls12_keys(suite: Suite, master: bytes, client_random: bytes, server_random: bytes) -> tuple[RecordKey, RecordKey]:
    """(client's key, server's key) from a TLS 1.2 master secret."""
    iv_length = 4 if suite.aead == "aes-gcm" else 12
    block = tls12_prf(suite, master, b"key expansion", server_random + client_random,
                      2 * suite.key_length + 2 * iv_length)
    k = suite.key_length
    client_key, server_key = block[:k], block[k:2 * k]
    client_iv, server_iv = block[2 * k:2 * k + iv_length], block[2 * k + iv_length:]
    return RecordKey(suite, client_key, client_iv, False), RecordKey(suite, server_key, server_iv, False)
