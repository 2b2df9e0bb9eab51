"""Each rule's title and each finding's message in Japanese, read back from the English line.

A checker says what it found in one English line with its numbers (`report(rule id,
message)`), and that line is the `check` contract. The Japanese is made from it: every
rule has forms, pairs of an English template and a Japanese one with the same {slots}
(`RULE_WORDS`). `message_in("ja", rule, message)` finds the form the line was made
from, takes the slots' values out of it and puts them in the Japanese template.

A slot is `{name}` (a number, a stream id, a header name, a value from the wire: the same
in both languages) or `{name:kind}`, whose value is words again: it is read through the
forms of its kind (`PIECES`: a side, a window, an HPACK error...), and a kind in `LISTS`
is a list of such pieces. A value quoted from outside (an operating system's or a
library's own error text) is kept as it came, in 「」.

`tests/test_finding_messages.py` checks that every rule has a title and forms, that both
templates of a form have the same slots, that every message a checker can make in the
source matches a form of its rule, and the tests' own findings are translated as they
are made (see `conftest.py`), so a new message without its Japanese fails there.
"""

from __future__ import annotations

import re
from functools import cache

Form = tuple[str, str]

# ---- the words a slot's value may be --------------------------------------------------------

PIECES: dict[str, tuple[Form, ...]] = {
    "side": (("client", "クライアント"), ("server", "サーバー")),
    "window": (("connection", "コネクション"), ("stream {stream}", "ストリーム {stream}")),
    "state": (("idle", "アイドル（idle）"), ("reserved (local)", "予約済み（reserved (local)）"),
              ("reserved (remote)", "予約済み（reserved (remote)）"), ("open", "オープン（open）"),
              ("half-closed (local)", "ハーフクローズ（half-closed (local)）"),
              ("half-closed (remote)", "ハーフクローズ（half-closed (remote)）"), ("closed", "クローズ（closed）")),
    "message_label": (("request", "リクエスト"), ("response", "レスポンス")),
    "style": (("unary", "unary"), ("server-streaming", "server-streaming"), ("client-streaming", "client-streaming"),
              ("bidi-streaming", "bidi-streaming")),
    "parity": (("an even", "偶数の"), ("an odd", "奇数の")),
    "how_much": (("{count} bytes fewer", "{count} バイト少ない"), ("{count} bytes more", "{count} バイト多い")),
    "still_open": (("promised but never sent", "予告されたまま送られなかった"), ("open both ways", "双方向ともオープン"
                                                                                     "のままだった"),
                   ("waiting for the server's END_STREAM", "サーバーの END_STREAM を待っていた"),
                   ("waiting for the client's END_STREAM", "クライアントの END_STREAM を待っていた")),
    "until": (("until frame {frame}", "フレーム {frame} まで"), ("to the end", "最後まで")),
    "ending": (("closed ({how})", "閉じる（{how}）"), ("capture ended", "キャプチャが終わる")),
    "reading": (("an h2c Upgrade request", "h2c Upgrade リクエスト"), ("its first bytes", "最初のバイト")),
    # HPACK: what the decoder could not read in a field block (http2/hpack_decoder.py)
    "hpack": (("{what:hpack_error} at byte {offset} of the field block", "{what}（フィールドブロックの {offset} "
                                                                         "バイト目）"),
              ("table size update to {size} is past this tool's limit of {limit} bytes (TABLE_SIZE_LIMIT): the newest "
               "{newest} bytes of entries are kept, older ones will show as unknown",
               "テーブルサイズ更新 {size} がこのツールの上限 {limit} バイト（TABLE_SIZE_LIMIT）を超えている。新しい"
               " {newest} バイト分のエントリーだけを保持し、古いものは不明と表示する"),
              ("the header list is past this tool's limit of {limit} bytes (HEADER_LIST_LIMIT): {kept} fields kept, "
               "{more} more ({size} bytes) decoded for the table but not kept",
               "ヘッダーリストがこのツールの上限 {limit} バイト（HEADER_LIST_LIMIT）を超えている。{kept} "
               "個のフィールドを"
               "保持し、残り {more} 個（{size} バイト）はテーブルのために復号したが保持していない"),
              ("{count} more table size updates than the {listed} listed",
               "テーブルサイズ更新が、挙げた {listed} 個よりさらに {count} 個ある"),
              ("table state {state} is no longer kept (released)", "テーブル状態 {state} "
                                                                   "はもう保持されていない（解放済み）")),
    "hpack_error": (("integer runs past the end", "整数がブロックの終わりを越えている"),
                    ("integer too large", "整数が大きすぎる"), ("string expected", "文字列があるべき位置にない"),
                    ("string of {length} bytes runs past the end", "{length} "
                                                                   "バイトの文字列がブロックの終わりを越えている"),
                    ("bad Huffman string ({why:huffman})", "Huffman 文字列が不正（{why}）"),
                    ("index {index} is past the end of the dynamic table", "インデックス {index} "
                                                                           "が動的テーブルの範囲外"),
                    ("index 0 is not allowed", "インデックス 0 は使えない"),
                    ("table size update after a field", "フィールドの後にテーブルサイズ更新がある"),
                    ("table size update to {size} exceeds the SETTINGS_HEADER_TABLE_SIZE of {limit}",
                     "テーブルサイズ更新 {size} が SETTINGS_HEADER_TABLE_SIZE の {limit} を超えている")),
    "huffman": (("Invalid Huffman string", "不正な符号"), ("Incomplete Huffman string", "符号が途中で切れている")),
    # a payload too short or malformed for its fields (http2/payloads.py FieldError)
    "field": (("PADDED flag set but no Pad Length byte", "PADDED フラグがあるのに Pad Length のバイトがない"),
              ("Pad Length {pad} exceeds the payload ({length} bytes)",
               "Pad Length {pad} がペイロード（{length} バイト）を超えている"),
              ("payload too short for its fields", "ペイロードがフィールドに対して短すぎる"),
              ("payload too short for its fixed fields", "ペイロードが固定フィールドに対して短すぎる"),
              ("SETTINGS length {length} is not a multiple of 6", "SETTINGS の長さ {length} が 6 の倍数でない"),
              ("type {type} carries no field block", "タイプ {type} はフィールドブロックを運ばない")),
    # TLS (tls/connection.py): a connection in a few words, and why it could not be read
    "tls": (("{version}, ALPN offered {names}", "{version}、ALPN 提示のみ {names}"),
            ("{version}, ALPN none", "{version}、ALPN なし"), ("{version}, ALPN {alpn}", "{version}、ALPN {alpn}")),
    "tls_problem": (("the traffic is encrypted and no key log was given", "通信は暗号化されており、"
                                                                          "キーログが指定されていない"),
                    ("no secrets for this connection in the key log", "キーログにこのコネクションの秘密情報がない"),
                    ("the capture starts after the TLS handshake", "キャプチャが TLS "
                                                                   "ハンドシェイクの後から始まっている"),
                    ("a record would not decrypt with the logged secrets (wrong key log?)",
                     "記録された秘密情報でレコードを復号できなかった（キーログが違う？）"),
                    ("cipher suite 0x{suite} is not one h2inspect decrypts (AES-GCM and ChaCha20-Poly1305 only)",
                     "暗号スイート 0x{suite} は h2inspect が復号できるもの（AES-GCM と ChaCha20-Poly1305 のみ）"
                     "ではない"),
                    ("no application data was decrypted", "アプリケーションデータを 1 つも復号できなかった")),
    "keylog_hint": (("", ""),
                    (" (give --keylog FILE: the secrets the client logged, e.g. with SSLKEYLOGFILE)",
                     "（--keylog FILE で、クライアントが SSLKEYLOGFILE などで記録した秘密情報を指定すること）")),
    # what the capture layer could not read (capture/damage.py, capture/tcp.py, capture/layers.py)
    "packets": (("", ""), ("{count} packets ({first} to {last}): ", "パケット {count} 個（{first} から {last}）：")),
    "bytes": (("1 byte", "1 バイト"), ("{count} bytes", "{count} バイト")),
    "first": (("the first: {example:example}", "最初のもの：{example}"), ("{example:example}", "{example}")),
    "example": (("{saved} of {length} bytes saved", "{length} バイト中 {saved} バイトを保存"),
                ("identification {id}, packets {packets:packet_list}", "識別番号 {id}、パケット {packets}"),
                ("packet {packet}: sequence number {seq}, {where:seq_where}",
                 "パケット {packet}：シーケンス番号 {seq}、{where}"),
                ("packet {packet}: acknowledgement {ack}, the other side's bytes seen run from {start} to {end}",
                 "パケット {packet}：確認応答番号 {ack}。相手側のバイトは {start} から {end} まで見えている"),
                ("packet {packet}: acknowledgement {ack}, the last byte seen is {last}",
                 "パケット {packet}：確認応答番号 {ack}。見えている最後のバイトは {last}"),
                ("packet {packet}: sequence number {seq}", "パケット {packet}：シーケンス番号 {seq}"),
                ("header length {ihl}, total length {total}", "ヘッダー長 {ihl}、全長 {total}"),
                ("data offset {offset}, less than its 5 fixed words", "データオフセット {offset}（固定部分の 5 "
                                                                      "ワードより小さい）"),
                ("{size} header bytes, more than the IP packet holds", "ヘッダー {size} バイト（IP "
                                                                       "パケットの大きさを超える）")),
    "packet_list": (("{packets}, ...", "{packets}, …"), ("{packets}", "{packets}")),
    "seq_where": (("{count} bytes past the next one expected, more than any TCP window",
                   "次に期待するバイトより {count} バイト先で、どの TCP ウィンドウよりも大きい"),
                  ("before the connection's first byte at {first}", "コネクションの最初のバイト {first} より前"),
                  ("before the first byte the capture holds, at {first}: reordered or reversed packets",
                   "キャプチャにある最初のバイト {first} より前。パケットの順序が入れ替わっているか逆になっている")),
    "header_kind": (("an IPv4 header", "IPv4 ヘッダー"), ("an IPv6 header", "IPv6 ヘッダー"), ("a TCP header", "TCP "
                                                                                                       "ヘッダー")),
    "cut_short": (("{where:cut_where}: {why:inflated}", "{where}：{why}"), ("{where:cut_where}", "{where}")),
    "cut_where": (("unreadable after packet {packet} ({why:pcapng})", "パケット {packet} の後が読めない（{why}）"),
                  ("cut short after packet {packet} ({count} trailing bytes are not a whole record)",
                   "パケット {packet} の後で切れている（末尾の {count} バイトは記録 1 つ分に満たない）"),
                  ("unreadable after packet {packet} (a record of {length} bytes, more than any packet)",
                   "パケット {packet} の後が読めない（{length} バイトの記録で、どのパケットより大きい）"),
                  ("cut short inside packet {packet} ({saved} of {length} bytes)",
                   "パケット {packet} の途中で切れている（{length} バイト中 {saved} バイト）"),
                  ("cut short after packet {packet}", "パケット {packet} の後で切れている")),
    "pcapng": (("a section header without a byte-order magic", "バイトオーダーのマジックがないセクションヘッダー"),
               ("a section header block of {length} bytes", "{length} バイトのセクションヘッダーブロック"),
               ("a section header block cut short", "途中で切れたセクションヘッダーブロック"),
               ("a section of pcapng version {version}, not 1", "pcapng バージョン {version}（1 ではない）"
                                                                "のセクション"),
               ("a section header block whose two lengths differ", "2 つの長さが食い違うセクションヘッダーブロック"),
               ("{count} trailing bytes are not a whole block", "末尾の {count} バイトはブロック 1 つ分に満たない"),
               ("a block of {length} bytes (type {type})", "{length} バイトのブロック（タイプ {type}）"),
               ("a block cut short ({saved} of {length} bytes)", "途中で切れたブロック（{length} バイト中 {saved} "
                                                                 "バイト）"),
               ("a block whose two lengths differ (type {type})", "2 つの長さが食い違うブロック（タイプ {type}）"),
               ("an interface description block too short for its fields", "フィールドに対して短すぎるインターフェース"
                                                                           "記述ブロック"),
               ("a packet on interface {iface}, which its section does not describe ({count} described)",
                "セクションに記述のないインターフェース {iface} のパケット（記述されているのは {count} 個）"),
               ("a packet block whose {length} captured bytes overrun the block",
                "キャプチャした {length} バイトがブロックをはみ出すパケットブロック"),
               ("{why}", "「{why}」")),
    "inflated": (("a gzip stream cut short: it ends without its end marker after {size} inflated bytes",
                  "途中で切れた gzip ストリーム：伸張した {size} バイトの後、終端の印がない"),
                 ("a damaged gzip stream after {size} inflated bytes ({why})",
                  "伸張した {size} バイトの後で gzip ストリームが壊れている（「{why}」）")),
    # the proxy: why a peer could not be reached (proxy/relay.py _describe), a request head it could not
    # read (proxy/forward.py), a TLS server name it cannot make a certificate for (proxy/server_names.py)
    "describe": (("certificate verify failed: {why}", "証明書の検証に失敗した（「{why}」）"), ("TLS: {why}", "TLS："
                                                                                              "「{why}」"),
                 ("refused the connection", "接続を拒否した"), ("did not answer within {seconds} s", "{seconds} s "
                                                                                              "以内に応答しなかった"),
                 ("already reset when a FIN was passed on", "FIN を伝えた時にはもうリセットされていた"),
                 # the operating system's words for the errors a relayed connection meets
                 ("Connection reset by peer", "相手が接続をリセットした"), ("Broken pipe", "相手がもう閉じていた"),
                 ("Connection timed out", "接続がタイムアウトした"), ("No route to host", "ホストへの経路がない"),
                 ("Network is unreachable", "ネットワークに到達できない"),
                 ("Software caused connection abort", "接続が中断された"),
                 ("{why}", "「{why}」")),
    "bad_head": (("no end of the request head in {size} bytes", "{size} バイト以内にリクエストヘッドの終わりがない"),
                 ("not an HTTP request: {data}", "HTTP リクエストではない：{data}"),
                 ("not an HTTP/1.1 request line: {line}", "HTTP/1.1 のリクエスト行ではない：{line}"),
                 ("not a header line: {line}", "ヘッダー行ではない：{line}"),
                 ("CONNECT target without a port: {target}", "ポートのない CONNECT の宛先：{target}"),
                 ("not a HOST:PORT target: {target}", "HOST:PORT の形の宛先ではない：{target}"),
                 ("{method} {target}: a forward proxy needs CONNECT or an absolute http:// URL",
                  "{method} {target}：フォワードプロキシには CONNECT か http:// の絶対 URL が必要"),
                 ("{why}", "「{why}」")),
    "server_name": (("TLS server name {name} is not ASCII (international names are sent as IDNA A-labels, xn--...)",
                     "TLS サーバー名 {name} が ASCII ではない（国際化ドメイン名は IDNA の A ラベル xn--... で送る）"),
                    ("TLS server name {name} is longer than a host name can be ({length} characters; at most {most})",
                     "TLS サーバー名 {name} がホスト名として長すぎる（{length} 文字。最大 {most}）"),
                    ("TLS server name {name} is not a host name (label {label}: 1 to 63 letters, digits and inner "
                     "hyphens)",
                     "TLS サーバー名 {name} はホスト名ではない（ラベル {label}：英字・数字・内側のハイフンで 1 から 63 "
                     "文字）"),
                    ("TLS server name {name} has a label that is not valid IDNA ({label})",
                     "TLS サーバー名 {name} に IDNA として正しくないラベルがある（{label}）")),
    "none_or": (("none", "なし"), ("{value}", "{value}")),
    "peer_side": (("client", "クライアント"), ("upstream server", "上流のサーバー")),
    "waited_for": (("bytes into its tunnel", "トンネルへのバイト"), ("request head", "リクエストヘッド")),
    "kept": (("are in the recording only", "記録にだけ残っている"),
             ("were not decoded (use --record to keep every byte)", "復号していない（すべてのバイトを残すには --record "
                                                                    "を使う）")),
    "kept_still": (("the recording keeps every byte", "記録はすべてのバイトを残している"),
                   ("use --record to keep every byte", "すべてのバイトを残すには --record を使う")),
    # gRPC server reflection (rpc/reflection.py, reflection_protocol.py, schema.py): what it described,
    # why it could not be asked or read
    "reflect_summary": (("{count} service ({names:none_or}) by grpc.reflection.{version}",
                         "grpc.reflection.{version} でサービス {count} 個（{names}）"),
                        ("{count} services ({names:none_or}) by grpc.reflection.{version}",
                         "grpc.reflection.{version} でサービス {count} 個（{names}）")),
    "reflect_error": (("{target}: no reflection answer within {seconds} s", "{target}：{seconds} s "
                                                                            "以内にリフレクションの応答がない"),
                      ("{target}: cannot be reached (UNAVAILABLE)", "{target}：接続できない（UNAVAILABLE）"),
                      ("{target}: cannot be reached ({details})", "{target}：接続できない（「{details}」）"),
                      ("{target}: reflection failed with {code} ({details})",
                       "{target}：リフレクションが {code} で失敗した（「{details}」）"),
                      ("{target}: reflection failed with {code}", "{target}：リフレクションが {code} で失敗した"),
                      ("{target}: showed no certificate", "{target}：証明書を示さなかった"),
                      ("{target}: its certificate names no host to check it against",
                       "{target}：証明書に照合できるホスト名がない"),
                      ("{target}: {why:reflect_inner}", "{target}：{why}"),
                      ("{why:reflect_inner}", "{why}")),
    "reflect_inner": (("no server reflection (UNIMPLEMENTED for grpc.reflection.v1 and v1alpha)",
                       "サーバーリフレクションがない（grpc.reflection.v1 も v1alpha も UNIMPLEMENTED）"),
                      ("list_services answered error {code} ({message})", "list_services がエラー {code}（{message}）"
                                                                          "を返した"),
                      ("list_services answered {kind:answer_kind}, not a service list",
                       "list_services がサービス一覧ではなく{kind}を返した"),
                      ("still naming imports it has not sent after {count} requests",
                       "{count} 回問い合わせても、まだ送っていないインポートを挙げ続けている"),
                      ("listed {services} but described none of them: {problem:descriptor_problem}",
                       "{services} を挙げたが、どれも記述しなかった：{problem}"),
                      ("listed {services} but described none of them", "{services} を挙げたが、どれも記述しなかった"),
                      ("asked for {what:asked_for}, it answered {kind:answer_kind}",
                       "{what}を問い合わせたが、{kind}が返った"),
                      ("the reflection stream ended without an answer",
                       "リフレクションのストリームが応答なしで終わった"),
                      ("reflection answered what cannot be read: {why:protocol_error}",
                       "リフレクションの応答を読めない：{why}")),
    "asked_for": (("the file of {name}", "{name} のファイル"), ("{name}", "{name}")),
    "answer_kind": (("services", "サービス一覧"), ("files", "ファイル"), ("error", "エラー"), ("other", "ほかの答え")),
    "protocol_error": (("{what:protobuf_part} is not protobuf ({why})", "{what}が protobuf ではない（「{why}」）"),
                       ("{what:protobuf_part} is not a string", "{what}が文字列ではない"),
                       ("{what:protobuf_part} is not UTF-8", "{what}が UTF-8 ではない"),
                       ("field {number} of the response is not a message", "応答のフィールド {number} "
                                                                           "がメッセージではない"),
                       ("the response carries no answer (no file, service list or error)",
                        "応答に答えがない（ファイルもサービス一覧もエラーもない）"),
                       ("file_descriptor_proto is not bytes", "file_descriptor_proto がバイト列ではない"),
                       ("a listed service is not a message", "挙げられたサービスがメッセージではない")),
    "protobuf_part": (("the response", "応答"), ("a listed service", "挙げられたサービス"), ("a service name", "サービ"
                                                                                                    "ス名"),
                      ("{field}", "{field}")),
    "descriptor_problem": (("a file descriptor of {size} bytes that does not parse", "解析できない {size} "
                                                                                     "バイトのファイル記述子"),
                           ("a file descriptor of {size} bytes without a file name", "ファイル名のない {size} "
                                                                                     "バイトのファイル記述子"),
                           ("{what:asked_for}: error {code} ({message})", "{what}：エラー {code}（{message}）"),
                           ("{name}: {why}", "{name}：「{why}」")),
}

