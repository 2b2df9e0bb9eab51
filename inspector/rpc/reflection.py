"""Schemas from gRPC server reflection: ask a server for its services and their files.

`grpc.reflection.v1` is asked first and `grpc.reflection.v1alpha` when the server does not
implement it, on one ServerReflectionInfo stream, as grpcurl does: list the services, the
file of each, then every import still missing. The messages are `reflection_protocol`'s;
only grpcio is needed. This blocks for up to `timeout` seconds: the proxy runs it on its
loop's executor, never on the relay's path; the capture commands run it before they read.
"""

from __future__ import annotations

import os
import queue
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from inspector.errors import InspectorError
from inspector.rpc.reflection_protocol import (
    REFLECTION_SERVICES,
    V1,
    V1ALPHA,
    ReflectionProtocolError,
    ReflectionResponse,
    file_by_filename_request,
    file_containing_symbol_request,
    list_services_request,
    parse_response,
)
from inspector.rpc.schema import Schema

REFLECTION_TIMEOUT = 5.0  # seconds for the whole exchange with one server
MAX_REQUESTS = 1000  # a server that keeps naming imports it never sends is not followed for ever
UNAVAILABLE_RULE = "grpc.reflection-unavailable"
UNREADABLE_RULE = "grpc.reflection-unreadable"


class ReflectionError(InspectorError):
    """The host has no reflection service (rule `grpc.reflection-unavailable`), or it answered
    what cannot be used (`grpc.reflection-unreadable`)."""

    def __init__(self, message: str, rule: str = UNAVAILABLE_RULE) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(slots=True, frozen=True)
class Reflected:
    """What a server described: its schema, the services it listed, the protocol version used."""

    schema: Schema
    services: list[str]
    version: str  # "v1" or "v1alpha"
    problems: list[str]  # services or files it could not describe, one sentence each

    def summary(self) -> str:
        """One line: how many services, which, and over which version."""
        n = len(self.services)
        return (f"{n} service{'s' if n != 1 else ''} ({', '.join(self.services) or 'none'}) by "
                f"grpc.reflection.{self.version}")


class _Stream:
    """One ServerReflectionInfo stream: a request in, its response out, in turn."""

    def __init__(self, channel: Any, service: str, timeout: float) -> None:
        self._requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        method = channel.stream_stream(f"/{service}/ServerReflectionInfo")  # bytes in, bytes out
        self._call = method(self._outgoing(), timeout=timeout)

    def _outgoing(self) -> Iterator[bytes]:
        while (request := self._requests.get()) is not None:
            yield request

    def ask(self, request: bytes) -> ReflectionResponse:
        self._requests.put(request)
        try:
            data = next(self._call)
        except StopIteration:
            raise ReflectionError("the reflection stream ended without an answer", UNREADABLE_RULE) from None
        try:
            return parse_response(data)
        except ReflectionProtocolError as exc:
            raise ReflectionError(f"reflection answered what cannot be read: {exc}", UNREADABLE_RULE) from None

    def close(self, politely: bool) -> None:
        """End the stream: politely, the client's side closed and the server's status read (so the
        server ends it as usual, with trailers); else cancelled (RST_STREAM)."""
        self._requests.put(None)
        if politely:
            try:
                for _ in self._call:
                    break  # an answer nobody asked for: not waited out
                else:
                    return
            except Exception:  # noqa: BLE001 (grpc.RpcError: the server ended it otherwise)
                return
        self._call.cancel()


def reflect(target: str, root_certificates: bytes | None = None, tls: bool = False,
            server_name: str | None = None, timeout: float = REFLECTION_TIMEOUT, verify: bool = True) -> Reflected:
    """The schema a server describes by reflection (v1, else v1alpha); raises ReflectionError,
    with the rule its finding gets. `root_certificates` None verifies TLS against the system's;
    `verify` False (the proxy's --insecure) trusts whatever certificate the server shows."""
    if "grpc" not in sys.modules:  # grpc core logs a failed handshake itself: the finding says it, once
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    import grpc

    if tls and not verify:
        root_certificates, server_name = unverified_identity(target, server_name, timeout)
    options: list[tuple[str, int | str]] = [("grpc.enable_http_proxy", 0)]  # straight to it, never via a proxy
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates), options) if tls \
        else grpc.insecure_channel(target, options)
    try:
        return reflect_channel(channel, timeout)
    except ReflectionError as exc:
        raise ReflectionError(f"{target}: {exc}", exc.rule) from None
    except grpc.RpcError as exc:
        raise _rpc_error(target, exc, timeout) from None
    finally:
        channel.close()


