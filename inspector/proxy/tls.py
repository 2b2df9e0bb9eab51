"""TLS for the proxy: a local certificate authority, leaf certificates, SSL contexts.

`--tls` terminates TLS from the client with a leaf certificate issued by a CA
that h2inspect makes on first use and keeps in its own folder, key readable
by the user only. The client is told to trust that CA (README). Upstream
TLS verifies the server by default, with ALPN following what the client
negotiated. `--keylog` writes the secrets of both legs in the SSLKEYLOGFILE
format, so Wireshark can decrypt a capture of either.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inspector.errors import InspectorError
from inspector.proxy.server_names import BadServerName, checked_server_name, common_name

if TYPE_CHECKING:  # cryptography is imported where it is used: the proxy without --tls never loads it
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

ALPN_OFFERED_TO_CLIENTS = ["h2", "http/1.1"]
CA_NAME = "h2inspect local CA"
CA_YEARS = 10
LEAF_DAYS = 397  # the longest validity browsers still accept
# Certificates made for clients' SNI names, kept for reuse: a client sending a new name per
# connection costs a key pair each time, but never more than these in memory or on disk.
CONTEXTS_IN_MEMORY = 128
LEAVES_ON_DISK = 256


HANDSHAKE_TIMEOUT = 10.0  # seconds a client gets to finish its TLS handshake with the proxy
# What a client's alert says when it does not trust the certificate it was shown (curl exit 60).
_REJECTED_CERTIFICATE = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN")
# The server name callback refused the name (and said so, as proxy.bad-sni): not a second finding.
SNI_REFUSED = "CALLBACK_FAILED"


class TlsSetupError(InspectorError):
    """The CA, a certificate or a TLS option could not be used."""


def client_handshake_failure(exc: BaseException) -> tuple[str, str]:
    """(proxy.* rule, reason) of a client's TLS handshake with the proxy that failed: the client
    rejected the proxy's certificate (trust ca.pem), or the handshake failed otherwise."""
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    if any(word in reason for word in _REJECTED_CERTIFICATE):
        return "proxy.client-rejected-ca", reason
    return "proxy.client-tls-failed", reason


