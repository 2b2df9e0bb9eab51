"""Every finding rule, as data: id, severity, title, reference, one sentence in English
and in Japanese, and the limits (presets.LIMITS) an abuse rule compares against.

Ids are stable and grouped by family: `h2.*` (RFC 9113, RFC 7541), `grpc.*`
(gRPC over HTTP/2, PROTOCOL-HTTP2.md), `flow.*` (flow control and liveness),
`abuse.*` (denial-of-service patterns), `capture.*` and `tls.*` (what the
source could not read), `proxy.*` (what the proxy itself met: an upstream that
refused, a client that rejected its CA, decoding paused). A rule's checker lives
in the module of its family; the proxy's events are reported where they happen
(inspector/proxy, commands/proxy.py).
"""

from __future__ import annotations

from typing import NamedTuple

from inspector.model import Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO
GRPC = "gRPC PROTOCOL-HTTP2"


class Rule(NamedTuple):
    """One rule: what it is called, how much it matters, where the spec says so, in two languages."""

    id: str
    severity: Severity
    title: str
    reference: str
    en: str
    ja: str
    limits: tuple[str, ...] = ()  # names in presets.LIMITS this rule compares against

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    def explain(self, lang: str = "en") -> str:
        """The one sentence that says what breaking this rule means."""
        return self.ja if lang == "ja" else self.en