def unverified_identity(target: str, server_name: str | None, timeout: float) -> tuple[bytes, str]:
    """(the server's own certificate as PEM, a name it carries) for a server whose certificate is
    not to be verified: grpcio has no switch for that, so the certificate the server shows now
    becomes the one trust anchor (gRPC core accepts a leaf there: partial chains are allowed) and
    the name checked is one the certificate has (`server_name` itself when it is covered)."""
    import socket
    import ssl

    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sni = server_name if server_name and not _is_address(server_name) else None
    try:
        with socket.create_connection((host, int(port)), timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise ReflectionError(f"{target}: cannot be reached ({exc})") from None
    if not der:
        raise ReflectionError(f"{target}: showed no certificate", UNREADABLE_RULE)
    names = _certificate_names(der)
    if server_name and _covers(names, server_name):
        name = server_name
    elif names:
        name = names[0].replace("*", "reflection", 1)  # a wildcard's name: any label under it
    else:
        raise ReflectionError(f"{target}: its certificate names no host to check it against", UNREADABLE_RULE)
    return ssl.DER_cert_to_PEM_cert(der).encode("ascii"), name


def _is_address(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _certificate_names(der: bytes) -> list[str]:
    """The DNS names and IP addresses of a certificate's subjectAltName, then its common name."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return []
    names: list[str] = []
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    else:
        names += alt.get_values_for_type(x509.DNSName)
        names += [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
    names += [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return names


def _covers(names: list[str], name: str) -> bool:
    """True if one of a certificate's names matches `name` (a wildcard for one leftmost label)."""
    name = name.lower()
    for pattern in (n.lower() for n in names):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def _rpc_error(target: str, exc: Any, timeout: float) -> ReflectionError:
    import grpc

    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else None
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return ReflectionError(f"{target}: no reflection answer within {timeout:g} s")
    if code is grpc.StatusCode.UNAVAILABLE:
        return ReflectionError(f"{target}: cannot be reached ({details or 'UNAVAILABLE'})")
    name = code.name if code is not None else type(exc).__name__
    return ReflectionError(f"{target}: reflection failed with {name}" + (f" ({details})" if details else ""),
                           UNREADABLE_RULE)


def reflect_channel(channel: Any, timeout: float = REFLECTION_TIMEOUT) -> Reflected:
    """`reflect` over a grpcio channel already open (the calls that follow may share its connection);
    raises ReflectionError, or grpc.RpcError for a failure that is not the protocol's."""
    import grpc

    for version, service in (("v1", V1), ("v1alpha", V1ALPHA)):
        stream = _Stream(channel, service, timeout)
        done = False
        try:
            try:
                listed = stream.ask(list_services_request())
            except grpc.RpcError as exc:
                if hasattr(exc, "code") and exc.code() is grpc.StatusCode.UNIMPLEMENTED:
                    continue
                raise
            described = _describe(stream, listed, version)
            done = True
            return described
        finally:
            stream.close(politely=done)
    raise ReflectionError("no server reflection (UNIMPLEMENTED for grpc.reflection.v1 and v1alpha)")


def _describe(stream: _Stream, listed: ReflectionResponse, version: str) -> Reflected:
    """The file of every listed service, then every import still missing."""
    if listed.kind == "error" and listed.error is not None:
        raise ReflectionError(f"list_services answered error {listed.error[0]} ({listed.error[1]})",
                              UNREADABLE_RULE)
    if listed.kind != "services":
        raise ReflectionError(f"list_services answered {listed.kind}, not a service list", UNREADABLE_RULE)
    services = [s for s in listed.services if s not in REFLECTION_SERVICES]
    schema = Schema()
    problems: list[str] = []
    asked = 1
    for name in services:
        answer = stream.ask(file_containing_symbol_request(name))
        asked += 1
        problems += _take(schema, answer, f"the file of {name}")
    while schema.missing:
        if asked >= MAX_REQUESTS:
            raise ReflectionError(f"still naming imports it has not sent after {asked} requests", UNREADABLE_RULE)
        name = schema.missing[0]
        answer = stream.ask(file_by_filename_request(name))
        asked += 1
        problems += _take(schema, answer, name)
        if name in schema.missing:  # asked for, not given: the files that need it stay out
            problems.append(f"{name} was asked for and not sent")
            schema.give_up(name)
    if services and not schema.methods:
        raise ReflectionError(f"listed {', '.join(services)} but described none of them"
                              + (f": {problems[0]}" if problems else ""), UNREADABLE_RULE)
    return Reflected(schema, services, version, problems)


def _take(schema: Schema, answer: ReflectionResponse, what: str) -> list[str]:
    if answer.kind == "files":
        return schema.add_serialized(answer.files)
    if answer.kind == "error" and answer.error is not None:
        return [f"{what}: error {answer.error[0]} ({answer.error[1]})"]
    raise ReflectionError(f"asked for {what}, it answered {answer.kind}", UNREADABLE_RULE)
