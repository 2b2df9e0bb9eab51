"""Schemas from gRPC server reflection (grpc.reflection.v1alpha, through grpcio-reflection).

Asked once per host, on a thread of its own: nothing here runs on the relay's path.
"""

from __future__ import annotations

from typing import Any

from inspector.errors import InspectorError

REFLECTION_TIMEOUT = 5.0
REFLECTION_SERVICES = ("grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection")


class ReflectionError(InspectorError):
    """The host has no reflection service, or it answered what cannot be used."""


def reflect(target: str, root_certificates: bytes | None = None, tls: bool = False,
            server_name: str | None = None) -> tuple[Any, list[str]]:
    """The FileDescriptorSet a server describes by reflection, and its service names; raises
    ReflectionError. `Schema.add_files` takes the set."""
    try:
        import grpc
        from google.protobuf import descriptor_pb2
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    except ImportError as exc:
        raise ReflectionError(f"reflection needs grpcio-reflection ({exc})") from None
    options: list[tuple[str, int | str]] = [("grpc.enable_http_proxy", 0)]
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates), options) if tls \
        else grpc.insecure_channel(target, options)
    try:
        grpc.channel_ready_future(channel).result(timeout=REFLECTION_TIMEOUT)
        database = ProtoReflectionDescriptorDatabase(channel)
        services = [s for s in database.get_services() if s not in REFLECTION_SERVICES]
        from google.protobuf import descriptor_pool

        pool = descriptor_pool.DescriptorPool(database)
        files: dict[str, descriptor_pb2.FileDescriptorProto] = {}

        def add(file) -> None:
            if file.name in files:
                return
            for dependency in file.dependencies:
                add(dependency)
            proto = descriptor_pb2.FileDescriptorProto()
            file.CopyToProto(proto)
            files[file.name] = proto

        for name in services:
            add(pool.FindServiceByName(name).file)
    except grpc.FutureTimeoutError:
        raise ReflectionError(f"{target}: no answer within {REFLECTION_TIMEOUT:g} s") from None
    except grpc.RpcError as exc:
        code = exc.code().name if hasattr(exc, "code") else "error"
        raise ReflectionError(f"{target}: no server reflection ({code})") from None
    except Exception as exc:  # a reflection service that answers nonsense
        raise ReflectionError(f"{target}: reflection answered what cannot be read ({type(exc).__name__}: "
                              f"{exc})") from None
    finally:
        channel.close()
    return descriptor_pb2.FileDescriptorSet(file=list(files.values())), services