_TABLE: tuple[Rule, ...] = (
    # ---- h2.*: RFC 9113 and RFC 7541 ---------------------------------------------------------
    Rule("h2.preface", E, "no connection preface", "RFC 9113 §3.4",
         "The client must open the connection with the 24-byte preface before any frame.",
         "クライアントは最初のフレームより前に 24 バイトのコネクションプリフェイスを送らなければならない。"),
    Rule("h2.frame-on-idle-stream", E, "frame on an idle stream", "RFC 9113 §5.1",
         "Only HEADERS and PRIORITY may be sent on a stream that was never opened.",
         "開かれていない（idle）ストリームで送ってよいのは HEADERS と PRIORITY だけである。"),
    Rule("h2.frame-after-end-stream", E, "frame after END_STREAM", "RFC 9113 §5.1",
         "After a side sends END_STREAM it must not send DATA or HEADERS on that stream again.",
         "END_STREAM を送った側は、そのストリームで DATA や HEADERS を再び送ってはならない。"),
    Rule("h2.frame-on-closed-stream", E, "frame on a closed stream", "RFC 9113 §5.1",
         "A closed stream takes only PRIORITY, WINDOW_UPDATE and RST_STREAM still in flight.",
         "閉じたストリームに届いてよいのは、送信途中だった PRIORITY・WINDOW_UPDATE・RST_STREAM だけである。"),
    Rule("h2.stream-state", E, "frame not allowed in the stream's state", "RFC 9113 §5.1",
         "Each stream state allows only some frames from each side; this one is not among them.",
         "ストリームの状態ごとに各側が送れるフレームは決まっており、このフレームはそれに含まれない。"),
    Rule("h2.stream-id-reuse", E, "stream id reused", "RFC 9113 §5.1.1",
         "A stream id is used once: HEADERS on a stream that already closed opens nothing.",
         "ストリーム ID は一度しか使えない。閉じたストリームへの HEADERS は新しいストリームにならない。"),
    Rule("h2.stream-id-backwards", E, "new stream id not increasing", "RFC 9113 §5.1.1",
         "A new stream's id must be greater than every stream the same side opened before.",
         "新しいストリームの ID は、同じ側がそれまでに開いたどのストリームの ID より大きくなければならない。"),
    Rule("h2.stream-id-parity", E, "stream id of the wrong parity", "RFC 9113 §5.1.1",
         "Clients open odd-numbered streams and servers promise even-numbered ones.",
         "クライアントが開くストリームは奇数、サーバーがプッシュで約束するストリームは偶数でなければならない。"),
    Rule("h2.stream-zero", E, "stream frame on stream 0", "RFC 9113 §6",
         "DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE and CONTINUATION belong to a stream, never to stream 0.",
         "DATA・HEADERS・PRIORITY・RST_STREAM・PUSH_PROMISE・CONTINUATION はストリーム 0 に送ってはならない。"),
    Rule("h2.connection-frame-on-stream", E, "connection frame on a stream", "RFC 9113 §6",
         "SETTINGS, PING and GOAWAY concern the whole connection and must use stream 0.",
         "SETTINGS・PING・GOAWAY はコネクション全体のフレームで、ストリーム 0 で送らなければならない。"),
    Rule("h2.reserved-bit", W, "reserved bit set", "RFC 9113 §4.1",
         "The reserved bit of the stream identifier must be sent as 0.",
         "ストリーム識別子の予約ビットは 0 で送らなければならない。"),
    Rule("h2.frame-size", E, "frame larger than SETTINGS_MAX_FRAME_SIZE", "RFC 9113 §4.2",
         "A frame may not be longer than the receiver's SETTINGS_MAX_FRAME_SIZE (16,384 unless it said more).",
         "フレームの長さは受信側の SETTINGS_MAX_FRAME_SIZE (指定がなければ 16,384) を超えてはならない。"),
    Rule("h2.frame-length", E, "frame of the wrong length", "RFC 9113 §6",
         "PRIORITY is 5 bytes, RST_STREAM and WINDOW_UPDATE 4, PING 8; other lengths are a frame size error.",
         "PRIORITY は 5 バイト、RST_STREAM と WINDOW_UPDATE は 4 バイト、PING は 8 バイトでなければならない。"),
    Rule("h2.padding", E, "padding longer than the payload", "RFC 9113 §6.1",
         "The Pad Length must be smaller than the frame's payload.",
         "パディング長はフレームのペイロードより短くなければならない。"),
    Rule("h2.priority-self", E, "stream depends on itself", "RFC 9113 §5.3.1",
         "A stream cannot depend on itself in PRIORITY or in HEADERS' priority fields.",
         "ストリームは PRIORITY や HEADERS の優先度で自分自身に依存できない。"),
    Rule("h2.continuation-without-block", E, "CONTINUATION without a header block", "RFC 9113 §6.10",
         "CONTINUATION may only follow a HEADERS, PUSH_PROMISE or CONTINUATION without END_HEADERS "
         "on the same stream.",
         "CONTINUATION は、同じストリームの END_HEADERS のない HEADERS・PUSH_PROMISE・CONTINUATION の"
         "直後にしか送れない。"),
    Rule("h2.continuation-interrupted", E, "header block interrupted", "RFC 9113 §6.10",
         "Until END_HEADERS, the only frame allowed on the connection is CONTINUATION of the same stream.",
         "END_HEADERS までの間、コネクションで送れるのは同じストリームの CONTINUATION だけである。"),
    Rule("h2.settings-length", E, "malformed SETTINGS", "RFC 9113 §6.5",
         "A SETTINGS payload is a multiple of 6 bytes, and a SETTINGS ACK is empty.",
         "SETTINGS のペイロードは 6 バイトの倍数で、SETTINGS ACK は空でなければならない。"),
    Rule("h2.settings-value", E, "SETTINGS value out of range", "RFC 9113 §6.5.2",
         "ENABLE_PUSH is 0 or 1 (and never 1 from a server), INITIAL_WINDOW_SIZE at most 2^31-1, "
         "MAX_FRAME_SIZE between 16,384 and 16,777,215.",
         "ENABLE_PUSH は 0 か 1 (サーバーは 1 を送れない)、INITIAL_WINDOW_SIZE は 2^31-1 以下、"
         "MAX_FRAME_SIZE は 16,384 以上 16,777,215 以下でなければならない。"),
    Rule("h2.settings-unacked", W, "SETTINGS never acknowledged", "RFC 9113 §6.5.3",
         "Each SETTINGS must be acknowledged by the peer with a SETTINGS ACK once applied.",
         "SETTINGS を受けた側は、適用した後に SETTINGS ACK で応答しなければならない。"),
    Rule("h2.window-update-zero", E, "WINDOW_UPDATE of 0", "RFC 9113 §6.9",
         "A WINDOW_UPDATE must add at least 1 byte to the window.",
         "WINDOW_UPDATE の増分は 1 以上でなければならない。"),
    Rule("h2.window-overflow", E, "flow-control window past 2^31-1", "RFC 9113 §6.9.1",
         "A WINDOW_UPDATE (or SETTINGS change) may not take a window above 2^31-1 bytes.",
         "WINDOW_UPDATE (や SETTINGS の変更) でウィンドウが 2^31-1 バイトを超えてはならない。"),
    Rule("h2.data-beyond-window", E, "DATA beyond the flow-control window", "RFC 9113 §6.9.1",
         "A sender must not send more DATA than the receiver's stream and connection windows allow.",
         "送信側は受信側のストリームおよびコネクションのウィンドウを超える DATA を送ってはならない。"),
    Rule("h2.max-concurrent-streams", E, "more streams than SETTINGS_MAX_CONCURRENT_STREAMS", "RFC 9113 §5.1.2",
         "An endpoint must not open more concurrent streams than its peer's SETTINGS_MAX_CONCURRENT_STREAMS.",
         "相手の SETTINGS_MAX_CONCURRENT_STREAMS を超えて同時にストリームを開いてはならない。"),
    Rule("h2.push-disabled", E, "PUSH_PROMISE after push was disabled", "RFC 9113 §6.6",
         "A server must not send PUSH_PROMISE when the client set SETTINGS_ENABLE_PUSH to 0.",
         "クライアントが SETTINGS_ENABLE_PUSH を 0 にした後、サーバーは PUSH_PROMISE を送ってはならない。"),
    Rule("h2.stream-after-goaway", W, "new stream above GOAWAY's last stream id", "RFC 9113 §6.8",
         "After receiving GOAWAY a side must not open streams; ones above its last stream id are not processed.",
         "GOAWAY を受けた側は新しいストリームを開いてはならず、最終ストリーム ID を超えるものは処理されない。"),
    Rule("h2.goaway-error", W, "GOAWAY with an error", "RFC 9113 §6.8",
         "The connection was closed because of an error, not a graceful shutdown.",
         "コネクションは正常な終了ではなく、エラーのために閉じられた。"),
    Rule("h2.pseudo-header", E, "pseudo-header rules broken", "RFC 9113 §8.3",
         "A request has :method, :scheme and :path once each (:authority at most once), a response :status once; "
         "pseudo-headers come first and never in trailers.",
         "リクエストには :method・:scheme・:path が 1 つずつ、レスポンスには :status が 1 つ必要で、"
         "疑似ヘッダーは先頭に置き、トレーラーには入れない。"),
    Rule("h2.header-uppercase", E, "uppercase header name", "RFC 9113 §8.2.1",
         "Field names in HTTP/2 must be lowercase.",
         "HTTP/2 のフィールド名は小文字でなければならない。"),
    Rule("h2.connection-header", E, "connection-specific header", "RFC 9113 §8.2.2",
         "connection, keep-alive, proxy-connection, transfer-encoding and upgrade are not allowed, "
         "and te only as 'trailers'.",
         "connection・keep-alive・proxy-connection・transfer-encoding・upgrade は使えず、"
         "te は 'trailers' のみ許される。"),
    Rule("h2.content-length", E, "content-length differs from the DATA sent", "RFC 9113 §8.1.1",
         "When content-length is given, the DATA payloads of the message must add up to it.",
         "content-length がある場合、メッセージの DATA ペイロードの合計はその値と一致しなければならない。"),
    Rule("h2.hpack", E, "HPACK decoding error", "RFC 7541",
         "The field block could not be decoded; the receiver must treat it as a connection error.",
         "フィールドブロックを復号できなかった。受信側はコネクションエラーとして扱わなければならない。"),
    Rule("h2.hpack-table-size", E, "table size update above the setting", "RFC 7541 §6.3",
         "A dynamic table size update may not exceed the decoder's SETTINGS_HEADER_TABLE_SIZE.",
         "動的テーブルサイズの更新値は、復号側の SETTINGS_HEADER_TABLE_SIZE を超えてはならない。"),
    # ---- grpc.*: gRPC over HTTP/2 -------------------------------------------------------------
    Rule("grpc.content-type", E, "content-type not application/grpc", f"{GRPC}: Requests",
         "Requests and responses say content-type application/grpc, optionally +proto, +json or ;params.",
         "リクエストとレスポンスの content-type は application/grpc "
         "(+proto・+json・;パラメータ付きも可) でなければならない。"),
    Rule("grpc.te-trailers", E, "request without te: trailers", f"{GRPC}: Requests",
         "A gRPC request carries te: trailers, which proxies need to pass the trailers on.",
         "gRPC のリクエストには te: trailers が必要で、プロキシはこれを見てトレーラーを通す。"),
    Rule("grpc.method", E, "method not POST", f"{GRPC}: Requests",
         "Every gRPC call is an HTTP POST.",
         "gRPC の呼び出しはすべて HTTP の POST である。"),
    Rule("grpc.missing-status", E, "response without grpc-status", f"{GRPC}: Responses",
         "Every call ends with trailers (or a Trailers-Only response) carrying grpc-status.",
         "すべての呼び出しは grpc-status を含むトレーラー (または Trailers-Only レスポンス) で終わる。"),
    Rule("grpc.status-range", E, "grpc-status outside 0-16", "gRPC statuscodes.md",
         "grpc-status is a decimal code from 0 (OK) to 16 (UNAUTHENTICATED).",
         "grpc-status は 0 (OK) から 16 (UNAUTHENTICATED) までの 10 進数である。"),
    Rule("grpc.message-encoding", W, "grpc-message not percent-encoded", f"{GRPC}: Responses",
         "grpc-message is percent-encoded UTF-8: bytes outside printable ASCII, and %, are sent as %XX.",
         "grpc-message はパーセントエンコードした UTF-8 で、印字可能 ASCII 以外と % は %XX で送る。"),
    Rule("grpc.trailers-only-body", E, "Trailers-Only response with a body", f"{GRPC}: Responses",
         "A Trailers-Only response is one HEADERS with END_STREAM; no DATA may follow it.",
         "Trailers-Only レスポンスは END_STREAM 付きの HEADERS 1 つだけで、DATA を続けてはならない。"),
    Rule("grpc.http-status", E, "HTTP status other than 200", f"{GRPC}: Responses",
         "A gRPC response has :status 200; anything else means the call failed before gRPC, "
         "and clients map it to a gRPC status.",
         "gRPC のレスポンスの :status は 200 で、それ以外は gRPC より手前での失敗を意味し、"
         "クライアントは対応する gRPC ステータスに読み替える。"),
    Rule("grpc.message-truncated", E, "message runs past the end of the stream", f"{GRPC}: Length-Prefixed-Message",
         "A message's 5-byte prefix declares its length; the stream ended before that many bytes came.",
         "メッセージの 5 バイトの接頭部が示す長さに達する前にストリームが終わった。"),
    Rule("grpc.compressed-without-encoding", E, "compressed flag without an encoding", f"{GRPC}: Compressed-Flag",
         "A message with the compressed flag needs a grpc-encoding other than identity.",
         "圧縮フラグ付きのメッセージには identity 以外の grpc-encoding が必要である。"),
    Rule("grpc.encoding-not-accepted", E, "grpc-encoding the peer did not accept", "gRPC compression.md",
         "A side compresses only with an encoding the other listed in grpc-accept-encoding.",
         "圧縮に使えるのは、相手が grpc-accept-encoding に挙げた方式だけである。"),
    Rule("grpc.message-count", E, "wrong number of messages for the method", "gRPC PROTOCOL-HTTP2: Requests",
         "Unary and server-streaming requests carry one message; unary and client-streaming responses one "
         "(or none, with an error status).",
         "unary と server-streaming のリクエストは 1 メッセージ、unary と client-streaming のレスポンスは "
         "1 メッセージ (エラー時は 0) でなければならない。"),
    Rule("grpc.deadline", W, "call ran past its grpc-timeout", f"{GRPC}: Requests (Timeout)",
         "A call with grpc-timeout should be over (DEADLINE_EXCEEDED) once the timeout has passed.",
         "grpc-timeout のある呼び出しは、その時間を過ぎたら (DEADLINE_EXCEEDED で) 終わっているはずである。"),
    Rule("grpc.reflection-schema", N, "schema from server reflection", "gRPC server-reflection.md",
         "The services' files came from gRPC server reflection (asked, or seen in the traffic): messages are "
         "decoded by field name.",
         "サービスのファイルを gRPC サーバーリフレクションから得た (問い合わせたか、通信の中に見つけた)。"
         "メッセージはフィールド名で復号する。"),
    Rule("grpc.reflection-unavailable", N, "no server reflection", "gRPC server-reflection.md",
         "The host answers no gRPC server reflection (v1 or v1alpha), or cannot be reached: messages are shown "
         "in raw wire format.",
         "ホストが gRPC サーバーリフレクション (v1 も v1alpha も) に応じないか、接続できない。"
         "メッセージは生のワイヤー形式で表示する。"),
    Rule("grpc.reflection-unreadable", W, "reflection answer that cannot be read", "gRPC server-reflection.md",
         "The reflection service answered what is not a usable schema: messages are shown in raw wire format.",
         "リフレクションサービスの応答がスキーマとして使えない。メッセージは生のワイヤー形式で表示する。"),
    # ---- flow.*: flow control and liveness ----------------------------------------------------
    Rule("flow.blocked", N, "sender waited on a zero window", "RFC 9113 §6.9",
         "A window reached 0 and the sender waited for a WINDOW_UPDATE before it could send more.",
         "ウィンドウが 0 になり、送信側は WINDOW_UPDATE を受けるまで送信を待った。"),
    Rule("flow.window-never-reopens", W, "window never reopened", "RFC 9113 §6.9",
         "A window stayed at 0 until the end while the sender still had a stream to finish.",
         "送信側に終わっていないストリームがあるのに、ウィンドウは最後まで 0 のままだった。"),
    Rule("flow.ping-unanswered", W, "PING never answered", "RFC 9113 §6.7",
         "A PING must be answered with a PING ACK carrying the same 8 bytes.",
         "PING には同じ 8 バイトを持つ PING ACK で応答しなければならない。"),
    Rule("flow.stream-open-at-close", W, "stream still open when the connection closed", "RFC 9113 §5.1",
         "The TCP connection ended while a stream was still open: one side never sent END_STREAM or RST_STREAM.",
         "ストリームが開いたまま TCP コネクションが終わった。どちらかの側が END_STREAM も RST_STREAM も送っていない。"),
    Rule("flow.stream-open-at-end", N, "stream still open at the end of the capture", "RFC 9113 §5.1",
         "The capture ended while a stream was still open; it may have finished after the capture stopped.",
         "キャプチャが終わった時点でストリームはまだ開いていた。キャプチャ停止後に終わった可能性がある。"),
    Rule("flow.refused-stream", W, "stream refused", "RFC 9113 §8.7",
         "The server refused the stream (REFUSED_STREAM) without processing it; the request can be retried.",
         "サーバーはストリームを処理せずに拒否した (REFUSED_STREAM)。リクエストは再試行できる。"),
    # ---- abuse.*: denial-of-service patterns --------------------------------------------------
    Rule("abuse.rapid-reset", E, "rapid reset", "CVE-2023-44487",
         "The client opens streams and resets them at once, making the server start work it never finishes.",
         "クライアントがストリームを開いてはすぐにリセットし、サーバーに終わらない処理を始めさせている。",
         ("rst_burst", "rst_rate", "premature_reset_streams", "premature_reset_ratio",
          "premature_reset_seconds", "queued_streams_factor")),
    Rule("abuse.made-you-reset", E, "server resets provoked by the client", "CVE-2025-8671",
         "The client sends frames that make the server reset its streams, with the same effect as rapid reset.",
         "クライアントが不正なフレームでサーバーにストリームをリセットさせており、効果は高速リセット攻撃と同じである。",
         ("made_reset_burst", "made_reset_rate")),
    Rule("abuse.continuation-flood", E, "CONTINUATION flood", "CVE-2024-27316",
         "A header block is split into more CONTINUATION frames than a server accepts.",
         "ヘッダーブロックがサーバーの受け付ける数より多くの CONTINUATION フレームに分割されている。",
         ("continuation_frames",)),
    Rule("abuse.continuation-small-fragments", W, "header block in many small fragments", "CVE-2024-27316",
         "A header block came in many fragments of under 1 KiB on average, which HAProxy counts as a glitch.",
         "ヘッダーブロックが平均 1 KiB 未満の多数の断片で届いた。HAProxy はこれを異常として数える。",
         ("small_fragments", "small_fragment_bytes")),
    Rule("abuse.header-block-unterminated", E, "header block never ends", "CVE-2024-27316",
         "A header block never got its END_HEADERS before the connection closed, holding the receiver's buffers.",
         "ヘッダーブロックが END_HEADERS を受けないままコネクションが閉じ、受信側のバッファを占有し続けた。"),
    Rule("abuse.hpack-bomb", E, "HPACK bomb", "CVE-2016-6581",
         "A small field block decodes to a header list larger than the receiver allows.",
         "小さなフィールドブロックが、受信側の許す大きさを超えるヘッダーリストに展開される。",
         ("header_list_bytes",)),
    Rule("abuse.ping-flood", E, "PING flood", "CVE-2019-9512",
         "More PINGs wait for their ACK than a server queues before it closes the connection.",
         "ACK 待ちの PING が、サーバーがコネクションを閉じる前に溜める上限を超えた。",
         ("control_acks_owed",)),
    Rule("abuse.settings-flood", E, "SETTINGS flood", "CVE-2019-9515",
         "More SETTINGS wait for their ACK than a server queues before it closes the connection.",
         "ACK 待ちの SETTINGS が、サーバーがコネクションを閉じる前に溜める上限を超えた。",
         ("control_acks_owed",)),
    Rule("abuse.settings-count", E, "too many settings in one frame", "CVE-2019-9515",
         "A SETTINGS frame carries more parameters than nghttp2 accepts in one frame.",
         "1 つの SETTINGS フレームに nghttp2 が受け付ける数より多くのパラメータがある。",
         ("settings_per_frame",)),
    Rule("abuse.empty-data", E, "empty DATA flood", "CVE-2019-9518",
         "Consecutive DATA frames with no payload and no END_STREAM cost the receiver work for nothing.",
         "ペイロードも END_STREAM もない DATA フレームが続き、受信側に無駄な処理をさせている。",
         ("empty_data_frames",)),
    Rule("abuse.priority-flood", E, "PRIORITY flood", "CVE-2019-9513",
         "More PRIORITY frames than Envoy allows per stream opened.",
         "開いたストリーム数に対して Envoy が許す数より多くの PRIORITY フレームが送られた。",
         ("priority_per_stream",)),
    Rule("abuse.window-update-flood", E, "WINDOW_UPDATE flood", "CVE-2019-9511",
         "More WINDOW_UPDATE frames than Envoy allows per DATA frame it sent.",
         "送った DATA フレームに対して Envoy が許す数より多くの WINDOW_UPDATE が届いた。",
         ("window_updates_per_data",)),
    Rule("abuse.slow-read", W, "zero-window slow reading", "CVE-2019-9517",
         "The client kept the server's window at 0 for long, making it hold the responses in memory.",
         "クライアントがサーバーのウィンドウを長く 0 のままにし、レスポンスをメモリに溜めさせた。",
         ("zero_window_seconds",)),
    # ---- capture.*, tls.*: what the source could not read -------------------------------------
    Rule("capture.damage", W, "capture damaged", "",
         "Part of the capture could not be read as sent (lost or damaged packets).",
         "キャプチャの一部を送られたとおりに読めなかった (パケットの欠落や破損)。"),
    Rule("capture.note", N, "note from the source", "",
         "Something the source noticed that is not a problem of the traffic.",
         "通信の問題ではないが、入力元が気づいたこと。"),
    Rule("capture.gap", W, "bytes missing from the capture", "",
         "Some bytes of a TCP stream were never captured; decoding resumed at the next provable frame boundary.",
         "TCP ストリームの一部のバイトがキャプチャされておらず、次に確かめられるフレーム境界から復号を再開した。"),
    Rule("capture.unframed-bytes", W, "bytes that are not HTTP/2 frames", "RFC 9113 §4.1",
         "Bytes were skipped because they do not form HTTP/2 frames.",
         "HTTP/2 フレームにならないバイトを読み飛ばした。"),
    Rule("capture.unfinished-frame", W, "frame cut short", "",
         "A frame was not complete when its side closed or the capture ended.",
         "その側が閉じた時、またはキャプチャが終わった時にフレームが完全でなかった。"),
    Rule("capture.unfinished-header-block", W, "header block cut short", "RFC 9113 §6.10",
         "The capture ends inside a header block (no END_HEADERS yet).",
         "キャプチャがヘッダーブロックの途中 (END_HEADERS の前) で終わっている。"),
    Rule("capture.midstream", N, "capture starts mid-connection", "RFC 7541 §2.3.2",
         "The connection began before the capture: header fields that refer to earlier ones show as unknown.",
         "キャプチャ開始前にコネクションが始まっていたため、それ以前のフィールドを参照するヘッダーは不明と表示される。"),
    Rule("capture.snaplen-cut", W, "packets cut by the snap length", "",
         "Packets were captured shorter than they were sent (the snap length); their missing bytes cannot be decoded.",
         "パケットが送られた長さより短くキャプチャされた (スナップ長)。欠けたバイトは復号できない。"),
    Rule("capture.ip-fragment", W, "IP fragments that never made a datagram", "RFC 791 §3.2",
         "IP fragments were captured that never added up to a whole datagram; its TCP bytes are lost.",
         "IP フラグメントが揃わずデータグラムにならなかった。その TCP のバイトは失われた。"),
    Rule("capture.tcp-impossible-sequence", W, "impossible TCP sequence numbers", "RFC 9293 §3.4",
         "TCP segments carry sequence numbers that cannot be placed in their stream; they were skipped.",
         "TCP セグメントのシーケンス番号をストリーム上に置けないため読み飛ばした。"),
    Rule("capture.tcp-impossible-ack", W, "impossible TCP acknowledgements", "RFC 9293 §3.4",
         "A side acknowledged bytes its peer never sent: the capture's sequence numbers are damaged.",
         "相手が送っていないバイトへの確認応答があった。キャプチャのシーケンス番号が壊れている。"),
    Rule("capture.tcp-retransmission-differs", W, "a retransmission with other bytes", "RFC 9293 §3.10.7",
         "A segment was sent again with different bytes; the first copy was kept.",
         "セグメントが異なる内容で再送された。最初の内容を採用した。"),
    Rule("capture.tcp-acked-unseen", W, "acknowledged bytes the capture never holds", "",
         "The peer acknowledged bytes the capture never saw: they were lost by the capture, not the network.",
         "相手が確認応答したバイトがキャプチャにない。ネットワークではなくキャプチャで失われた。"),
    Rule("capture.linktype-mismatch", W, "a link type whose packets do not parse", "",
         "The capture names a supported link type, but none of its packets hold IP under it.",
         "対応しているリンク種別だが、そのパケットから IP を読み取れなかった。"),
    Rule("capture.linktype-unsupported", W, "link type not supported", "",
         "Packets of a link type h2inspect cannot read were skipped.",
         "h2inspect が読めないリンク種別のパケットを読み飛ばした。"),
    Rule("capture.malformed-ip", W, "IP or TCP headers that do not parse", "RFC 791, RFC 9293",
         "Packets with IP or TCP headers that do not parse were skipped.",
         "IP または TCP ヘッダーを解析できないパケットを読み飛ばした。"),
    Rule("capture.cut-short", W, "capture file cut short", "",
         "The capture file ends in the middle of a record, or its compressed stream is cut short.",
         "キャプチャファイルが記録の途中で終わっているか、圧縮ストリームが途中で切れている。"),
    Rule("capture.undecided-gap", W, "bytes lost before the protocol was known", "",
         "Bytes were lost before h2inspect could tell what the connection carries; it is not decoded.",
         "コネクションの中身を判別する前にバイトが失われたため、復号していない。"),
    Rule("capture.upgrade-unanswered", W, "an h2c Upgrade never answered", "RFC 7540 §3.2",
         "The server never answered the client's h2c Upgrade; the bytes held for it were let go.",
         "サーバーがクライアントの h2c Upgrade に応答しなかった。そのために保持していたバイトは手放した。"),
    Rule("tls.decrypted", N, "TLS decrypted", "RFC 8446",
         "The TLS connection was decrypted with the secrets in the key log.",
         "TLS コネクションをキーログの秘密情報で復号した。"),
    Rule("tls.not-decrypted", W, "TLS not decrypted", "RFC 8446",
         "A TLS connection could not be read: give the key log the client wrote (SSLKEYLOGFILE).",
         "TLS コネクションを読めなかった。クライアントが書き出したキーログ (SSLKEYLOGFILE) を指定すること。"),
    Rule("tls.gap", W, "TLS bytes missing", "RFC 8446 §5",
         "Bytes of a TLS stream are missing, so its records cannot be decrypted past that point.",
         "TLS ストリームのバイトが欠けており、それ以降のレコードは復号できない。"),
    # ---- proxy.*: what the proxy itself met (relay, TLS legs, forward mode, decoding) ------------
    Rule("proxy.upstream-refused", E, "upstream refused the connection", "RFC 9293 §3.5.2",
         "Nothing listens on the upstream's port: it answered the proxy's SYN with a reset, and the proxy reset "
         "the client's connection.",
         "上流のポートで待ち受けているものがない。上流はプロキシの SYN にリセットで応え、プロキシはクライアントの"
         "コネクションをリセットした。"),
    Rule("proxy.upstream-unreachable", E, "upstream not reachable", "",
         "The proxy could not reach the upstream (no route to it, or no address for its name); the client's "
         "connection was reset.",
         "プロキシは上流に到達できなかった (経路がない、または名前に対応するアドレスがない)。クライアントの"
         "コネクションはリセットされた。"),
    Rule("proxy.upstream-timeout", E, "upstream did not answer", "",
         "The upstream did not accept the proxy's connection in time; the client's connection was reset.",
         "上流が時間内にプロキシの接続を受け付けなかった。クライアントのコネクションはリセットされた。"),
    Rule("proxy.upstream-tls", E, "TLS with the upstream failed", "RFC 8446 §6.2",
         "The TLS handshake with the upstream failed (its certificate not trusted, or TLS refused): give "
         "--upstream-ca, or --insecure for a test server.",
         "上流との TLS ハンドシェイクに失敗した (証明書が信頼できない、または TLS が拒否された)。--upstream-ca を"
         "指定するか、テスト用のサーバーなら --insecure を使うこと。"),
    Rule("proxy.alpn-mismatch", W, "upstream chose another protocol", "RFC 7301 §3.2",
         "The upstream negotiated an ALPN protocol other than the client's, so the two may not understand "
         "each other.",
         "上流がクライアントとは異なる ALPN プロトコルを選んだため、両者が互いを理解できない可能性がある。"),
    Rule("proxy.client-reset", W, "the client reset the connection", "RFC 9293 §3.5.2",
         "The client ended its connection with a TCP reset; the proxy passed it on to the upstream.",
         "クライアントが TCP リセットでコネクションを終えた。プロキシはそれを上流に伝えた。"),
    Rule("proxy.upstream-reset", W, "the upstream reset the connection", "RFC 9293 §3.5.2",
         "The upstream ended its connection with a TCP reset; what it had sent before was still written to "
         "the client.",
         "上流が TCP リセットでコネクションを終えた。それまでに上流が送ったものはクライアントに書き出した。"),
    Rule("proxy.side-closed", W, "bytes for a side already closed", "RFC 9293 §3.6",
         "One side kept sending after the other had closed; those bytes could not be delivered and were dropped.",
         "一方の側が閉じた後も、もう一方が送り続けた。そのバイトは届けられず破棄した。"),
    Rule("proxy.client-rejected-ca", E, "the client does not trust the proxy's CA", "RFC 8446 §6.2",
         "The client refused the certificate the proxy made for it (curl exit 60, alert unknown_ca): make it "
         "trust the proxy's ca.pem (curl --cacert).",
         "クライアントがプロキシの作った証明書を拒否した (curl の終了コード 60、unknown_ca アラート)。"
         "プロキシの ca.pem を信頼させること (curl --cacert)。"),
    Rule("proxy.client-tls-failed", W, "TLS handshake with the client failed", "RFC 8446 §4",
         "A client's TLS handshake with the proxy did not complete (it spoke no TLS, shared no version or cipher, "
         "or gave up).",
         "クライアントとプロキシの TLS ハンドシェイクが完了しなかった (TLS を話していない、共通のバージョンや"
         "暗号スイートがない、または途中でやめた)。"),
    Rule("proxy.bad-sni", W, "TLS server name refused", "RFC 6066 §3",
         "The client's server name (SNI) is not a host name the proxy can make a certificate for: the handshake "
         "was refused.",
         "クライアントのサーバー名 (SNI) はプロキシが証明書を作れるホスト名ではないため、ハンドシェイクを拒否した。"),
    Rule("proxy.decoding-paused", W, "decoding paused", "",
         "More bytes waited to be decoded than the proxy holds: decoding of the connection paused while the "
         "relay went on.",
         "復号待ちのバイトがプロキシの保持する上限を超えたため、中継は続けたまま、そのコネクションの復号を"
         "一時停止した。"),
    Rule("proxy.decoding-resumed", W, "decoding resumed after a pause", "",
         "Decoding of the connection went on; the bytes relayed during the pause are not decoded (a recording "
         "keeps them).",
         "コネクションの復号を再開した。停止中に中継したバイトは復号していない (記録には残る)。"),
    Rule("proxy.decoding-stopped", W, "decoding stopped", "",
         "Decoding the connection cost too much CPU for the relay to keep up: from here on it is relayed, not "
         "decoded.",
         "コネクションの復号に CPU がかかりすぎ、中継が追いつかなくなるため、以降は復号せずに中継だけ行う。"),
    Rule("proxy.http1", N, "HTTP/1.1, not HTTP/2", "RFC 9112",
         "The client spoke HTTP/1.1: the connection is relayed and shown as such, not decoded as HTTP/2.",
         "クライアントは HTTP/1.1 を話した。コネクションは中継してそのまま表示し、HTTP/2 としては復号しない。"),
    Rule("proxy.not-http", W, "neither HTTP/2 nor HTTP/1.1", "RFC 9113 §3.4",
         "The client's first bytes are neither the HTTP/2 preface nor an HTTP/1.1 request: relayed, not decoded.",
         "クライアントの最初のバイトは HTTP/2 のプリフェイスでも HTTP/1.1 のリクエストでもない。中継はするが"
         "復号しない。"),
    Rule("proxy.tunnel-untouched", N, "tunnel relayed untouched", "RFC 9110 §9.3.6",
         "A CONNECT tunnel to a host that is not intercepted was relayed as it came; its bytes are not decoded.",
         "傍受の対象でないホストへの CONNECT トンネルは、そのまま中継した。その中身は復号しない。"),
    Rule("proxy.forward-timeout", W, "forward-proxy client sent nothing", "",
         "A client of the forward proxy sent no request head (or nothing into its tunnel) in time, and was closed.",
         "フォワードプロキシのクライアントが時間内にリクエストヘッダー (またはトンネルへのバイト) を送らなかった"
         "ため、閉じた。"),
    Rule("proxy.forward-bad-request", W, "request the forward proxy cannot serve", "RFC 9110 §9.3.6",
         "The request head is not a CONNECT or an absolute http:// URL the forward proxy can follow: answered 400.",
         "リクエストヘッダーが、フォワードプロキシの扱える CONNECT や絶対形式の http:// URL ではないため、"
         "400 で応答した。"),
    Rule("proxy.forward-auth", W, "proxy authentication refused", "RFC 9110 §15.5.8",
         "A request came without the Proxy-Authorization that --auth asks for: answered 407.",
         "--auth が求める Proxy-Authorization のないリクエストが来たため、407 で応答した。"),
)

RULES: dict[str, Rule] = {r.id: r for r in _TABLE}
"""Every rule by id, in the order of the table (families together)."""

FAMILIES = ("h2", "grpc", "flow", "abuse", "capture", "tls", "proxy")


def rule(rule_id: str) -> Rule:
    """The rule with this id; an unknown id is a programming error."""
    return RULES[rule_id]