def config_home() -> Path:
    """Where h2inspect keeps its files: $H2INSPECT_HOME, else $XDG_CONFIG_HOME/h2inspect, else ~/.config/h2inspect."""
    explicit = os.environ.get("H2INSPECT_HOME")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "h2inspect"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def prepare_keylog(path: str) -> None:
    """Create the key log file readable by its owner only, before ssl appends to it (ssl would
    create it with the umask: 0644, or 0666 under umask 000); one already there is narrowed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        raise TlsSetupError(f"--keylog {path}: {exc.strerror or exc}") from None


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, without a moment where others could."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


@dataclass(slots=True, frozen=True)
class LeafFiles:
    """A leaf certificate and its key, as files ssl can load."""

    cert: Path
    key: Path


class LocalCA:
    """The local certificate authority: made on first use, then reused."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_home() / "ca"
        self.cert_path = self.folder / "ca.pem"
        self.key_path = self.folder / "ca-key.pem"
        self._cert: x509.Certificate | None = None
        self._key: ec.EllipticCurvePrivateKey | None = None

    def ensure(self) -> LocalCA:
        """Load the CA, creating it (and its folder) if it does not exist yet."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        try:
            _private_dir(self.folder)
            if not (self.cert_path.exists() and self.key_path.exists()):
                self._create()
            self._cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
        except (OSError, ValueError) as exc:
            raise TlsSetupError(f"local CA in {self.folder}: {exc}") from None
        from cryptography.hazmat.primitives.asymmetric import ec

        if not isinstance(key, ec.EllipticCurvePrivateKey):  # the key this CA makes; another one was put there
            raise TlsSetupError(f"local CA in {self.folder}: {self.key_path.name} is not an EC private key")
        self._key = key
        return self

    def _create(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "h2inspect")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        _write_private(self.key_path, key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.chmod(self.cert_path, 0o644)

    def leaf(self, names: list[str]) -> LeafFiles:
        """A certificate for these host names and IP addresses, signed by the CA (cached on disk)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        if self._key is None or self._cert is None:
            self.ensure()
        ca_cert, ca_key = self._cert, self._key
        assert ca_cert is not None and ca_key is not None, "ensure() loaded both"
        names = list(dict.fromkeys(n for n in names if n))  # in order: the first that fits is the CN
        digest = hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:16]
        leaves = self.folder / "leaves"
        files = LeafFiles(leaves / f"{digest}.pem", leaves / f"{digest}-key.pem")
        if files.cert.exists() and files.key.exists():
            cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
            if cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + \
                    datetime.timedelta(days=1):
                os.utime(files.cert)  # used now: the last to go when the folder is trimmed
                return files
        _private_dir(leaves)
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name(names))]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_private(files.key, key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        _write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM))
        self._trim(leaves, keep=files.cert)
        return files

    @staticmethod
    def _trim(leaves: Path, keep: Path) -> None:
        """Leave at most LEAVES_ON_DISK certificates in `leaves`: the least recently used go."""
        certs = [p for p in leaves.glob("*.pem") if not p.name.endswith("-key.pem")]
        if len(certs) <= LEAVES_ON_DISK:
            return
        def last_used(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0
        certs.sort(key=last_used)
        for cert in certs[:len(certs) - LEAVES_ON_DISK]:
            if cert == keep:
                continue
            for path in (cert, cert.with_name(cert.stem + "-key.pem")):
                try:
                    path.unlink()
                except OSError:
                    pass


class ClientFacingTls:
    """Server-side contexts for `--tls`: one per certificate, picked by the client's SNI.

    A name the default certificate does not cover gets a certificate of its own, made on
    the spot, as a client that checks host names expects; the newest CONTEXTS_IN_MEMORY are
    kept. A name that is not a host name fails the handshake, said in one line (`report`).
    """

    def __init__(self, ca: LocalCA, default_names: list[str], keylog: str | None) -> None:
        self.ca = ca
        self.keylog = keylog
        self.default_names = default_names
        self.report: Callable[[str], None] = lambda message: None
        self._by_name: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self.context = self._context(default_names)
        self.context.sni_callback = self._sni

    def _context(self, names: list[str]) -> ssl.SSLContext:
        files = self.ca.leaf(names)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(files.cert), str(files.key))
        ctx.set_alpn_protocols(ALPN_OFFERED_TO_CLIENTS)
        if self.keylog:
            ctx.keylog_filename = self.keylog
        return ctx

    def context_for(self, server_name: str) -> ssl.SSLContext | None:
        """The context for a client's SNI name (None: the default one); raises BadServerName."""
        if server_name in self.default_names:
            return None
        name = checked_server_name(server_name)
        if name in self.default_names:
            return None
        ctx = self._by_name.get(name)
        if ctx is None:
            ctx = self._by_name[name] = self._context([name] + self.default_names)
            if len(self._by_name) > CONTEXTS_IN_MEMORY:
                self._by_name.popitem(last=False)
        else:
            self._by_name.move_to_end(name)
        return ctx

    def _sni(self, ssl_object: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> int | None:
        # Called inside the handshake: whatever goes wrong must end it with an alert and
        # one line, not an exception (ssl would print it as a traceback).
        if not server_name:
            return None
        try:
            ctx = self.context_for(server_name)
        except BadServerName as exc:
            self.report(f"{exc}: TLS handshake refused")
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        except (OSError, ValueError, TlsSetupError, ssl.SSLError) as exc:
            self.report(f"no certificate could be made for TLS server name {server_name!r} ({exc}): "
                        "TLS handshake refused")
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        if ctx is not None:
            ssl_object.context = ctx
        return None


class UpstreamTls:
    """Client-side contexts for `--upstream-tls`, one per ALPN offer."""

    def __init__(self, ca_file: str | None, insecure: bool, keylog: str | None) -> None:
        self.ca_file = ca_file
        self.insecure = insecure
        self.keylog = keylog
        self._by_alpn: dict[tuple[str, ...], ssl.SSLContext] = {}
        self.context_for(("h2", "http/1.1"))  # fail early on a bad --upstream-ca

    def context_for(self, alpn: tuple[str, ...]) -> ssl.SSLContext:
        """A context offering exactly these ALPN protocols (none: no ALPN extension)."""
        ctx = self._by_alpn.get(alpn)
        if ctx is not None:
            return ctx
        ctx = ssl.create_default_context()
        if self.ca_file:
            try:
                ctx.load_verify_locations(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise TlsSetupError(f"{self.ca_file}: cannot load CA certificates ({exc})") from None
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        if self.keylog:
            ctx.keylog_filename = self.keylog
        self._by_alpn[alpn] = ctx
        return ctx
