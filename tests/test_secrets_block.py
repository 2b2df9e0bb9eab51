"""Decryption Secrets Blocks: a pcapng that carries its TLS key log decodes with no --keylog."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from oracle import h2inspect_frames

from inspector.proxy.recorder import SECRETS_TLS_KEY_LOG, secrets_block

CAPTURES = Path(__file__).parent.parent / "captures"


def test_secrets_block_is_laid_out_as_pcapng_says():
    block = secrets_block(b"CLIENT_RANDOM ab cd\n")  # 20 bytes: no padding
    assert len(block) == 40
    assert block[:4] == (0x0A).to_bytes(4, "little") and block[4:8] == (40).to_bytes(4, "little")
    assert block[8:12] == SECRETS_TLS_KEY_LOG.to_bytes(4, "little") and block[12:16] == (20).to_bytes(4, "little")
    assert block[-4:] == (40).to_bytes(4, "little")
    assert len(secrets_block(b"x")) % 4 == 0


@pytest.mark.peers
def test_capture_with_injected_secrets_decodes_like_one_given_its_key_log(tmp_path):
    keys = CAPTURES / "curl-tls.keys"
    injected = tmp_path / "with-secrets.pcapng"
    subprocess.run(["editcap", "--inject-secrets", f"tls,{keys}", str(CAPTURES / "curl-tls-keylog.pcap"),
                    str(injected)], check=True, capture_output=True)
    given = h2inspect_frames(str(CAPTURES / "curl-tls-keylog.pcap"), keylog=str(keys))
    assert given  # decrypted frames exist to compare
    assert h2inspect_frames(str(injected)) == given