#: kinds whose value is a list of pieces: (separator in English, the kind of each piece, separator in Japanese)
LISTS: dict[str, tuple[str, str, str]] = {"hpack_list": ("; ", "hpack", "。"),
                                          "tls_problems": ("; ", "tls_problem", "。")}

# ---- every rule: its title and the forms of its messages ---------------------------------------

_STATE = (("{type} from the {side:side} on a stream that is {state:state}",
           "{side}からの {type} が、{state}状態のストリームに届いた"),)
_HPACK = (("HPACK: header block of {size} bytes in {frames} frames is over the {limit} MiB this tool decodes; its "
           "headers are not shown and the dynamic table is unknown from here",
           "HPACK：{frames} フレームにわたる {size} バイトのヘッダーブロックは、このツールが復号する {limit} MiB "
           "を超えている。"
           "ヘッダーは表示せず、ここから先の動的テーブルは不明"),
          ("HPACK: {errors:hpack_list}", "HPACK：{errors}"))
_FIELD = (("{type}: {error:field}", "{type}：{error}"),)
_OWED = (("the {peer:side} owes {count} {type} ACKs to the {side:side} (limit {limit})",
          "{peer}が{side}に返すべき {type} の ACK が {count} 個たまっている（上限 {limit}）"),)
_REFLECT_FAILED = (("--reflect: {error:reflect_error}; its messages are shown in raw wire format",
                    "--reflect：{error}。メッセージはワイヤー形式のまま表示する"),
                   ("--reflect: {error:reflect_error}; messages are shown in raw wire format",
                    "--reflect：{error}。メッセージはワイヤー形式のまま表示する"),
                   ("--reflect {error:reflect_error}; messages are shown in raw wire format",
                    "--reflect {error}。メッセージはワイヤー形式のまま表示する"))
