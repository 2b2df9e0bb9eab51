"""Regenerate demo_pb2.py and demo_pb2_grpc.py from demo.proto (grpcio-tools):
`python -m inspector.demo.regenerate`. The generated code is committed."""

from __future__ import annotations

from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = protoc.main(["protoc", f"-I{HERE}", f"--python_out={HERE}", f"--grpc_python_out={HERE}",
                          str(HERE / "demo.proto")])
    if status:
        return status
    grpc_file = HERE / "demo_pb2_grpc.py"
    # protoc writes a top-level import; inside the package it must be relative
    grpc_file.write_text(grpc_file.read_text().replace("import demo_pb2 as demo__pb2",
                                                       "from . import demo_pb2 as demo__pb2"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
