"""`h2inspect export --har`: HAR 1.2 that validates against the spec's schema and loads in haralyzer."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
from haralyzer import HarEntry, HarParser

from inspector.capture.load import load_capture
from inspector.cli import main
from inspector.views.har import har_log

CAPTURES = Path(__file__).parent.parent / "captures"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "har-1.2.schema.json").read_text())


def _export(tmp_path: Path, capture: str, *extra: str) -> dict:
    out = tmp_path / "out.har"
    assert main(["export", str(CAPTURES / capture), "--har", str(out), *extra]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("capture", ["grpc-unary.pcap", "grpc-errors.pcap", "curl-h2c-prior-knowledge.pcap",
                                     "grpc-bidi-streaming.pcap", "h2load-three-connections.pcap"])
def test_exported_har_validates_against_the_har_1_2_schema(tmp_path: Path, capture: str) -> None:
    har = _export(tmp_path, capture)
    jsonschema.validate(har, SCHEMA)
    assert har["log"]["version"] == "1.2"
    assert har["log"]["entries"]
    assert all(e["request"]["httpVersion"] == "HTTP/2" for e in har["log"]["entries"])


def test_schema_rejects_an_entry_without_timings(tmp_path: Path) -> None:
    har = _export(tmp_path, "grpc-unary.pcap")
    del har["log"]["entries"][0]["timings"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(har, SCHEMA)


def test_har_loads_in_haralyzer_with_one_entry_per_stream(tmp_path: Path) -> None:
    har = _export(tmp_path, "curl-h2c-prior-knowledge.pcap")
    parser = HarParser(har)
    entries = [HarEntry(e) for e in parser.har_data["entries"]]
    session = load_capture(str(CAPTURES / "curl-h2c-prior-knowledge.pcap"))
    streams = sum(1 for c in session.connections for s in c.streams if s != 0)
    assert len(entries) == streams == 3
    first = entries[0]
    assert (first.request.method, first.status, first.response.mimeType) == ("GET", 200, "text/html")
    assert first.url.endswith("/index.html")
    assert first.response.text.startswith("<html>")
    assert first.startTime.year >= 2020 and first.timings["wait"] >= 0


def test_grpc_call_carries_trailers_and_messages_in_extension_fields(tmp_path: Path) -> None:
    har = _export(tmp_path, "grpc-unary.pcap")
    (entry,) = har["log"]["entries"]
    assert entry["request"]["url"].endswith("/h2inspect.demo.Demo/Unary")
    assert entry["response"]["status"] == 200
    assert {"name": "grpc-status", "value": "0"} in entry["response"]["_trailers"]
    grpc = entry["_grpc"]
    assert grpc["method"] == "/h2inspect.demo.Demo/Unary" and grpc["grpc_status"] == 0
    (request,) = grpc["requests"]
    body = base64.b64decode(entry["request"]["postData"]["text"])
    assert entry["request"]["postData"]["_encoding"] == "base64"
    # The body is the 5-byte gRPC prefix and then the message itself.
    assert body[5:] == base64.b64decode(request["data"])
    assert int.from_bytes(body[1:5], "big") == request["length"] == len(body) - 5


def test_text_body_is_text_and_timings_sum_to_time(tmp_path: Path) -> None:
    har = _export(tmp_path, "curl-h2c-prior-knowledge.pcap")
    for entry in har["log"]["entries"]:
        t = entry["timings"]
        assert entry["time"] == pytest.approx(t["send"] + t["wait"] + t["receive"], abs=0.01)
        content = entry["response"]["content"]
        assert content["size"] == entry["response"]["bodySize"]
        if content.get("text") and "encoding" not in content:
            assert content["mimeType"].startswith("text/")


def test_tls_capture_with_key_log_gives_https_urls(tmp_path: Path) -> None:
    har = _export(tmp_path, "curl-tls-keylog.pcap", "--keylog", str(CAPTURES / "curl-tls.keys"))
    jsonschema.validate(har, SCHEMA)
    assert har["log"]["entries"] and all(e["request"]["url"].startswith("https://") for e in har["log"]["entries"])


def test_har_of_a_session_matches_its_data_frames() -> None:
    session = load_capture(str(CAPTURES / "grpc-server-streaming.pcap"))
    (entry,) = har_log(session)["log"]["entries"]
    data = sum(f.length for f in session.frames if f.type_code == 0 and f.direction == 1)
    assert entry["response"]["bodySize"] == data  # no padding in this capture
    assert len(entry["_grpc"]["responses"]) == entry["_grpc"]["response_messages"] > 1


def test_export_of_a_missing_capture_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["export", str(tmp_path / "none.pcap"), "--har", str(tmp_path / "x.har")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.peers
@pytest.mark.timeout(120)
@pytest.mark.usefixtures("peers")
def test_proxy_writes_the_same_har_as_export_of_its_recording_when_it_stops(tmp_path: Path) -> None:
    from proxykit import md5, nghttpd, proxy, run, stopped_cleanly

    root = tmp_path / "www"
    root.mkdir()
    body = os.urandom(200_000)
    (root / "blob.bin").write_bytes(body)
    (root / "page.html").write_bytes(b"<html>hello</html>\n")
    har_path, record = tmp_path / "live.har", tmp_path / "rec.pcapng"
    with nghttpd(root) as port, proxy(tmp_path, f"127.0.0.1:{port}", "--har", str(har_path),
                                      "--record", str(record)) as p:
        for name in ("blob.bin", "page.html"):
            got = run(["curl", "-sS", "--http2-prior-knowledge", f"{p.url}/{name}"])
            assert got.returncode == 0, got.stderr
        p.wait_for(lambda r: sum(1 for f in r.frames() if f["type"] == "DATA" and "END_STREAM" in f["flag_names"])
                   >= 2)
        p.stop()
    assert stopped_cleanly(p)
    assert "wrote 2 HAR entries" in p.stderr()
    live = json.loads(har_path.read_text())
    jsonschema.validate(live, SCHEMA)
    entries = live["log"]["entries"]
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in entries] == ["blob.bin", "page.html"]
    assert md5(base64.b64decode(entries[0]["response"]["content"]["text"])) == md5(body)
    assert entries[1]["response"]["content"]["text"] == "<html>hello</html>\n"
    offline = _export(tmp_path, str(record))
    # The recording keeps times to the microsecond, the live model to the float: compare
    # times to a millisecond, everything else exactly.
    strip = ("time", "timings", "startedDateTime")
    assert [{k: v for k, v in e.items() if k not in strip} for e in offline["log"]["entries"]] == \
        [{k: v for k, v in e.items() if k not in strip} for e in entries]
    for a, b in zip(offline["log"]["entries"], entries, strict=True):
        assert a["time"] == pytest.approx(b["time"], abs=1.0)
        started = [datetime.fromisoformat(x["startedDateTime"].replace("Z", "+00:00")) for x in (a, b)]
        assert abs((started[0] - started[1]).total_seconds()) < 0.01


def test_proxy_har_to_a_folder_that_does_not_exist_is_refused_before_listening(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture) -> None:
    code = main(["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--headless",
                 "--har", str(tmp_path / "no" / "x.har")])
    assert code == 2
    assert "--har" in capsys.readouterr().err