_UPSTREAM = (("upstream {upstream} {why:describe}; the client's connection is reset",
              "上流のサーバー {upstream}：{why}。クライアントの接続はリセットする"),
             ("forward proxy: {method} {host}:{port}: the target {why:describe}",
              "フォワードプロキシ：{method} {host}:{port}：宛先が{why}"))
_REFUSED = "サーバーがストリーム {stream} を拒否した（クライアントの他のストリーム {count} 個がオープン）"
_UNFRAMED = "{side}からの HTTP/2 フレームにならない {size} バイトを読み飛ばした（パケット {packet} から"

RULE_WORDS: dict[str, tuple[str, tuple[Form, ...]]] = {
    # ---- h2.* ----
    "h2.preface": ("コネクションプリフェイスがない", (
        ("the client did not start with the connection preface", "クライアントがコネクションプリフェイスから始めなかっ"
                                                                 "た"),)),
    "h2.frame-on-idle-stream": ("アイドル状態のストリームへのフレーム", _STATE),
    "h2.frame-after-end-stream": ("END_STREAM の後のフレーム", _STATE),
    "h2.frame-on-closed-stream": ("クローズしたストリームへのフレーム", _STATE),
    "h2.stream-state": ("ストリームの状態で許されないフレーム", _STATE),
    "h2.stream-id-reuse": ("ストリーム ID の再利用", _STATE),
    "h2.stream-id-backwards": ("増えていない新しいストリーム ID", (
        ("stream {stream} opened after stream {last}", "ストリーム {last} の後にストリーム {stream} が開かれた"),)),
    "h2.stream-id-parity": ("偶奇の違うストリーム ID", (
        ("the {side:side} opened stream {stream}, {parity:parity} id", "{side}がストリーム {stream}（{parity} ID）"
                                                                       "を開いた"),)),
    "h2.stream-zero": ("ストリーム 0 へのストリームフレーム", (
        ("{type} on stream 0", "ストリーム 0 に {type} が送られた"),)),
    "h2.connection-frame-on-stream": ("ストリーム上のコネクションフレーム", (
        ("{type} on stream {stream}, not stream 0", "{type} がストリーム 0 ではなくストリーム {stream} に送られた"),)),
    "h2.reserved-bit": ("予約ビットが立っている", (
        ("reserved bit of the stream identifier is set", "ストリーム識別子の予約ビットが 1 になっている"),)),
    "h2.frame-size": ("SETTINGS_MAX_FRAME_SIZE を超えるフレーム", (
        ("frame of {length} bytes exceeds the peer's SETTINGS_MAX_FRAME_SIZE ({limit})",
         "{length} バイトのフレームが相手の SETTINGS_MAX_FRAME_SIZE（{limit}）を超えている"),)),
    "h2.frame-length": ("長さの違うフレーム", (
        ("{type} of {length} bytes (it is {fixed})", "{length} バイトの {type}（決まった長さは {fixed}）"), *_FIELD)),
    "h2.padding": ("ペイロードより長いパディング", (("DATA: {error:field}", "DATA：{error}"), *_FIELD)),
    "h2.priority-self": ("自分自身に依存するストリーム", (
        ("{type} makes stream {stream} depend on itself", "{type} がストリーム {stream} を自分自身に依存させている"),)),
    "h2.continuation-without-block": ("ヘッダーブロックのない CONTINUATION", (
        ("CONTINUATION without a header block in progress", "途中のヘッダーブロックがないのに CONTINUATION "
                                                            "が届いた"),)),
    "h2.continuation-interrupted": ("途中で割り込まれたヘッダーブロック", (
        ("{type} on stream {stream} interrupts the header block of stream {other}",
         "ストリーム {stream} の {type} がストリーム {other} のヘッダーブロックに割り込んだ"),)),
    "h2.settings-length": ("不正な SETTINGS", (
        ("SETTINGS ACK with a payload of {length} bytes", "SETTINGS ACK に {length} バイトのペイロードがある"),
        ("SETTINGS length {length} is not a multiple of 6", "SETTINGS の長さ {length} が 6 の倍数でない"))),
    "h2.settings-value": ("範囲外の SETTINGS の値", (
        ("SETTINGS_ENABLE_PUSH {value} from the {side:side}", "{side}からの SETTINGS_ENABLE_PUSH {value}"),
        ("SETTINGS_MAX_FRAME_SIZE {value} is out of range", "SETTINGS_MAX_FRAME_SIZE {value} が範囲外"),
        ("SETTINGS_INITIAL_WINDOW_SIZE {value} is too large", "SETTINGS_INITIAL_WINDOW_SIZE {value} が大きすぎる"))),
    "h2.settings-unacked": ("確認応答されなかった SETTINGS", (
        ("the {peer:side} never acknowledged {count} SETTINGS from the {side:side}",
         "{peer}が{side}からの SETTINGS {count} 個に最後まで確認応答しなかった"),)),
    "h2.window-update-zero": ("増分 0 の WINDOW_UPDATE", (
        ("WINDOW_UPDATE with an increment of 0", "増分 0 の WINDOW_UPDATE"),)),
    "h2.window-overflow": ("2^31-1 を超えるフロー制御ウィンドウ", (
        ("WINDOW_UPDATE of {increment} takes the {window:window} window to {value}, past 2^31-1",
         "増分 {increment} の WINDOW_UPDATE で{window}のウィンドウが {value} になり、2^31-1 を超えた"),)),
    "h2.data-beyond-window": ("フロー制御ウィンドウを超える DATA", (
        ("the {side:side} sent {over} bytes beyond the {window:window} window",
         "{side}が{window}のウィンドウを {over} バイト超えて送った"),)),
    "h2.max-concurrent-streams": ("SETTINGS_MAX_CONCURRENT_STREAMS を超えるストリーム", (
        ("the client has {count} streams open; the server's SETTINGS_MAX_CONCURRENT_STREAMS is {limit}",
         "クライアントのストリームが {count} 個オープンしている。サーバーの SETTINGS_MAX_CONCURRENT_STREAMS は "
         "{limit}"),)),
    "h2.push-disabled": ("プッシュ無効化後の PUSH_PROMISE", (
        ("PUSH_PROMISE of stream {stream} after the client set SETTINGS_ENABLE_PUSH to 0",
         "クライアントが SETTINGS_ENABLE_PUSH を 0 にした後に、ストリーム {stream} の PUSH_PROMISE が届いた"),)),
    "h2.stream-after-goaway": ("GOAWAY の最終ストリーム ID を超える新しいストリーム", (
        ("the {side:side} opened stream {stream} after the peer's GOAWAY (last stream id {last}, frame {frame})",
         "{side}が相手の GOAWAY（最終ストリーム ID {last}、フレーム {frame}）の後にストリーム {stream} を開いた"),)),
    "h2.goaway-error": ("エラー付きの GOAWAY", (
        ("GOAWAY from the {side:side} with {code}", "{side}からの {code} 付き GOAWAY"),)),
    "h2.pseudo-header": ("疑似ヘッダーの規則違反", (
        ("pseudo-header {name} after regular fields", "通常のフィールドの後に疑似ヘッダー {name} がある"),
        ("pseudo-header {name} in trailers", "トレーラーに疑似ヘッダー {name} がある"),
        ("{name} appears twice", "{name} が 2 回現れる"),
        ("{name} is not a request pseudo-header", "{name} はリクエストの疑似ヘッダーではない"),
        ("request without :method", ":method のないリクエスト"),
        ("CONNECT without :authority", ":authority のない CONNECT"),
        ("CONNECT with {name}", "{name} 付きの CONNECT"),
        ("request without {name}", "{name} のないリクエスト"),
        (":path is empty", ":path が空"),
        ("{name} in a response", "レスポンスに {name} がある"),
        ("response without :status", ":status のないレスポンス"),
        (":status {value} is not a 3-digit code", ":status {value} が 3 桁のコードではない"))),
    "h2.header-uppercase": ("大文字を含むヘッダー名", (
        ("field name {name} has uppercase letters", "フィールド名 {name} に大文字が含まれる"),)),
    "h2.connection-header": ("コネクション固有のヘッダー", (
        ("te: {value} (only 'trailers' is allowed)", "te: {value}（許されるのは 'trailers' だけ）"),
        ("connection-specific field {name}: {value}", "コネクション固有のフィールド {name}: {value}"))),
    "h2.content-length": ("送られた DATA と違う content-length", (
        ("the {side:side} sent {how:how_much} DATA on stream {stream} than its content-length said",
         "{side}がストリーム {stream} で content-length より {how} DATA を送った"),
        ("content-length is not one decimal number", "content-length が 1 つの 10 進数ではない"))),
    "h2.hpack": ("HPACK の復号エラー", _HPACK),
    "h2.hpack-table-size": ("設定を超えるテーブルサイズ更新", _HPACK),
    # ---- grpc.* ----
    "grpc.content-type": ("application/grpc でない content-type", (
        ("request content-type {value} is not application/grpc[+format]",
         "リクエストの content-type {value} は application/grpc[+format] ではない"),
        ("response content-type {value} is not application/grpc",
         "レスポンスの content-type {value} は application/grpc ではない"))),
    "grpc.te-trailers": ("te: trailers のないリクエスト", (
        ("the request for {method} has no te: trailers", "{method} のリクエストに te: trailers がない"),
        ("the request for {method} has te: {value}, not trailers",
         "{method} のリクエストの te が trailers ではなく {value}"))),
    "grpc.method": ("POST でないメソッド", (
        ("{method} called with {verb}, not POST", "{method} が POST ではなく {verb} で呼び出された"),)),
    "grpc.missing-status": ("grpc-status のないレスポンス", (
        ("the server ended {method} without grpc-status (no trailers)",
         "サーバーが grpc-status なしで {method} を終えた（トレーラーがない）"),
        ("the connection closed before {method} got its grpc-status",
         "{method} が grpc-status を受け取る前にコネクションが閉じた"),
        ("the trailers of {method} carry no grpc-status", "{method} のトレーラーに grpc-status がない"))),
    "grpc.status-range": ("0〜16 の範囲外の grpc-status", (
        ("grpc-status {value} is not a code from 0 to 16", "grpc-status {value} は 0 から 16 のコードではない"),)),
    "grpc.message-encoding": ("パーセントエンコードされていない grpc-message", (
        ("grpc-message {value} is not percent-encoded", "grpc-message {value} がパーセントエンコードされていない"),)),
    "grpc.trailers-only-body": ("本体のある Trailers-Only レスポンス", (
        ("a Trailers-Only response (grpc-status with :status) without END_STREAM",
         "END_STREAM のない Trailers-Only レスポンス（:status と grpc-status がある）"),
        ("{count} response message(s) with a Trailers-Only response",
         "Trailers-Only レスポンスにレスポンスメッセージが {count} 個ある"))),
    "grpc.http-status": ("200 以外の HTTP ステータス", (
        ("HTTP status {status} on a gRPC response: the client sees {name} ({code})",
         "gRPC のレスポンスの HTTP ステータスが {status}：クライアントには {name}（{code}）に見える"),)),
    "grpc.message-truncated": ("ストリームの終わりを越えるメッセージ", (
        ("{label:message_label} message #{number} declares {length} bytes; the stream ended after {received}",
         "{label}メッセージ #{number} の長さは {length} バイトだが、ストリームは {received} バイトで終わった"),)),
    "grpc.compressed-without-encoding": ("エンコーディングのない圧縮フラグ", (
        ("{label:message_label} message #{number} has the compressed flag but grpc-encoding is missing",
         "{label}メッセージ #{number} に圧縮フラグがあるが、grpc-encoding が指定されていない"),
        ("{label:message_label} message #{number} has the compressed flag but grpc-encoding is {encoding}",
         "{label}メッセージ #{number} に圧縮フラグがあるが、grpc-encoding は {encoding}"))),
    "grpc.encoding-not-accepted": ("相手が受け付けない grpc-encoding", (
        ("{label:message_label} message #{number} is {encoding}-compressed; the peer accepts nothing",
         "{label}メッセージ #{number} は {encoding} で圧縮されているが、相手は何も受け付けない"),
        ("{label:message_label} message #{number} is {encoding}-compressed; the peer accepts {accepts}",
         "{label}メッセージ #{number} は {encoding} で圧縮されているが、相手が受け付けるのは {accepts}"))),
    "grpc.message-count": ("メソッドに合わないメッセージ数", (
        ("{style:style} method {method} was sent {count} request messages, not 1",
         "{style} のメソッド {method} に、1 個ではなく {count} 個のリクエストメッセージが送られた"),
        ("{style:style} method {method} was answered with {count} response messages, not 1",
         "{style} のメソッド {method} が、1 個ではなく {count} 個のレスポンスメッセージで応答された"))),
    "grpc.deadline": ("grpc-timeout を過ぎて続いた呼び出し", (
        ("{method} ran {seconds} s with grpc-timeout {timeout} s and ended with status {status}",
         "{method} は grpc-timeout {timeout} s に対して {seconds} s 続き、ステータス {status} で終わった"),
        ("{method} ran {seconds} s with grpc-timeout {timeout} s",
         "{method} は grpc-timeout {timeout} s に対して {seconds} s 続いた"))),
    # ---- flow.* ----
    "flow.blocked": ("ウィンドウ 0 で待った送信側", (
        ("the {side:side} waited {ms} ms on a zero {window:window} window (from frame {first}) until the "
         "WINDOW_UPDATE in frame {frame}",
         "{side}は{window}のウィンドウが 0 のため {ms} ms 待った（フレーム {first} から、フレーム {frame} の"
         " WINDOW_UPDATE まで）"),)),
    "flow.window-never-reopens": ("開き直らなかったウィンドウ", (
        ("the {side:side}'s {window:window} window stayed at {value} from frame {frame} to the end, with a stream "
         "still to finish",
         "{side}の{window}のウィンドウがフレーム {frame} から最後まで {value} のままで、"
         "終わっていないストリームが残った"),)),
    "flow.ping-unanswered": ("応答のない PING", (
        ("the {peer:side} never answered the {side:side}'s PING {payload}",
         "{peer}は{side}の PING {payload} に最後まで応答しなかった"),)),
    "flow.stream-open-at-close": ("コネクション終了時にオープンのままのストリーム", (
        ("stream {stream} was {what:still_open} when the connection closed",
         "コネクションが閉じた時、ストリーム {stream} は{what}"),)),
    "flow.stream-open-at-end": ("キャプチャ終了時にオープンのままのストリーム", (
        ("stream {stream} was {what:still_open} at the end of the capture",
         "キャプチャが終わった時、ストリーム {stream} は{what}"),)),
    "flow.refused-stream": ("拒否されたストリーム", (
        ("the server refused stream {stream} with {count} other client stream open "
         "(its SETTINGS_MAX_CONCURRENT_STREAMS is {limit})", _REFUSED + "。SETTINGS_MAX_CONCURRENT_STREAMS は {limit}"),
        ("the server refused stream {stream} with {count} other client streams open "
         "(its SETTINGS_MAX_CONCURRENT_STREAMS is {limit})", _REFUSED + "。SETTINGS_MAX_CONCURRENT_STREAMS は {limit}"),
        ("the server refused stream {stream} with {count} other client stream open", _REFUSED),
        ("the server refused stream {stream} with {count} other client streams open", _REFUSED))),
    # ---- abuse.* ----
    "abuse.rapid-reset": ("高速リセット（rapid reset）", (
        ("the client reset streams faster than a bucket of {burst} refilled at {rate} a second allows (stream "
         "{stream})",
         "クライアントのストリームのリセットが、容量 {burst}・毎秒 {rate} 補充のバケットが許すより速い（ストリーム "
         "{stream}）"),
        ("the client reset {count} of {opened} streams within {seconds} s of opening them (more than {ratio} of at "
         "least {minimum})",
         "クライアントが開いたストリーム {opened} 個のうち {count} 個を {seconds} s 以内にリセットした（最低 {minimum} "
         "個の"
         " {ratio} 超）"),
        ("{running} client streams would still be running (open, or reset before an answer in the last second), over "
         "{factor} x MAX_CONCURRENT_STREAMS {limit}",
         "クライアントのストリーム {running} 個がまだ処理中のはず（オープン中か、直前 1 秒に応答前にリセット）で、"
         "MAX_CONCURRENT_STREAMS {limit} の {factor} 倍を超える"))),
    "abuse.made-you-reset": ("クライアントが引き起こしたサーバーのリセット", (
        ("the server reset stream {stream} ({code}) after the client's invalid frame {cause}, more often than a bucket "
         "of {burst} refilled at {rate} a second allows",
         "クライアントの不正なフレーム {cause} の後にサーバーがストリーム {stream} をリセットした（{code}）。その頻度は"
         "容量 {burst}・毎秒 {rate} 補充のバケットが許すより高い"),)),
    "abuse.continuation-flood": ("CONTINUATION の洪水", (
        ("the header block of stream {stream} has more than {limit} CONTINUATION frames",
         "ストリーム {stream} のヘッダーブロックの CONTINUATION フレームが {limit} 個を超えた"),)),
    "abuse.continuation-small-fragments": ("小さな断片に分かれたヘッダーブロック", (
        ("the header block of stream {stream} came in more than {count} fragments averaging {average} bytes "
         "(under {small})",
         "ストリーム {stream} のヘッダーブロックが、平均 {average} バイト（{small} 未満）の断片 {count} "
         "個超で届いた"),)),
    "abuse.header-block-unterminated": ("終わらないヘッダーブロック", (
        ("the {side:side} closed with the header block of stream {stream} still open after {fragments} fragments "
         "(no END_HEADERS)",
         "{side}は、ストリーム {stream} のヘッダーブロックを {fragments} 個の断片の後も終えないまま閉じた（END_HEADERS "
         "なし）"),)),
    "abuse.hpack-bomb": ("HPACK 爆弾", (
        ("a field block of {encoded} bytes decodes to a header list of {size} bytes ({ratio}x), above the "
         "{side:side}'s limit of {limit}",
         "{encoded} バイトのフィールドブロックが {size} バイト（{ratio} 倍）のヘッダーリストに展開され、{side}の上限 "
         "{limit}"
         " を超えた"),)),
    "abuse.ping-flood": ("PING の洪水", _OWED),
    "abuse.settings-flood": ("SETTINGS の洪水", _OWED),
    "abuse.settings-count": ("1 フレームに多すぎる設定", (
        ("a SETTINGS frame from the {side:side} carries {count} parameters (limit {limit})",
         "{side}からの SETTINGS フレームにパラメータが {count} 個ある（上限 {limit}）"),)),
    "abuse.empty-data": ("空の DATA の洪水", (
        ("{count} DATA frames in a row from the {side:side} on stream {stream} carry no payload and no END_STREAM "
         "(limit {limit})",
         "{side}からストリーム {stream} に、ペイロードも END_STREAM もない DATA フレームが {count} 個続いた（上限 "
         "{limit}）"),)),
    "abuse.priority-flood": ("PRIORITY の洪水", (
        ("{count} PRIORITY frames from the client for {streams} streams (limit {limit} per stream, plus one stream)",
         "ストリーム {streams} 個に対してクライアントから PRIORITY フレームが {count} 個（上限はストリームあたり "
         "{limit}、"
         "1 ストリーム分の余裕つき）"),)),
    "abuse.window-update-flood": ("WINDOW_UPDATE の洪水", (
        ("{count} WINDOW_UPDATE frames from the client for {data} DATA frames and {streams} streams (limit {limit} "
         "per DATA frame)",
         "DATA フレーム {data} 個・ストリーム {streams} 個に対してクライアントから WINDOW_UPDATE フレームが {count} 個"
         "（上限は DATA フレームあたり {limit}）"),)),
    "abuse.slow-read": ("ウィンドウ 0 による低速読み出し", (
        ("the client held the server's {window:window} window at 0 for {seconds} s (from frame {first} {until:until})",
         "クライアントがサーバーの{window}のウィンドウを {seconds} s の間 0 のままにした（フレーム {first} "
         "から{until}）"),)),
    # ---- capture.*, tls.* ----
    "capture.damage": ("キャプチャの破損", (
        ("the kernel dropped {dropped} packets of {received} on {iface} (the capture could not keep up: frames of "
         "those packets are missing)",
         "カーネルが {iface} のパケット {received} 個のうち {dropped} 個を落とした（キャプチャが追いつかなかった。"
         "それらのパケットのフレームは欠けている）"),)),
    "capture.note": ("入力元からの注記", ()),
    "capture.gap": ("キャプチャから欠けたバイト", (
        ("{size} bytes from the {side:side} are missing from the capture (a hole just before packet {packet}); "
         "decoding resumes at the next frame boundary it can prove",
         "{side}からの {size} バイトがキャプチャにない（パケット {packet} の直前の穴）。"
         "確かめられる次のフレーム境界から"
         "復号を再開する"),)),
    "capture.unframed-bytes": ("HTTP/2 フレームでないバイト", (
        ("skipped {size} bytes from the {side:side} that do not form HTTP/2 frames (from packet {packet} until the "
         "{until:side} {ending:ending})", _UNFRAMED + "、{until}が{ending}まで）"),
        ("skipped {size} bytes from the {side:side} that do not form HTTP/2 frames (from packet {packet})",
         _UNFRAMED + "）"))),
    "capture.unfinished-frame": ("途中で切れたフレーム", (
        ("the {side:side} closed with {size} bytes of an unfinished frame",
         "{side}は未完成のフレームの {size} バイトを残して閉じた"),
        ("the capture ends inside a frame from the {side:side} ({size} bytes of it captured)",
         "{side}からのフレームの途中でキャプチャが終わっている（{size} バイトまでキャプチャ済み）"))),
    "capture.unfinished-header-block": ("途中で切れたヘッダーブロック", (
        ("the capture ends inside a header block on stream {stream} (no END_HEADERS)",
         "ストリーム {stream} のヘッダーブロックの途中でキャプチャが終わっている（END_HEADERS なし）"),)),
    "capture.midstream": ("コネクションの途中から始まるキャプチャ", (
        ("the capture starts after this connection did: decoding from the first frame boundary; header fields that "
         "refer to earlier ones show as unknown",
         "キャプチャはこのコネクションが始まった後から始まっている。最初のフレーム境界から復号し、"
         "それ以前のフィールドを"
         "参照するヘッダーは不明と表示する"),)),
    "capture.snaplen-cut": ("スナップ長で切られたパケット", (
        ("{packets:packets}cut by the capture's snap length, {lost:bytes} never saved ({first:first}); what they "
         "carried is a hole in the stream",
         "{packets}キャプチャのスナップ長で切られ、{lost}が保存されなかった（{first}）。運んでいた内容はストリームの"
         "穴になる"),)),
    "capture.ip-fragment": ("データグラムにならなかった IP フラグメント", (
        ("{packets:packets}{version} fragments of TCP that never made a whole datagram, {lost:bytes} ({first:first}): "
         "skipped",
         "{packets}揃わずデータグラムにならなかった TCP の {version} フラグメント、{lost}（{first}）：読み飛ばした"),)),
    "capture.tcp-impossible-sequence": ("ありえない TCP シーケンス番号", (
        ("{packets:packets}{lost:bytes} from {side} at sequence numbers that cannot be placed in its stream "
         "({first:first}); skipped",
         "{packets}{side} からの {lost}は、ストリーム上に置けないシーケンス番号にある（{first}）。読み飛ばした"),)),
    "capture.tcp-impossible-ack": ("ありえない TCP 確認応答", (
        ("{packets:packets}{side} acknowledges bytes the other side could not have sent ({first:first}); ignored",
         "{packets}{side} が、相手が送ったはずのないバイトに確認応答している（{first}）。無視した"),)),
    "capture.tcp-retransmission-differs": ("内容の違う再送", (
        ("{packets:packets}{side} resends sequence numbers already seen, with other bytes ({first:first}): the "
         "sequence "
         "numbers are wrong; {lost:bytes} skipped",
         "{packets}{side} が既に見たシーケンス番号を違う内容で再送している（{first}）。シーケンス番号が誤っている。"
         "{lost}を読み飛ばした"),)),
    "capture.tcp-acked-unseen": ("キャプチャにないバイトへの確認応答", (
        ("{side} acknowledged {lost:bytes} from its peer that the capture does not hold ({first:first}): packets were "
         "lost before they were saved, or their sequence numbers are wrong",
         "{side} が、キャプチャにない相手からの {lost}に確認応答した（{first}）。パケットが保存前に失われたか、"
         "シーケンス番号が誤っている"),)),
    "capture.linktype-mismatch": ("パケットを解析できないリンク種別", (
        ("none of the {count} packets of link type {linktype} holds IPv4 or IPv6 where that link type puts it (the "
         "first is packet {first}): the file's link type is probably wrong, and nothing in them was decoded",
         "リンク種別 {linktype} のパケット {count} 個のどれにも、その種別の位置に IPv4 も IPv6 もない（最初はパケット"
         " {first}）。ファイルのリンク種別がおそらく誤っており、何も復号していない"),)),
    "capture.linktype-unsupported": ("対応していないリンク種別", (
        ("link type {linktype} is not supported: {count} packet skipped (the first is packet {first})",
         "リンク種別 {linktype} には対応していない：パケット {count} 個を読み飛ばした（最初はパケット {first}）"),
        ("link type {linktype} is not supported: {count} packets skipped (the first is packet {first})",
         "リンク種別 {linktype} には対応していない：パケット {count} 個を読み飛ばした（最初はパケット {first}）"))),
    "capture.malformed-ip": ("解析できない IP / TCP ヘッダー", (
        ("{packets:packets}{what:header_kind} that does not parse ({first:first}); skipped",
         "{packets}解析できない{what}（{first}）。読み飛ばした"),)),
    "capture.cut-short": ("途中で切れたキャプチャファイル", (
        ("the capture is {how:cut_short}", "キャプチャは{how}"),)),
    "capture.undecided-gap": ("プロトコルの判別前に失われたバイト", (
        ("{size} bytes from {sender} are missing (a hole just before packet {packet}) while h2inspect was still "
         "reading {what:reading}: the connection is not decoded",
         "h2inspect が{what}を読んでいる間に {sender} からの {size} バイトが欠けた（パケット {packet} の直前の穴）。"
         "このコネクションは復号しない"),)),
    "capture.upgrade-unanswered": ("応答のない h2c Upgrade", (
        ("the server never answered the h2c Upgrade; {size} bytes held for it (over {limit} MiB) were let go and the "
         "connection is not decoded",
         "サーバーが h2c Upgrade に応答しなかった。そのために保持した {size} バイト（{limit} MiB 超）を手放し、"
         "このコネクションは復号しない"),)),
    "grpc.reflection-schema": ("サーバーリフレクションによるスキーマ", (
        ("the schema of this connection comes from the reflection exchange on stream {stream} ({services}): its "
         "messages are decoded by name",
         "このコネクションのスキーマはストリーム {stream} のリフレクションのやり取り（{services}）から得た。"
         "メッセージは名前で復号する"),
        ("--reflect: {address}: {summary:reflect_summary}: messages decoded by name",
         "--reflect：{address}：{summary}。メッセージは名前で復号する"),
        ("--reflect {address}: {summary:reflect_summary}: messages decoded by name ({count} not described: "
         "{problem:descriptor_problem})",
         "--reflect {address}：{summary}。メッセージは名前で復号する（{count} 個は記述なし：{problem}）"),
        ("--reflect {address}: {summary:reflect_summary}: messages decoded by name",
         "--reflect {address}：{summary}。メッセージは名前で復号する"))),
    "grpc.reflection-unavailable": ("サーバーリフレクションがない", _REFLECT_FAILED),
    "grpc.reflection-unreadable": ("読めないリフレクションの応答", (
        ("a reflection response that cannot be read ({why:protocol_error}); it is not used as a schema",
         "読めないリフレクションの応答（{why}）。スキーマには使わない"),
        ("a file descriptor in a reflection response cannot be used: {problem:descriptor_problem}",
         "リフレクションの応答のファイル記述子を使えない：{problem}"), *_REFLECT_FAILED)),
    # ---- proxy.*: what the proxy met as it relayed (proxy/relay.py, forward.py, live_source.py, tls.py) ----
    "proxy.upstream-refused": ("上流のサーバーが接続を拒否した", _UPSTREAM),
    "proxy.upstream-unreachable": ("上流のサーバーに届かない", _UPSTREAM),
    "proxy.upstream-timeout": ("上流のサーバーが応答しない", _UPSTREAM),
    "proxy.upstream-tls": ("上流のサーバーとの TLS の失敗", _UPSTREAM),
    "proxy.alpn-mismatch": ("上流のサーバーが別のプロトコルを選んだ", (
        ("upstream negotiated ALPN {chosen}, the client {offered}",
         "上流のサーバーとは ALPN {chosen}、クライアントとは {offered} で合意した"),)),
    "proxy.client-reset": ("クライアントが接続をリセットした", (
        ("the client reset the connection ({why:describe}); passed on as a reset",
         "クライアントが接続をリセットした（{why}）。リセットとして伝えた"),
        ("the client reset the connection ({why:describe})", "クライアントが接続をリセットした（{why}）"))),
    "proxy.upstream-reset": ("上流のサーバーが接続をリセットした", (
        ("the upstream server reset the connection ({why:describe}) after {size} bytes; all {received} are written to "
         "the client, then its connection is closed",
         "上流のサーバーが {size} バイトの後で接続をリセットした（{why}）。{received} "
         "バイトすべてをクライアントに書いて"
         "から、その接続を閉じる"),
        ("the upstream server reset the connection ({why:describe}) after {size} bytes",
         "上流のサーバーが {size} バイトの後で接続をリセットした（{why}）"))),
    "proxy.side-closed": ("もう閉じた側へのバイト", (
        ("the {side:peer_side}'s side is already closed: bytes still arriving from the other side are dropped, and "
         "that side closed too",
         "{side}の側はもう閉じている：反対側から届き続けるバイトは捨て、その側も閉じた"),)),
    "proxy.client-rejected-ca": ("クライアントがプロキシの CA を信頼していない", (
        ("CONNECT {host}:{port}: the client rejected the certificate the proxy made for {name} ({why}): make the "
         "client trust {ca} (curl --cacert {path})",
         "CONNECT {host}:{port}：プロキシが {name} 用に作った証明書をクライアントが拒否した（「{why}」）。"
         "クライアントに"
         " {ca} を信頼させること（`curl --cacert {path}`）"),
        ("the client {peer} rejected the certificate the proxy made ({why}): make the client trust {ca} (curl "
         "--cacert {path})",
         "クライアント {peer} がプロキシの作った証明書を拒否した（「{why}」）。クライアントに {ca} を信頼させること"
         "（`curl --cacert {path}`）"))),
    "proxy.client-tls-failed": ("クライアントとの TLS ハンドシェイクの失敗", (
        ("CONNECT {host}:{port}: TLS handshake with the client failed ({why})",
         "CONNECT {host}:{port}：クライアントとの TLS ハンドシェイクに失敗した（「{why}」）"),
        ("TLS handshake with the client {peer} failed ({why})",
         "クライアント {peer} との TLS ハンドシェイクに失敗した（「{why}」）"))),
    "proxy.bad-sni": ("拒否した TLS サーバー名", (
        ("CONNECT {host}:{port}: {why:server_name}: TLS handshake refused",
         "CONNECT {host}:{port}：{why}。TLS ハンドシェイクを拒否した"),
        ("{why:server_name}: TLS handshake refused", "{why}。TLS ハンドシェイクを拒否した"),
        ("no certificate could be made for TLS server name {name} ({why}): TLS handshake refused",
         "TLS サーバー名 {name} の証明書を作れなかった（「{why}」）。TLS ハンドシェイクを拒否した"))),
    "proxy.decoding-paused": ("復号の一時停止", (
        ("decoding of this connection paused: {queued} MiB wait to be decoded (limit {limit} MiB per connection, "
         "{total} MiB in all); the relay goes on and the recording keeps every byte",
         "このコネクションの復号を一時停止した：{queued} MiB が復号を待っている（上限はコネクションごとに {limit} MiB、"
         "全体で {total} MiB）。中継は続き、記録はすべてのバイトを残す"),)),
    "proxy.decoding-resumed": ("一時停止の後の復号の再開", (
        ("decoding of this connection resumes; {size} bytes relayed while it was paused {kept:kept}",
         "このコネクションの復号を再開する。一時停止中に中継した {size} バイトは{kept}"),)),
    "proxy.decoding-stopped": ("復号の中止", (
        ("decoding of this connection stopped: {size} bytes took {ms} ms of CPU to decode (the limit is {limit} ms), "
         "which would hold up every connection; its bytes are still relayed ({kept:kept_still})",
         "このコネクションの復号をやめた：{size} バイトの復号に CPU で {ms} ms かかり（上限は {limit} ms）、"
         "すべてのコネクションを止めてしまうため。バイトの中継は続ける（{kept}）"),)),
    "proxy.http1": ("HTTP/2 ではなく HTTP/1.1", (
        ("HTTP/1.1: relayed, shown as such, not decoded as HTTP/2",
         "HTTP/1.1：中継し、そのまま表示する。HTTP/2 としては復号しない"),)),
    "proxy.not-http": ("HTTP/2 でも HTTP/1.1 でもない", (
        ("the client's first bytes are neither the HTTP/2 preface nor HTTP/1.1 ({data}); relayed, not decoded",
         "クライアントの最初のバイトは HTTP/2 のプリフェイスでも HTTP/1.1 でもない（{data}）。中継するが復号しない"),)),
    "proxy.tunnel-untouched": ("手を加えずに中継したトンネル", (
        ("tunnel to {host}:{port} relayed untouched (not intercepted): TLS, SNI {sni:none_or}, ALPN offered "
         "{alpn:none_or}",
         "{host}:{port} へのトンネルを手を加えずに中継した（傍受していない）：TLS、SNI {sni}、提示された ALPN {alpn}"),
        ("tunnel to {host}:{port} relayed untouched (not intercepted)",
         "{host}:{port} へのトンネルを手を加えずに中継した（傍受していない）"),
        ("tunnel to {host}:{port}: the server spoke first; relayed as it is",
         "{host}:{port} へのトンネル：サーバーが先に話したので、そのまま中継した"))),
    "proxy.forward-timeout": ("何も送らないフォワードプロキシのクライアント", (
        ("forward proxy: a client sent no {what:waited_for} in {seconds} s; closed",
         "フォワードプロキシ：クライアントが {seconds} s の間に{what}を送らなかったので閉じた"),)),
    "proxy.forward-bad-request": ("フォワードプロキシが応じられないリクエスト", (
        ("forward proxy: {why:bad_head}", "フォワードプロキシ：{why}"),
        ("http:// connection to {host}:{port}: the client's bytes are no longer HTTP/1.1 requests ({why}); "
         "relayed as they are",
         "{host}:{port} への http:// 接続：クライアントのバイトがもう HTTP/1.1 のリクエストではない（{why}）。"
         "そのまま中継した"),)),
    "proxy.forward-auth": ("拒否したプロキシ認証", (
        ("forward proxy: a request without the right Proxy-Authorization (--auth) is refused",
         "フォワードプロキシ：正しい Proxy-Authorization（--auth）のないリクエストは拒否する"),)),
    "tls.decrypted": ("TLS を復号した", (
        ("TLS decrypted with the key log: {tls:tls}", "キーログで TLS を復号した：{tls}"),)),
    "tls.not-decrypted": ("復号できなかった TLS", (
        ("TLS, not decoded: {why:tls_problems}{hint:keylog_hint}", "TLS（復号していない）：{why}{hint}"),)),
    "tls.gap": ("欠けた TLS のバイト", (
        ("{size} bytes of a TLS stream from the {side:side} are missing (before packet {packet}): decryption of that "
         "direction stops there",
         "{side}からの TLS ストリームの {size} バイトが欠けている（パケット {packet} の前）。"
         "その方向の復号はそこで止まる"),)),
}

