"""`proxy --reflect`: schemas by gRPC server reflection (v1, else v1alpha), asked off the relay's
path: the upstream in reverse mode, each intercepted gRPC host once in forward mode. Real
grpcio servers with grpcio-reflection, real grpcio clients, through the real proxy."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import grpc
import pytest
from proxykit import proxy, stopped_cleanly
from reflectionkit import grpc_server, held_until, nonsense, plain_channel, unary

from inspector.proxy.tls import LocalCA

pytestmark = [pytest.mark.peers, pytest.mark.timeout(120)]


def _entries(har: Path) -> list[dict]:
    return json.loads(har.read_text())["log"]["entries"]


def _findings(p, rule: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in p.stderr().splitlines() if f" {rule}: " in line]


def _trailers(n: int):  # type: ignore[no-untyped-def]
    return lambda r: sum(1 for f in r.frames() if f.get("role") == "trailers") >= n


@pytest.mark.parametrize("versions, used", [(("v1alpha",), "v1alpha"), (("v1",), "v1"), (("v1", "v1alpha"), "v1")])
def test_messages_are_decoded_by_name_from_reflection_with_no_proto(tmp_path: Path, versions, used):
    har = tmp_path / "r.har"
    with grpc_server(versions) as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--reflect", "--har", str(har)) as p:
            p.wait_for(lambda r: _findings(r, "grpc.reflection-schema"))
            with plain_channel(p.port) as channel:
                assert unary(channel) == "hello reflected"
            p.wait_for(_trailers(1))
            assert p.stop() == 0
    [said] = _findings(p, "grpc.reflection-schema")
    assert f"1 service (h2inspect.demo.Demo) by grpc.reflection.{used}" in said
    (entry,) = _entries(har)
    grpc_call = entry["_grpc"]
    assert grpc_call["style_source"] == "schema" and grpc_call["style"] == "unary"
    assert grpc_call["requests"][0]["decoded"] == 'h2inspect.demo.Request { name: "reflected" numbers: 7 }'
    assert grpc_call["responses"][0]["decoded"].startswith('h2inspect.demo.Reply { text: "hello reflected"')
    assert stopped_cleanly(p)


def test_upstream_without_reflection_is_one_info_finding_and_raw_decoding(tmp_path: Path):
    har = tmp_path / "r.har"
    with grpc_server() as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--reflect", "--har", str(har)) as p:
            p.wait_for(lambda r: _findings(r, "grpc.reflection-unavailable"))
            with plain_channel(p.port) as channel:
                assert unary(channel) == "hello reflected"
            p.wait_for(_trailers(1))
            assert p.stop() == 0
    [said] = _findings(p, "grpc.reflection-unavailable")
    assert said.startswith("h2inspect: proxy: info grpc.reflection-unavailable: ")
    assert "no server reflection (UNIMPLEMENTED for grpc.reflection.v1 and v1alpha)" in said
    assert "messages are shown in raw wire format" in said
    (entry,) = _entries(har)
    assert entry["_grpc"]["style_source"] == "traffic"
    assert "decoded" not in entry["_grpc"]["requests"][0]
    assert stopped_cleanly(p)


def test_reflection_that_answers_nonsense_is_a_warning_and_the_proxy_keeps_serving(tmp_path: Path):
    har = tmp_path / "r.har"
    with grpc_server(handler=nonsense) as port:
        with proxy(tmp_path, f"127.0.0.1:{port}", "--reflect", "--har", str(har)) as p:
            p.wait_for(lambda r: _findings(r, "grpc.reflection-unreadable"))
            for i in range(2):  # two connections, both served
                with plain_channel(p.port) as channel:
                    assert unary(channel, f"call {i}") == f"hello call {i}"
            p.wait_for(_trailers(2))
            assert p.stop() == 0
    [said] = _findings(p, "grpc.reflection-unreadable")
    assert "warning grpc.reflection-unreadable" in said and "reflection answered what cannot be read" in said
    assert [e["_grpc"]["style_source"] for e in _entries(har)] == ["traffic", "traffic"]
    assert stopped_cleanly(p)


def test_forward_mode_asks_each_grpc_host_once_and_decodes_its_connections(tmp_path: Path):
    """Two hosts through CONNECT (grpcio's http_proxy, h2c in the tunnel): the one with reflection is
    asked once for its two connections, the one without is one info finding; each keeps its own."""
    har = tmp_path / "f.har"
    with grpc_server(("v1",)) as good, grpc_server() as bare:
        with proxy(tmp_path, "", "--reflect", "--har", str(har)) as p:
            with plain_channel(good, p.url) as channel:
                assert unary(channel, "first") == "hello first"
            p.wait_for(lambda r: _findings(r, "grpc.reflection-schema"))
            with plain_channel(good, p.url) as channel:
                assert unary(channel, "second") == "hello second"
            with plain_channel(bare, p.url) as channel:
                assert unary(channel, "bare") == "hello bare"
            p.wait_for(lambda r: _findings(r, "grpc.reflection-unavailable"))
            p.wait_for(_trailers(3))
            assert p.stop() == 0
    [schema] = _findings(p, "grpc.reflection-schema")
    assert f"127.0.0.1:{good}: 1 service (h2inspect.demo.Demo) by grpc.reflection.v1" in schema
    [unavailable] = _findings(p, "grpc.reflection-unavailable")
    assert f"127.0.0.1:{bare}: no server reflection" in unavailable
    entries = _entries(har)
    assert len(entries) == 3 and len({e["_grpc"]["conn"] for e in entries}) == 3
    by_name = {e["_grpc"]["requests"][0].get("decoded", "raw"): e for e in entries}
    assert set(by_name) == {'h2inspect.demo.Request { name: "first" numbers: 7 }',
                            'h2inspect.demo.Request { name: "second" numbers: 7 }', "raw"}
    assert f":{bare}" in by_name["raw"]["request"]["url"]
    assert by_name["raw"]["_grpc"]["style_source"] == "traffic"
    assert stopped_cleanly(p)


def test_forward_mode_asks_a_tls_host_over_tls_as_the_relay_verifies_it(tmp_path: Path):
    upstream = LocalCA(tmp_path / "upstream-ca").ensure()
    leaf = upstream.leaf(["localhost"])
    har = tmp_path / "t.har"
    with grpc_server(("v1alpha",), tls=(leaf.key, leaf.cert)) as port:
        with proxy(tmp_path, "", "--reflect", "--upstream-ca", str(upstream.cert_path), "--har", str(har)) as p:
            root = (tmp_path / "h2home" / "ca" / "ca.pem").read_bytes()
            credentials = grpc.ssl_channel_credentials(root)
            options = [("grpc.http_proxy", p.url), ("grpc.use_local_subchannel_pool", 1)]
            for name in ("one", "two"):
                with grpc.secure_channel(f"localhost:{port}", credentials, options) as channel:
                    assert unary(channel, name) == f"hello {name}"
                p.wait_for(lambda r: _findings(r, "grpc.reflection-schema"))
            p.wait_for(_trailers(2))
            assert p.stop() == 0
    [said] = _findings(p, "grpc.reflection-schema")
    assert f"localhost:{port}: 1 service (h2inspect.demo.Demo) by grpc.reflection.v1alpha" in said
    decoded = [e["_grpc"]["requests"][0]["decoded"] for e in _entries(har)]
    assert decoded == ['h2inspect.demo.Request { name: "one" numbers: 7 }',
                       'h2inspect.demo.Request { name: "two" numbers: 7 }']
    assert stopped_cleanly(p)


def test_a_reflection_answer_that_never_comes_does_not_hold_up_the_relay(tmp_path: Path):
    """The host's reflection service holds its answer until a call made through the proxy after the
    question reached it has been answered: that call could not be if the relay waited for reflection."""
    answer, asked = threading.Event(), threading.Event()
    with grpc_server(handler=held_until(answer, asked)) as port:
        with proxy(tmp_path, "", "--reflect") as p:
            try:
                with plain_channel(port, p.url) as channel:
                    assert unary(channel, "before") == "hello before"  # the host is asked once this is decoded
                assert asked.wait(15)
                with plain_channel(port, p.url) as channel:
                    assert unary(channel, "during") == "hello during"
                assert " grpc.reflection-" not in p.stderr()  # still waiting for the answer
            finally:
                answer.set()
            p.wait_for(lambda r: _findings(r, "grpc.reflection-unreadable"))
            with plain_channel(port, p.url) as channel:
                assert unary(channel, "after") == "hello after"
            p.wait_for(_trailers(3))
            assert p.stop() == 0
    [said] = _findings(p, "grpc.reflection-unreadable")
    assert re.search(r"conn 0: warning grpc.reflection-unreadable: --reflect: 127\.0\.0\.1:\d+: reflection "
                     r"answered what cannot be read", said), said
    assert stopped_cleanly(p)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_insecure_reflection_trusts_an_upstream_certificate_the_proxy_does_not(tmp_path: Path, mode: str):
    """--insecure skips verifying the upstream for reflection as for the relay: a grpcio server over
    TLS with a certificate from a CA the proxy was not given, for a name nobody asks for."""
    untrusted = LocalCA(tmp_path / "unknown-ca").ensure()
    leaf = untrusted.leaf(["upstream.test"])
    har = tmp_path / "i.har"
    with grpc_server(("v1",), tls=(leaf.key, leaf.cert)) as port:
        if mode == "forward":
            args: tuple[str, ...] = ("", "--insecure")
        else:
            args = (f"127.0.0.1:{port}", "--upstream-tls", "--insecure")
        with proxy(tmp_path, *args, "--reflect", "--har", str(har)) as p:
            if mode == "forward":
                root = (tmp_path / "h2home" / "ca" / "ca.pem").read_bytes()
                options = [("grpc.http_proxy", p.url), ("grpc.use_local_subchannel_pool", 1)]
                with grpc.secure_channel(f"localhost:{port}", grpc.ssl_channel_credentials(root), options) as channel:
                    assert unary(channel, "pinned") == "hello pinned"
            else:
                with plain_channel(p.port) as channel:
                    assert unary(channel, "pinned") == "hello pinned"
            p.wait_for(lambda r: " grpc.reflection-" in r.stderr())
            p.wait_for(_trailers(1))
            assert p.stop() == 0
    said = [line for line in p.stderr().splitlines() if " grpc.reflection-" in line]
    host = "localhost" if mode == "forward" else "127.0.0.1"
    assert len(said) == 1 and f"{host}:{port}: 1 service (h2inspect.demo.Demo) by grpc.reflection.v1" in said[0], said
    (entry,) = _entries(har)
    assert entry["_grpc"]["requests"][0]["decoded"] == 'h2inspect.demo.Request { name: "pinned" numbers: 7 }'
    assert stopped_cleanly(p)
