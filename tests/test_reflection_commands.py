"""`rpcs`, `check` and `open` with `--reflect HOST:PORT`: a capture's messages decoded by name from
a real grpcio server's reflection (v1, else v1alpha), plaintext or TLS; a server without
reflection or with a nonsense one is a finding and raw decoding; a bad option is one line, exit 2."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CAPTURES, ROOT
from reflectionkit import grpc_server, nonsense
from tmuxkit import exit_status, keys, terminal, wait_for

from inspector.proxy.tls import LocalCA

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]
UNARY = CAPTURES / "grpc-unary.pcap"
STREAMING = CAPTURES / "grpc-server-streaming.pcap"


def h2inspect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("versions, used", [(("v1",), "v1"), (("v1alpha",), "v1alpha"), (("v1", "v1alpha"), "v1")])
def test_rpcs_reflect_decodes_a_capture_by_field_name(versions, used):
    with grpc_server(versions) as port:
        got = h2inspect("rpcs", str(UNARY), "-v", "--reflect", f"127.0.0.1:{port}")
    assert got.returncode == 0, got.stderr
    assert 'h2inspect.demo.Request { name: "h2inspect" meta {   key: "k"   blob: "\\000\\001" } ' \
           'numbers: 1 numbers: 2 numbers: 3 }' in got.stdout
    assert 'h2inspect.demo.Reply { text: "hello h2inspect"' in got.stdout
    assert "unary (schema)" in got.stdout
    [said] = [line for line in got.stderr.splitlines() if "grpc.reflection-schema" in line]
    assert f"--reflect 127.0.0.1:{port}: 1 service (h2inspect.demo.Demo) by grpc.reflection.{used}" in said


def test_rpcs_jsonl_and_check_take_the_styles_from_the_reflected_schema():
    with grpc_server(("v1",)) as port:
        calls = _jsonl(h2inspect("rpcs", str(STREAMING), "--format", "jsonl", "--reflect", f"127.0.0.1:{port}").stdout)
        checked = h2inspect("check", str(STREAMING), "--format", "jsonl", "--severity", "info",
                            "--reflect", f"127.0.0.1:{port}")
    assert [(c["method"], c["style"], c["style_source"]) for c in calls] == [
        ("/h2inspect.demo.Demo/ServerStream", "server-streaming", "schema")]
    findings = _jsonl(checked.stdout)
    assert [f["rule"] for f in findings if f["rule"].startswith("grpc.reflection")] == ["grpc.reflection-schema"]
    assert checked.returncode == 1  # --severity info: the info finding counts


def test_a_server_without_reflection_is_one_info_finding_and_raw_decoding():
    with grpc_server() as port:
        got = h2inspect("rpcs", str(UNARY), "-v", "--reflect", f"127.0.0.1:{port}")
        checked = h2inspect("check", str(UNARY), "--format", "jsonl", "--severity", "info",
                            "--reflect", f"127.0.0.1:{port}")
    assert got.returncode == 0
    assert "h2inspect.demo.Request" not in got.stdout and "1: 'h2inspect'" in got.stdout  # raw wire format
    [said] = [line for line in got.stderr.splitlines() if "grpc.reflection" in line]
    assert "info grpc.reflection-unavailable" in said and "no server reflection (UNIMPLEMENTED" in said
    [finding] = [f for f in _jsonl(checked.stdout) if f["rule"].startswith("grpc.reflection")]
    assert finding["rule"] == "grpc.reflection-unavailable" and finding["severity"] == "info"
    assert finding["conn"] is None and finding["reference"] == "gRPC server-reflection.md"
    assert h2inspect("check", str(UNARY), "--reflect", f"127.0.0.1:{port}").returncode == 0  # info is no failure


def test_a_port_that_refuses_is_an_info_finding_not_an_error():
    from proxykit import free_port

    port = free_port()
    got = h2inspect("rpcs", str(UNARY), "--reflect", f"127.0.0.1:{port}")
    assert got.returncode == 0 and "Traceback" not in got.stderr
    assert f"info grpc.reflection-unavailable: --reflect 127.0.0.1:{port}: cannot be reached" in got.stderr


def test_a_reflection_service_that_answers_nonsense_is_a_warning_and_raw_decoding():
    with grpc_server(handler=nonsense) as port:
        got = h2inspect("check", str(UNARY), "--format", "jsonl", "--reflect", f"127.0.0.1:{port}")
        listed = h2inspect("rpcs", str(UNARY), "-v", "--reflect", f"127.0.0.1:{port}")
    assert got.returncode == 0 and "Traceback" not in got.stderr  # a warning does not fail --severity error
    [finding] = _jsonl(got.stdout)
    assert finding["rule"] == "grpc.reflection-unreadable" and finding["severity"] == "warning"
    assert "reflection answered what cannot be read" in finding["message"]
    assert listed.returncode == 0 and "h2inspect.demo.Request" not in listed.stdout


def test_reflect_over_tls_verifies_the_server_with_reflect_ca(tmp_path: Path):
    ca = LocalCA(tmp_path / "ca").ensure()
    leaf = ca.leaf(["localhost"])
    with grpc_server(("v1alpha",), tls=(leaf.key, leaf.cert)) as port:
        trusted = h2inspect("rpcs", str(UNARY), "-v", "--reflect", f"localhost:{port}", "--reflect-ca",
                            str(ca.cert_path))
        untrusted = h2inspect("rpcs", str(UNARY), "-v", "--reflect", f"localhost:{port}", "--reflect-tls")
        plain = h2inspect("rpcs", str(UNARY), "-v", "--reflect", f"localhost:{port}")
    assert 'h2inspect.demo.Request { name: "h2inspect"' in trusted.stdout, trusted.stderr
    assert "by grpc.reflection.v1alpha" in trusted.stderr
    for other in (untrusted, plain):  # the system's CAs do not know this one; plaintext meets TLS
        assert other.returncode == 0 and "h2inspect.demo.Request" not in other.stdout
        assert "grpc.reflection-unavailable" in other.stderr or "grpc.reflection-unreadable" in other.stderr
        assert len(other.stderr.strip().splitlines()) == 1, other.stderr  # grpc's own log lines are not let out


def test_reflect_adds_to_a_proto_given_too():
    proto = ROOT / "inspector" / "demo" / "demo.proto"
    with grpc_server(("v1",)) as port:
        got = h2inspect("rpcs", str(UNARY), "-v", "--proto", str(proto), "--reflect", f"127.0.0.1:{port}")
    assert got.returncode == 0 and 'h2inspect.demo.Request { name: "h2inspect"' in got.stdout


@pytest.mark.parametrize("args, words", [
    (["--reflect", "nonsense"], "--reflect 'nonsense': expected HOST:PORT"),
    (["--reflect", "127.0.0.1:99999"], "--reflect '127.0.0.1:99999': expected HOST:PORT"),
    (["--reflect", "127.0.0.1:0"], "port 0 cannot be asked"),
    (["--reflect-tls"], "--reflect-tls and --reflect-ca only apply with --reflect HOST:PORT"),
    (["--reflect", "127.0.0.1:1", "--reflect-ca", "/nonexistent/ca.pem"],
     "--reflect-ca /nonexistent/ca.pem: no such file"),
])
@pytest.mark.parametrize("command", ["rpcs", "check", "open"])
def test_bad_reflect_options_are_one_line_and_exit_2(command, args, words):
    got = h2inspect(command, str(UNARY), *args)
    assert got.returncode == 2 and words in got.stderr and len(got.stderr.strip().splitlines()) == 1, got.stderr


def test_open_reflect_shows_a_message_by_field_name_in_a_real_terminal(tmp_path: Path):
    done = tmp_path / "exit-status"
    frames = _jsonl(h2inspect("dump", str(UNARY), "--format", "jsonl").stdout)
    request_data = next(i for i, f in enumerate(frames) if f["type"] == "DATA" and f["from"] == "client")
    with grpc_server(("v1",)) as port:
        command = (f"PYTHONPATH={shlex.quote(str(ROOT))} {shlex.quote(sys.executable)} -m inspector open "
                   f"{UNARY} --reflect 127.0.0.1:{port}")
        with terminal(command, done, cwd=ROOT, size=(170, 50)) as name:
            wait_for(name, "stream 1 of connection 0")
            keys(name, ":")
            wait_for(name, "go to: a stream")
            keys(name, *f"f{request_data}", "Enter")  # one key each ("f7" would be the F7 key)
            shown = wait_for(name, "h2inspect.demo.Request {")
            assert 'name: "h2inspect"' in shown
            keys(name, "q")
            assert exit_status(done) == "0"