#: what the engine adds to a group that folds in more streams than it lists apart (findings/engine.py)
MORE_STREAMS: Form = (" (and the same on more streams: the first {count} are listed apart)",
                      "（ほかのストリームでも同じ。最初の {count} 個は別に挙げた）")

_SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")


def slots(template: str) -> set[str]:
    """The names of a template's slots."""
    return {m.group(1) for m in _SLOT.finditer(template)}


@cache
def _pattern(english: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A form's English template as a regular expression, and the kind of each typed slot."""
    kinds = {m.group(1): m.group(2) for m in _SLOT.finditer(english) if m.group(2)}
    return re.compile(shape(english), re.DOTALL), kinds


def shape(english: str, plain: str = ".*?", hole: str = "", named: bool = True) -> str:
    """A template as regular expression text: a plain slot matches `plain`; a typed slot whatever
    the forms of its kind can make (their patterns inlined, so the regex engine itself finds where
    each slot ends), or `hole`."""
    parts, pos = [], 0
    for m in _SLOT.finditer(english):
        parts.append(re.escape(english[pos:m.start()]))
        inner = plain if m.group(2) is None else _kind_pattern(m.group(2), plain, hole)
        parts.append(f"(?P<{m.group(1)}>{inner})" if named else f"(?:{inner})")
        pos = m.end()
    parts.append(re.escape(english[pos:]))
    return "".join(parts)


@cache
def _kind_pattern(kind: str, plain: str, hole: str) -> str:
    listed = LISTS.get(kind)
    if listed is not None:
        item = _kind_pattern(listed[1], plain, hole)
        return f"(?:{item}(?:{re.escape(listed[0])}{item})*)"
    forms = "|".join(shape(en, plain, hole, named=False) for en, _ in PIECES[kind])
    return f"(?:{hole}|{forms})" if hole else f"(?:{forms})"


def _translate(forms: tuple[Form, ...], text: str) -> str | None:
    for english, japanese in forms:
        pattern, kinds = _pattern(english)
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values: dict[str, str] = {}
        for name, value in found.groupdict().items():
            kind = kinds.get(name)
            said = value if kind is None else _piece(kind, value)
            if said is None:
                break
            values[name] = said
        else:
            return japanese.format(**values)
    return None


def _piece(kind: str, value: str) -> str | None:
    listed = LISTS.get(kind)
    if listed is None:
        return _translate(PIECES[kind], value)
    separator, item, joined = listed
    said = [_translate(PIECES[item], part) for part in value.split(separator)]
    return None if any(s is None for s in said) else joined.join(s for s in said if s is not None)


def japanese(rule: str, message: str) -> str | None:
    """A finding's message in Japanese, or None when no form of its rule made it."""
    forms = RULE_WORDS[rule][1] if rule in RULE_WORDS else ()
    more, more_ja = MORE_STREAMS
    found = _pattern("{message}" + more)[0].fullmatch(message)
    if found is not None:
        said = _translate(forms, found["message"])
        return None if said is None else said + more_ja.format(count=found["count"])
    return _translate(forms, message)


def message_in(lang: str, rule: str, message: str) -> str:
    """A finding's message in `lang`; in English (the line as `check` prints it) when it has no Japanese."""
    if lang == "ja":
        return japanese(rule, message) or message
    return message


def title_in(lang: str, rule: str, english: str) -> str:
    """A rule's title in `lang` (`english` is its title in the rules table)."""
    if lang == "ja" and rule in RULE_WORDS:
        return RULE_WORDS[rule][0]
    return english
