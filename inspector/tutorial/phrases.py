"""Every sentence the tutorial says, in English and in Japanese.

One table per language with the same keys and the same {placeholders}
(a test checks it), so a translation can never lose a fact. The notes
module picks sentences; nothing here knows about frames.
"""

from __future__ import annotations

LANGS = ("en", "ja")

EN: dict[str, str] = {
    # --- words -------------------------------------------------------------------------
    "client": "client",
    "server": "server",
    "step": "step",
    "see": "see",
    "point": "the point",
    "call": "call",
    "stream": "stream",
    "lesson": "lesson",
    "bytes": "frame header bytes",
    "header_fields": "length {length} · type 0x{type:x} {type_name} · flags 0x{flags:02x} · R 0 · stream {stream}",
    "diagram": "sequence diagram",
    "started": "demo server on {server}, proxy on {proxy}: every frame below really crossed the proxy",
    "call_line": "call {number}: {method} on HTTP/2 stream {stream}, {style}: {requests} request and "
                 "{responses} response message(s), grpc-status {status}",
    "not_drawn": "{count} WINDOW_UPDATE frame(s) on this stream not drawn (flow control lesson)",
    "stream_closed": "stream {stream} closed",
    "stream_reset": "stream {stream} reset",
    "no_frames": "no frames yet: the call is on its way",
    "keys": "space/→ next frame · ←/b previous · ]/[ next/previous call · Tab panes · ? help · q quit",
    "preamble": "before any call, the connection: the client's 24-byte preface (PRI * HTTP/2.0…), then "
                "SETTINGS both ways on stream 0",
    "waiting": "starting the demo server, the proxy and the client…",
    "failed": "the exchange failed: {error}",
    "end_of_call": "end of this call: ] for the next one, or look around (c: connection view)",
    # --- lessons -------------------------------------------------------------------------
    "lesson.unary": "unary: one request message, one response message",
    "lesson.unary.point": "A unary call is one HTTP/2 stream: request HEADERS, one request DATA with END_STREAM, "
                          "response HEADERS, one response DATA, and trailers HEADERS with grpc-status and "
                          "END_STREAM.",
    "lesson.server-streaming": "server streaming: one request, several responses",
    "lesson.server-streaming.point": "Still one HTTP/2 stream. The server sends several DATA frames, one message "
                                     "each here, before its trailers; 'streaming' means several messages on the "
                                     "stream, not several streams.",
    "lesson.client-streaming": "client streaming: several requests, one response",
    "lesson.client-streaming.point": "The client sends several request DATA frames and sets END_STREAM only on "
                                     "its last one; the server answers once everything has arrived.",
    "lesson.bidi-streaming": "bidirectional streaming: both sides send several messages",
    "lesson.bidi-streaming.point": "Both directions of one stream are independent: request and response DATA "
                                   "interleave (ping-pong), or the server may wait for all requests (answer "
                                   "after all). Same frames, different conversations.",
    "lesson.errors": "errors: Trailers-Only, a deadline, a cancellation",
    "lesson.errors.point": "A failed call ends in one of three ways on the wire: a Trailers-Only response, a "
                           "RST_STREAM when the deadline passes, or a RST_STREAM when the client cancels.",
    "lesson.flow-control": "big messages and flow control",
    "lesson.flow-control.point": "A message bigger than the peer's window waits for WINDOW_UPDATE frames: "
                                 "credit for the stream and for the whole connection.",
    "caption.ping-pong": "ping-pong: each request answered at once",
    "caption.answer-after-all": "answer after all: every answer after the last request",
    "caption.trailers-only": "the server fails at once: Trailers-Only",
    "caption.deadline": "the server is slower than the client's deadline",
    "caption.cancel": "the client cancels a server stream after three messages",
    # --- frames: what, then why ---------------------------------------------------------------
    "request_headers": "request headers: the call {path} begins on stream {stream}",
    "request_headers.why": "Every gRPC call, unary too, opens exactly one new HTTP/2 stream; the client "
                           "takes the next odd stream id. :method POST, :path /service/method, content-type "
                           "application/grpc and te: trailers mark the call as gRPC.",
    "request_headers.timeout": "grpc-timeout {timeout} carries the client's deadline to the server.",
    "request_data": "DATA: {messages}",
    "message": "request message #{n} ({length} B)",
    "response_message": "response message #{n} ({length} B)",
    "continued": "part of a message that spans several DATA frames",
    "data.prefix": "Each gRPC message travels with a 5-byte prefix (1 byte 'compressed' flag, 4 bytes length) "
                   "before its protobuf bytes; a message may span DATA frames and a frame may carry several.",
    "end.only": "END_STREAM is on this DATA frame because it carries the only request message: once it is "
                "sent the client has nothing more to say. The stream is now half-closed for the client; it "
                "can still receive.",
    "end.more": "No END_STREAM here: the client has more to send. It comes on the client's last frame.",
    "end.empty": "An empty DATA frame whose only job is END_STREAM: the client learned it had no more messages "
                 "only after the last one had gone (its request iterator ended), so it says 'nothing more from "
                 "me' on its own.",
    "end.last": "END_STREAM on the last request frame: no more messages from the client.",
    "response_headers": "response headers: :status {status}",
    "response_headers.why": "The server answers on the same stream. :status 200 only says HTTP went well; the "
                            "gRPC result comes at the end, in the trailers.",
    "response_headers.early": "The server's HEADERS came before any request DATA: the two directions of a "
                              "stream are independent, and this server sends its headers (initial metadata) as "
                              "soon as the call arrives, without waiting for a message.",
    "response_data": "DATA: {messages}",
    "response.single": "The call's one response message. No END_STREAM on it: a gRPC server always ends with "
                       "trailers, a HEADERS frame after the DATA.",
    "response.stream": "Response {n} of {total}: server streaming is several messages on this one stream. No "
                       "END_STREAM: the server will end with trailers.",
    "response.pingpong": "Response {n} came back before the client's END_STREAM: request and response DATA "
                         "interleave on one stream.",
    "response.after_all": "Response {n} comes after the client's END_STREAM: this server read every request "
                          "first. Same style and frames as ping-pong, a different conversation.",
    "trailers": "trailers: grpc-status {status} ({status_name}), END_STREAM",
    "trailers.why": "These HEADERS are trailers: the server's second header block on the stream, after its "
                    "DATA, with END_STREAM. grpc-status is the call's real result{message}. The stream is now "
                    "closed.",
    "trailers_only": "Trailers-Only response: grpc-status {status} ({status_name}), END_STREAM",
    "trailers_only.why": "One HEADERS frame with :status, grpc-status and END_STREAM, and no DATA at all: the "
                         "server failed before sending any message, so its headers and trailers are one "
                         "block{message}.",
    "grpc_message": ", grpc-message '{text}'",
    "rst": "RST_STREAM {error}: the stream ends at once",
    "rst.cancel": "The client cancelled the call: RST_STREAM ends the stream for both sides at once, without "
                  "trailers. Frames already on their way may still arrive; they are ignored.",
    "rst.deadline": "The deadline (grpc-timeout) passed: the client gave up with RST_STREAM CANCEL and reports "
                    "DEADLINE_EXCEEDED, whatever the server sends after it.",
    "rst.no_error": "RST_STREAM NO_ERROR: the server's side is finished and it tells the peer to stop sending on "
                    "this stream; nothing went wrong (RFC 9113 §8.1).",
    "after_reset": "This frame crossed the RST_STREAM on the wire: the stream was already reset, so the receiver "
                   "ignores it.",
    "rst.server": "The server reset the stream with {error}; the client reports an error.",
    "window_update": "WINDOW_UPDATE: {increment} more bytes may be sent on stream {stream}",
    "window_update.conn": "WINDOW_UPDATE: {increment} more bytes may be sent on the whole connection",
    "window_update.why": "Flow control: the receiver of DATA gives the sender credit. Each stream has a window, "
                         "and so does the connection as a whole (stream 0); only DATA counts against them.",
    "window.after": "After this frame the {side} may send {stream_window} more bytes of DATA on this stream and "
                    "{conn_window} on the connection.",
    "window.exhausted": "The {side}'s window is used up: it must stop and wait for a WINDOW_UPDATE before it "
                        "sends more DATA.",
    "settings": "SETTINGS from the {side}: its limits for this connection",
    "settings.ack": "SETTINGS ACK: the {side} accepts the other side's settings",
    "settings.why": "Not part of any call: SETTINGS travel on stream 0 and set limits for the whole connection "
                    "(initial window, frame size, concurrent streams). Each side acknowledges the other's.",
    "ping": "PING from the {side}",
    "ping.ack": "PING ACK: the {side} echoes the 8 bytes back",
    "ping.why": "grpcio pings to measure the connection (bandwidth-delay probes) and keep it alive. Stream 0: "
                "not part of any call.",
    "goaway": "GOAWAY from the {side}: no new streams on this connection",
    "goaway.why": "The connection is closing. Streams up to the last stream id named are still completed.",
    "other": "{type_name}",
    "other.why": "{purpose}",
    # --- diagram labels (short) ---------------------------------------------------------------
    "d.request_headers": "request headers {path}",
    "d.response_headers": "response headers :status {status}",
    "d.trailers": "trailers grpc-status {status}",
    "d.trailers_only": "Trailers-Only grpc-status {status}",
    "d.request": "request #{n}",
    "d.response": "response #{n}",
    "d.continued": "rest of a message",
    "d.empty": "empty",
    "d.bytes": "{length} B of body",
    "d.window_update": "+{increment}",
    "d.window_update_conn": "+{increment} (connection)",
    # --- words added for experiments, HPACK and multiplexing ---------------------------------
    "flags": "flags",
    "style.unary": "unary",
    "style.server-streaming": "server-streaming",
    "style.client-streaming": "client-streaming",
    "style.bidi-streaming": "bidi-streaming",
    "style.unknown": "style unknown",
    "end_of_last_call": "end of the last call of this run: nothing comes after it. {next}",
    "next.experiment": "Change the exchange and run it again, for example `{command}` ({what})",
    "next.lessons": "the other lessons: {commands}",
    "next.join": "{first}; {second}",
    "closing": "That was {lessons}. {next}",
    "closing.styles": "the four call styles",
    "experiment": "experiment: {options} (the lesson's own settings for everything else)",
    "experiment.none": "the lesson's own settings (change them with --messages, --size, --compress, --window, "
                       "--max-frame, --concurrency, --delay, --deadline, --table-size)",
    "summary": "what crossed the connection: {frames} frames ({detail}), {bytes} B of frames, {duration} from "
               "the first call's first frame to the last call's last",
    "summary.stalls": "The sender's flow-control window ran out {count} time(s): it had to wait for WINDOW_UPDATE.",
    "summary.no_stall": "No sender ran out of flow-control window.",
    "summary.calls": "calls: {calls}",
    "summary.compressed": "{count} message(s) had the compressed flag set (grpc-encoding {encoding}).",
    "summary.split": "The biggest message, {length} B, took {frames} DATA frames.",
    "summary.deadline_exceeded": "{count} call(s) ran out of time: DEADLINE_EXCEEDED.",
    "summary.unary_messages": "--messages does not change a unary call: it always carries one message each way.",
    "compare.heading": "{label}: {before} → {after}",
    "compare.frames": "frames",
    "compare.bytes": "bytes of frames",
    "compare.duration": "time",
    "compare.stalls": "waits for WINDOW_UPDATE",
    "experiment.suggest.unary": "one 100 kB message in 16 KiB frames: at least 7 DATA frames",
    "experiment.suggest.server-streaming": "no pause between replies: several messages may share a DATA frame",
    "experiment.suggest.client-streaming": "five requests of 20 kB each",
    "experiment.suggest.bidi-streaming": "five pings and five pongs",
    "experiment.suggest.errors": "a deadline longer than the server's delay: the second call succeeds",
    "experiment.suggest.flow-control": "a 16 KiB window for a 64 KiB message: the sender stops and waits",
    "experiment.suggest.hpack": "a 256-byte table, too small for the client's own headers: nothing is saved",
    "experiment.suggest.multiplexing": "six calls at once on the one connection",
    "error.range": "{option} {value}: expected {low} to {high}",
    "error.range_rfc": "{option} {value}: expected {low} to {high} ({section})",
    "error.choice": "{option} {value}: expected one of {choices}",
    "error.capture_tui": "--capture only works with --headless (use `h2inspect open` for the TUI)",
    "error.record": "--record {path}: {reason}",
    "error.capture": "{path}: {reason}",
    "error.call_failed": "the demo call failed: {error}",
    "error.no_connect": "the demo client could not connect through the proxy",
    "error.no_server": "could not start the demo gRPC server on 127.0.0.1",
    "error.not_found": "no such file",
    "error.directory": "is a directory, not a capture",
    "error.not_capture": "not a pcap or pcapng capture",
    "error.empty": "empty file, not a capture",
    "error.denied": "permission denied",
    "error.other": "cannot be used ({reason})",
    "error.arg_value": "argument {option}: expected one argument",
    "error.arg_explicit": "argument {option}: ignored explicit argument '{value}'",
    "error.arg_unknown": "unrecognized arguments: {arguments}",
    "error.arg_ambiguous": "ambiguous option: {option} could match {choices}",
    "error.arg_other": "{message}",
    "never_appeared": "call {number} never appeared on the wire",
    # --- frames, again: what the experiments change --------------------------------------------
    "headers.encoding": "grpc-encoding {encoding}: this side compresses its messages with it (the "
                        "compressed flag of each message says which ones are).",
    "data.compressed": "The compressed flag (the first prefix byte) of message #{n} is 1: its bytes are "
                       "compressed with {encoding}; {length} B on the wire.",
    "data.not_compressed": "Message #{n} went uncompressed (its flag is 0) although grpc-encoding is "
                           "{encoding}: grpcio keeps a message as it is when compressing would not make it "
                           "smaller. Try a bigger --size.",
    "data.split": "Message #{n} is {length} B; it spans {frames} DATA frames. The receiver allows frames of at "
                  "most {max_frame} B (SETTINGS_MAX_FRAME_SIZE), and DATA may also stop where the flow-control "
                  "window ends.",
    # --- HPACK ---------------------------------------------------------------------------------
    "lesson.hpack": "HPACK: why the second call's headers are a few bytes",
    "lesson.hpack.point": "Header blocks are compressed with HPACK (RFC 7541). Each side keeps a dynamic table "
                          "of fields it has sent; a field sent again is one byte that points into it. The "
                          "receiver limits the table's size (SETTINGS_HEADER_TABLE_SIZE): when it is full, the "
                          "oldest entries are evicted.",
    "caption.hpack-first": "the first call: every header written out, and remembered",
    "caption.hpack-again": "the same call again: the same headers, as references to the table",
    "caption.hpack-other": "another method, failing at once: a new :path for the client's table, a new "
                           "grpc-status for the server's, which is full",
    "hpack.heading": "HPACK: how this header block was written ({length} B)",
    "hpack.kind.indexed": "indexed · {where}",
    "hpack.kind.incremental": "literal with incremental indexing · name: {name} · value: {coding}",
    "hpack.kind.without": "literal without indexing · name: {name} · value: {coding}",
    "hpack.kind.never": "literal never indexed · name: {name} · value: {coding}",
    "hpack.kind.size_update": "dynamic table size update · {size} bytes",
    "hpack.static": "static table [{index}]",
    "hpack.dynamic": "dynamic table [{index}]",
    "hpack.name.indexed": "{where}",
    "hpack.name.literal": "new, {coding}",
    "hpack.huffman": "Huffman",
    "hpack.raw": "raw",
    "hpack.added": " → added to the dynamic table as [62]",
    "hpack.bytes": "{length} B",
    "hpack.table": "the {side}'s dynamic table after this block: {count} entries, {size} of {max_size} bytes",
    "hpack.new": "  ← new",
    "hpack.entry_size": "{size} B",
    "hpack.table_empty": "(empty)",
    "hpack.evicted": "  evicted to make room (the oldest entry goes first): {field} ({size} B)",
    "hpack.partial": "  (entries from before the capture began, or after lost bytes, are unknown)",
    "hpack.why.longer": "Why {length} B, no shorter than the first {role} block's {before} B: it has {fields} "
                        "fields; {dynamic} are found in the dynamic table and {static} in the static table, and "
                        "{literals} are written out{literal_names}.",
    "hpack.literal_list": ": {names}",
    "hpack.literal.added": "{name} (new: added to the table)",
    "hpack.literal.not_added": "{name} (sent without indexing: never kept)",
    "hpack.literal.never": "{name} (never indexed: no one may keep it)",
    "hpack.role.request": "request",
    "hpack.role.response": "response",
    "hpack.role.informational": "informational",
    "hpack.role.trailers": "trailers",
    "hpack.role.push-request": "push-request",
    "hpack.why.first": "Why {length} B: this is the first {role} block from this side, so the dynamic table holds "
                       "none of it yet. Of its {fields} fields, {literals} are written out as literals ({added} of "
                       "them kept in the dynamic table for next time) and {static} are one-byte indexes into the "
                       "static table.",
    "hpack.why.shorter": "Why it shrank to {length} B from the first {role} block's {before} B: {dynamic} of its "
                         "{fields} fields are now one-byte references to entries that earlier blocks added to the "
                         "dynamic table, {static} come from the static table, and {literals} are written "
                         "out{literal_names}.",
    "hpack.why.not_shorter": "Why {length} B, about as long as the first {role} block's {before} B: only "
                             "{dynamic} of its {fields} fields were found in the dynamic table and {static} in the "
                             "static table; {literals} are written out{literal_names}.",
    # --- multiplexing --------------------------------------------------------------------------
    "lesson.multiplexing": "multiplexing: several calls at once on one connection",
    "lesson.multiplexing.point": "Each gRPC call is one HTTP/2 stream, and the connection is shared. The client "
                                 "opens streams 1, 3, 5, … (odd ids, climbing by two) and DATA frames of "
                                 "different streams interleave on the one connection: no call waits for "
                                 "another to finish.",
    "caption.mux-bidi": "a bidi call, open for the whole lesson",
    "caption.mux-server-stream": "a server stream, started between the bidi call's messages",
    "caption.mux-unary": "a unary call, made while the others are open",
    "caption.mux-client-stream": "a client stream, made while the others are open",
    "mux.heading": "every frame of the calls, in the order they crossed the one connection (stream 0 left out)",
    "mux.stream_line": "stream {stream}: {caption}: {method}, {style}, {frames} frames, {data} B of DATA, "
                       "grpc-status {status}",
    "mux.ids": "The client opened streams {ids}: odd ids, each new one two more than the last.",
    "mux.interleaved": "DATA frames of streams {streams} interleave on the connection (the stream of each DATA "
                       "frame in turn: {pattern}). Each call is one stream; the connection is shared.",
    "mux.not_interleaved": "This time the DATA frames of different streams did not interleave (each call's DATA "
                           "came in one run), but they still shared the one connection.",
    "mux.row": "{stream_label} {stream:>2}",
    # --- teaching mode in the TUI: footer, title, status, help, the form, the comparison ---------
    "keys_tui": "space/→ next frame · ←/b previous · ]/[ next/previous call · l ladder · c connection view · "
                "x experiment · Tab panes · ? help · q quit",
    "footer.quit": "Quit",
    "footer.help": "Help",
    "footer.toggle_ladder": "List/ladder",
    "footer.connection_view": "Connection",
    "footer.zoom": "Zoom",
    "footer.problems": "Problems",
    "footer.search": "Search",
    "footer.goto": "Go to",
    "footer.time_mode": "Time",
    "footer.save": "Save",
    "footer.step_next": "Next frame",
    "footer.step_back": "Previous frame",
    "footer.call_next": "Next call",
    "footer.call_back": "Previous call",
    "footer.experiment": "Experiment",
    "footer.dismiss": "Close",
    "footer.cancel": "Cancel",
    "tui.title": "h2inspect tutorial: {count} lesson(s)",
    "tui.status": " {title} · {frames} frames · {findings} (p) · {stage}",
    "tui.status_call": " · call {number}/{total}: {style}",
    "tui.findings": "{count} finding(s)",
    "tui.stage.starting": "starting",
    "tui.stage.calling": "calling",
    "tui.stage.done": "done",
    "tui.stage.failed": "failed",
    "tui.view.stream": " stream {stream} of connection {conn} · {frames} frames · {view} (l)",
    "tui.view.connection": " connection {conn}, every stream · {frames} frames · {view} (l)",
    "tui.view.filtered": " · filtered: {shown} of {total}",
    "tui.view.ladder": "ladder",
    "tui.time.capture": "time since capture start",
    "tui.time.stream": "time since the stream's first frame",
    "tui.time.delta": "time since the previous row",
    "tui.time.wall": "wall-clock time",
    "tui.view.list": "list",
    "tui.search": " · search '{needle}': {count} matches (n/N)",
    "tui.said.ladder": "the frames as a ladder",
    "tui.said.list": "the frames as a list",
    "tui.said.cleared": "search and filters cleared",
    "tui.said.zoomed": "the lesson pane is hidden: the frames take the whole width (z shows it again)",
    "tui.said.unzoomed": "the lesson pane is back",
    "tui.last_call": "This is the last call: ] has nothing after it. x changes the experiment and runs it again.",
    "tui.first_call": "This is the first call: [ has nothing before it.",
    "tui.search_box": "search headers, payloads and gRPC messages (Enter; Esc leaves)",
    "tui.goto_box": "go to: a stream (3), a frame (f40), a packet (p7); Esc leaves",
    "tui.help": "h2inspect tutorial: keys                Esc, q or ? closes\n\n"
                "  space →        the next frame of the call, with its note\n"
                "  ← b            the previous frame\n"
                "  ] [            the next / previous call\n"
                "  l              the frames as a list or as a ladder (client │─▶│ server)\n"
                "  c              connection view: every stream of the connection\n"
                "  x              experiment: change the lesson's settings, run it again, compare\n"
                "  / n N          search, next / previous match\n"
                "  :              go to a stream, a frame, a packet\n"
                "  p              problems the decoder found\n"
                "  t              how the time column counts\n"
                "  z              hide the lesson pane: the frames take the whole width\n"
                "  w              save what is shown (.pcapng, .jsonl, .mmd)\n"
                "  Tab            the next pane (the frame detail: ↑ ↓ to read it)\n"
                "  ?              this help          q  quit\n\n"
                "Every frame on screen really crossed the proxy. An HTTP/2 stream is not a\n"
                "gRPC stream: every call, unary too, is one HTTP/2 stream.",
    "form.title": "Experiment: change {lesson} and run it again",
    "form.hint": "Enter runs it · Esc leaves · empty: the lesson's own value · sizes may end in K or M",
    "form.field.messages": "messages each streaming side sends",
    "form.field.size": "payload bytes of every message",
    "form.field.compress": "gzip, deflate or identity",
    "form.field.window": "the receivers' initial window (bytes)",
    "form.field.max_frame": "the receivers' largest frame (bytes)",
    "form.field.concurrency": "copies of each call at once",
    "form.field.delay": "ms between messages",
    "form.field.deadline": "ms the client gives each call",
    "form.field.table_size": "the HPACK dynamic table (bytes)",
    "form.default": "grpcio's own",
    "form.running": "running {lesson} again with {options}…",
    "form.own_values": "the lesson's own values",
    "form.compared": "this run ({options}) against the previous one:",
    "form.failed": "the run failed: {error}",
}

JA: dict[str, str] = {
    # --- words -------------------------------------------------------------------------
    "client": "クライアント",
    "server": "サーバー",
    "step": "ステップ",
    "see": "参照",
    "point": "ポイント",
    "call": "呼び出し",
    "stream": "ストリーム",
    "lesson": "レッスン",
    "bytes": "フレームヘッダーのバイト",
    "header_fields": "長さ {length} · タイプ 0x{type:x} {type_name} · フラグ 0x{flags:02x} · R 0 · "
                     "ストリーム {stream}",
    "diagram": "シーケンス図",
    "started": "デモサーバー {server}、プロキシ {proxy}：以下のフレームはすべて実際にプロキシを通ったものです",
    "call_line": "呼び出し {number}: {method}（HTTP/2 ストリーム {stream}、{style}）：リクエストメッセージ "
                 "{requests} 個、レスポンスメッセージ {responses} 個、grpc-status {status}",
    "not_drawn": "このストリームの WINDOW_UPDATE フレーム {count} 個は省略（フロー制御のレッスンを参照）",
    "stream_closed": "ストリーム {stream} クローズ",
    "stream_reset": "ストリーム {stream} リセット",
    "no_frames": "まだフレームがありません：呼び出しの途中です",
    "keys": "スペース/→ 次のフレーム · ←/b 前へ · ]/[ 次/前の呼び出し · Tab ペイン切替 · ? ヘルプ · q 終了",
    "preamble": "呼び出しの前にコネクションがあります：クライアントの 24 バイトのプリフェイス（PRI * HTTP/2.0…）、"
                "続いてストリーム 0 で双方の SETTINGS",
    "waiting": "デモサーバー、プロキシ、クライアントを起動しています…",
    "failed": "通信に失敗しました：{error}",
    "end_of_call": "この呼び出しはここまで：] で次の呼び出しへ、または自由に見て回れます（c：コネクション表示）",
    # --- lessons -------------------------------------------------------------------------
    "lesson.unary": "unary（単項）：リクエスト 1 つ、レスポンス 1 つ",
    "lesson.unary.point": "unary 呼び出しは 1 本の HTTP/2 ストリームです：リクエストの HEADERS、END_STREAM 付きの"
                          "リクエスト DATA 1 つ、レスポンスの HEADERS、レスポンス DATA 1 つ、そして grpc-status と"
                          " END_STREAM を持つトレーラーの HEADERS。",
    "lesson.server-streaming": "サーバーストリーミング：リクエスト 1 つ、レスポンス複数",
    "lesson.server-streaming.point": "やはり HTTP/2 ストリームは 1 本です。サーバーはトレーラーの前に DATA フレームを"
                                     "複数送ります（ここでは 1 フレームに 1 メッセージ）。「ストリーミング」とは 1 本の"
                                     "ストリーム上の複数メッセージのことで、複数のストリームではありません。",
    "lesson.client-streaming": "クライアントストリーミング：リクエスト複数、レスポンス 1 つ",
    "lesson.client-streaming.point": "クライアントはリクエスト DATA フレームを複数送り、END_STREAM は最後の"
                                     "フレームにだけ付けます。サーバーはすべて届いてから 1 回だけ答えます。",
    "lesson.bidi-streaming": "双方向ストリーミング：両側が複数のメッセージを送る",
    "lesson.bidi-streaming.point": "1 本のストリームの 2 つの方向は互いに独立です：リクエストとレスポンスの DATA が"
                                   "交互に流れる（ピンポン）ことも、サーバーが全リクエストを待ってから答える"
                                   "（全部受けてから応答）こともあります。同じフレーム、違う会話です。",
    "lesson.errors": "エラー：Trailers-Only、デッドライン、キャンセル",
    "lesson.errors.point": "失敗した呼び出しはワイヤー上で 3 通りの終わり方をします：Trailers-Only レスポンス、"
                           "デッドライン超過による RST_STREAM、クライアントのキャンセルによる RST_STREAM。",
    "lesson.flow-control": "大きなメッセージとフロー制御",
    "lesson.flow-control.point": "相手のウィンドウより大きいメッセージは WINDOW_UPDATE フレームを待ちます："
                                 "ストリームとコネクション全体の両方に与えられる送信枠（クレジット）です。",
    "caption.ping-pong": "ピンポン：リクエストごとにすぐ応答",
    "caption.answer-after-all": "全部受けてから応答：最後のリクエストの後にすべての応答",
    "caption.trailers-only": "サーバーがすぐに失敗：Trailers-Only",
    "caption.deadline": "サーバーがクライアントのデッドラインより遅い",
    "caption.cancel": "クライアントが 3 メッセージ受け取った後にサーバーストリームをキャンセル",
    # --- frames: what, then why ---------------------------------------------------------------
    "request_headers": "リクエストヘッダー：呼び出し {path} がストリーム {stream} で始まる",
    "request_headers.why": "gRPC の呼び出しは unary も含めて、必ず新しい HTTP/2 ストリームを 1 本だけ開きます。"
                           "クライアントは次の奇数のストリーム ID を使います。:method POST、:path /サービス/メソッド、"
                           "content-type application/grpc、te: trailers がこれを gRPC の呼び出しだと示します。",
    "request_headers.timeout": "grpc-timeout {timeout} はクライアントのデッドラインをサーバーに伝えます。",
    "request_data": "DATA：{messages}",
    "message": "リクエストメッセージ #{n}（{length} B）",
    "response_message": "レスポンスメッセージ #{n}（{length} B）",
    "continued": "複数の DATA フレームにまたがるメッセージの一部",
    "data.prefix": "gRPC のメッセージはそれぞれ 5 バイトのプレフィックス（圧縮フラグ 1 バイト、長さ 4 バイト）の後に"
                   " protobuf のバイト列が続きます。1 つのメッセージが複数の DATA フレームにまたがることも、1 つの"
                   "フレームに複数のメッセージが入ることもあります。",
    "end.only": "この DATA フレームに END_STREAM が付いているのは、ただ 1 つのリクエストメッセージを運んでいる"
                "からです：これを送ればクライアントにはもう言うことがありません。クライアント側はハーフクローズに"
                "なりましたが、受信はまだできます。",
    "end.more": "ここには END_STREAM がありません：クライアントにはまだ送るものがあります。END_STREAM は"
                "クライアントの最後のフレームに付きます。",
    "end.empty": "END_STREAM を伝えるためだけの空の DATA フレーム：クライアントは最後のメッセージを送った後に"
                 "（リクエストのイテレーターが終わって）初めてもうメッセージがないと分かったので、「もう送るものは"
                 "ない」を別に伝えています。",
    "end.last": "最後のリクエストフレームに END_STREAM：クライアントからのメッセージはこれで終わりです。",
    "response_headers": "レスポンスヘッダー：:status {status}",
    "response_headers.why": "サーバーは同じストリームで答えます。:status 200 は HTTP として問題ないことを示すだけで、"
                            "gRPC としての結果は最後のトレーラーで届きます。",
    "response_headers.early": "サーバーの HEADERS がリクエストの DATA より先に来ました：ストリームの 2 つの方向は"
                              "独立しており、このサーバーは呼び出しが届くとすぐ、メッセージを待たずにヘッダー"
                              "（初期メタデータ）を送ります。",
    "response_data": "DATA：{messages}",
    "response.single": "この呼び出しの唯一のレスポンスメッセージ。END_STREAM は付きません：gRPC サーバーは必ず"
                       "トレーラー（DATA の後の HEADERS フレーム）で終えます。",
    "response.stream": "レスポンス {n}/{total}：サーバーストリーミングはこの 1 本のストリーム上の複数メッセージです。"
                       "END_STREAM はなく、サーバーはトレーラーで終えます。",
    "response.pingpong": "レスポンス {n} はクライアントの END_STREAM より前に返ってきました：リクエストと"
                         "レスポンスの DATA が 1 本のストリーム上で交互に流れます。",
    "response.after_all": "レスポンス {n} はクライアントの END_STREAM の後に来ます：このサーバーはまず全リクエストを"
                          "読みました。ピンポンと同じスタイル、同じフレームで、違う会話です。",
    "trailers": "トレーラー：grpc-status {status}（{status_name}）、END_STREAM",
    "trailers.why": "この HEADERS はトレーラーです：サーバーがこのストリームで DATA の後に送る 2 つ目のヘッダー"
                    "ブロックで、END_STREAM が付いています。grpc-status がこの呼び出しの本当の結果です{message}。"
                    "これでストリームはクローズしました。",
    "trailers_only": "Trailers-Only レスポンス：grpc-status {status}（{status_name}）、END_STREAM",
    "trailers_only.why": ":status、grpc-status、END_STREAM を持つ HEADERS フレームが 1 つだけで、DATA はまったく"
                         "ありません：サーバーはメッセージを送る前に失敗したので、ヘッダーとトレーラーが 1 つの"
                         "ブロックになっています{message}。",
    "grpc_message": "（grpc-message「{text}」）",
    "rst": "RST_STREAM {error}：ストリームは即座に終了",
    "rst.cancel": "クライアントが呼び出しをキャンセルしました：RST_STREAM はトレーラーなしで、両側のストリームを"
                  "即座に終わらせます。すでに送られていたフレームが届くことはありますが、無視されます。",
    "rst.deadline": "デッドライン（grpc-timeout）を過ぎました：クライアントは RST_STREAM CANCEL で諦め、"
                    "その後サーバーが何を送っても DEADLINE_EXCEEDED を報告します。",
    "rst.no_error": "RST_STREAM NO_ERROR：サーバー側は終わったので、このストリームでの送信をやめるよう相手に"
                    "伝えています。エラーではありません（RFC 9113 §8.1）。",
    "after_reset": "このフレームはワイヤー上で RST_STREAM とすれ違いました：ストリームはすでにリセット"
                   "されているので、受信側はこれを無視します。",
    "rst.server": "サーバーが {error} でストリームをリセットしました。クライアントはエラーを報告します。",
    "window_update": "WINDOW_UPDATE：ストリーム {stream} でさらに {increment} バイト送信可能",
    "window_update.conn": "WINDOW_UPDATE：コネクション全体でさらに {increment} バイト送信可能",
    "window_update.why": "フロー制御：DATA の受信側が送信側に送信枠（クレジット）を与えます。ストリームごとに"
                         "ウィンドウがあり、コネクション全体（ストリーム 0）にもあります。"
                         "数えられるのは DATA だけです。",
    "window.after": "このフレームの後、{side}はこのストリームでさらに {stream_window} バイト、コネクション全体で"
                    " {conn_window} バイトの DATA を送れます。",
    "window.exhausted": "{side}のウィンドウを使い切りました：WINDOW_UPDATE が届くまで DATA の送信を止めて待つ"
                        "必要があります。",
    "settings": "{side}の SETTINGS：このコネクションでの上限",
    "settings.ack": "SETTINGS ACK：{side}が相手の設定を受け入れた",
    "settings.why": "どの呼び出しにも属しません：SETTINGS はストリーム 0 で送られ、コネクション全体の上限"
                    "（初期ウィンドウ、フレームサイズ、同時ストリーム数）を決めます。各側が相手の SETTINGS に"
                    "ACK を返します。",
    "ping": "{side}からの PING",
    "ping.ack": "PING ACK：{side}が 8 バイトをそのまま返す",
    "ping.why": "grpcio はコネクションの測定（帯域遅延積のプローブ）と維持のために PING を送ります。"
                "ストリーム 0：どの呼び出しにも属しません。",
    "goaway": "{side}からの GOAWAY：このコネクションでは新しいストリームを開かない",
    "goaway.why": "コネクションが閉じられようとしています。示された最後のストリーム ID までのストリームは"
                  "最後まで処理されます。",
    "other": "{type_name}",
    "other.why": "{purpose}",
    # --- diagram labels (short) ---------------------------------------------------------------
    "d.request_headers": "リクエストヘッダー {path}",
    "d.response_headers": "レスポンスヘッダー :status {status}",
    "d.trailers": "トレーラー grpc-status {status}",
    "d.trailers_only": "Trailers-Only grpc-status {status}",
    "d.request": "リクエスト #{n}",
    "d.response": "レスポンス #{n}",
    "d.continued": "メッセージの続き",
    "d.empty": "空",
    "d.bytes": "本文 {length} B",
    "d.window_update": "+{increment}",
    "d.window_update_conn": "+{increment}（コネクション）",
    # --- words added for experiments, HPACK and multiplexing ---------------------------------
    "flags": "フラグ",
    "style.unary": "unary（単項）",
    "style.server-streaming": "サーバーストリーミング",
    "style.client-streaming": "クライアントストリーミング",
    "style.bidi-streaming": "双方向ストリーミング",
    "style.unknown": "スタイル不明",
    "end_of_last_call": "この実行の最後の呼び出しが終わりました：この後には何もありません。{next}",
    "next.experiment": "通信を変えてもう一度実行してみましょう。例：`{command}`（{what}）",
    "next.lessons": "ほかのレッスン：{commands}",
    "next.join": "{first}。{second}",
    "closing": "以上が{lessons}です。{next}",
    "closing.styles": "4 つの呼び出しスタイル",
    "experiment": "実験：{options}（ほかはレッスン本来の設定）",
    "experiment.none": "レッスン本来の設定（--messages、--size、--compress、--window、--max-frame、--concurrency、"
                       "--delay、--deadline、--table-size で変えられます）",
    "summary": "コネクションを通ったもの：フレーム {frames} 個（{detail}）、フレーム合計 {bytes} バイト、最初の呼び出"
               "しの最初のフレームから最後の呼び出しの最後のフレームまで {duration}",
    "summary.stalls": "送信側のフロー制御ウィンドウが {count} 回尽きました：WINDOW_UPDATE を待つ必要がありました。",
    "summary.no_stall": "フロー制御ウィンドウが尽きた送信側はありませんでした。",
    "summary.calls": "呼び出し：{calls}",
    "summary.compressed": "圧縮フラグが立ったメッセージは {count} 個でした（grpc-encoding {encoding}）。",
    "summary.split": "最大のメッセージ {length} バイトは DATA フレーム {frames} 個にまたがりました。",
    "summary.deadline_exceeded": "{count} 個の呼び出しが時間切れになりました：DEADLINE_EXCEEDED。",
    "summary.unary_messages": "--messages は unary 呼び出しを変えません：unary は必ず各方向 1 メッセージです。",
    "compare.heading": "{label}：{before} → {after}",
    "compare.frames": "フレーム数",
    "compare.bytes": "フレームのバイト数",
    "compare.duration": "時間",
    "compare.stalls": "WINDOW_UPDATE 待ちの回数",
    "experiment.suggest.unary": "100 kB のメッセージを 16 KiB のフレームで：DATA フレームが 7 個以上",
    "experiment.suggest.server-streaming": "応答の間に待ちなし：複数のメッセージが 1 つの DATA フレームに入ることも",
    "experiment.suggest.client-streaming": "20 kB のリクエストを 5 つ",
    "experiment.suggest.bidi-streaming": "ピンを 5 つ、ポンを 5 つ",
    "experiment.suggest.errors": "サーバーの遅れより長いデッドライン：2 つ目の呼び出しが成功する",
    "experiment.suggest.flow-control": "64 KiB のメッセージに 16 KiB のウィンドウ：送信側が止まって待つ",
    "experiment.suggest.hpack": "クライアント自身のヘッダーが入りきらない 256 バイトのテーブル：何も節約されない",
    "experiment.suggest.multiplexing": "1 本のコネクションで同時に 6 つの呼び出し",
    "error.range": "{option} {value}：{low} から {high} の値を指定してください",
    "error.range_rfc": "{option} {value}：{low} から {high} の値を指定してください（{section}）",
    "error.choice": "{option} {value}：{choices} のいずれかを指定してください",
    "error.capture_tui": "--capture は --headless と一緒にしか使えません（TUI で見るには `h2inspect open` を使います）",
    "error.record": "--record {path}：{reason}",
    "error.capture": "{path}：{reason}",
    "error.call_failed": "デモの呼び出しが失敗しました：{error}",
    "error.no_connect": "デモクライアントがプロキシ経由で接続できませんでした",
    "error.no_server": "127.0.0.1 でデモ gRPC サーバーを起動できませんでした",
    "error.not_found": "ファイルがありません",
    "error.directory": "ディレクトリです（キャプチャーではありません）",
    "error.not_capture": "pcap でも pcapng でもありません",
    "error.empty": "空のファイルです（キャプチャーではありません）",
    "error.denied": "読み書きの権限がありません",
    "error.other": "使えません（「{reason}」）",
    "error.arg_value": "{option} の後に値がありません",
    "error.arg_explicit": "{option} には値を付けられません（{value}）",
    "error.arg_unknown": "使えない引数です：{arguments}",
    "error.arg_ambiguous": "{option} がどのオプションのことか決められません（{choices}）",
    "error.arg_other": "引数が正しくありません（「{message}」）",
    "never_appeared": "呼び出し {number} はワイヤー上に現れませんでした",
    # --- frames, again: what the experiments change --------------------------------------------
    "headers.encoding": "grpc-encoding {encoding}：この側はメッセージをこの方式で圧縮します（どのメッセージが"
                        "圧縮されているかは各メッセージの圧縮フラグが示します）。",
    "data.compressed": "メッセージ #{n} の圧縮フラグ（プレフィックスの最初のバイト）は 1 です：本体は {encoding} で"
                       "圧縮されており、ワイヤー上は {length} バイトです。",
    "data.not_compressed": "grpc-encoding は {encoding} ですが、メッセージ #{n} は圧縮されずに送られました（フラグは "
                           "0）：圧縮しても小さくならないとき grpcio はメッセージをそのまま送ります。--size を"
                           "大きくしてみましょう。",
    "data.split": "メッセージ #{n} は {length} バイトで、DATA フレーム {frames} 個にまたがります。受信側が許す"
                  "フレームは最大 {max_frame} バイト（SETTINGS_MAX_FRAME_SIZE）で、DATA はフロー制御ウィンドウの"
                  "終わりでも区切られます。",
    # --- HPACK ---------------------------------------------------------------------------------
    "lesson.hpack": "HPACK：2 回目の呼び出しのヘッダーが数バイトで済む理由",
    "lesson.hpack.point": "ヘッダーブロックは HPACK（RFC 7541）で圧縮されます。各側は送ったフィールドを動的テーブルに"
                          "覚えておき、同じフィールドをもう一度送るときはそこを指す 1 バイトで済ませます。テーブルの"
                          "大きさは受信側が決め（SETTINGS_HEADER_TABLE_SIZE）、いっぱいになると最も古いエントリから"
                          "追い出されます。",
    "caption.hpack-first": "最初の呼び出し：すべてのヘッダーをそのまま書き、覚えておく",
    "caption.hpack-again": "同じ呼び出しをもう一度：同じヘッダーをテーブルへの参照で",
    "caption.hpack-other": "別のメソッドで、すぐに失敗：クライアントのテーブルには新しい :path、満杯のサーバーの"
                           "テーブルには新しい grpc-status",
    "hpack.heading": "HPACK：このヘッダーブロックの書き方（{length} バイト）",
    "hpack.kind.indexed": "インデックス · {where}",
    "hpack.kind.incremental": "インクリメンタルインデックス付きリテラル · 名前：{name} · 値：{coding}",
    "hpack.kind.without": "インデックスなしリテラル · 名前：{name} · 値：{coding}",
    "hpack.kind.never": "インデックス禁止リテラル（Never Indexed） · 名前：{name} · 値：{coding}",
    "hpack.kind.size_update": "動的テーブルサイズ更新 · {size} バイト",
    "hpack.static": "静的テーブル [{index}]",
    "hpack.dynamic": "動的テーブル [{index}]",
    "hpack.name.indexed": "{where}",
    "hpack.name.literal": "新規、{coding}",
    "hpack.huffman": "ハフマン符号化",
    "hpack.raw": "そのまま",
    "hpack.added": " → 動的テーブルの [62] に追加",
    "hpack.bytes": "{length} バイト",
    "hpack.table": "このブロックの後の{side}の動的テーブル：エントリ {count} 個、{size}/{max_size} バイト",
    "hpack.new": "  ← 新規",
    "hpack.entry_size": "{size} バイト",
    "hpack.table_empty": "（空）",
    "hpack.evicted": "  空きを作るため追い出し（最も古いエントリから）：{field}（{size} バイト）",
    "hpack.partial": "  （キャプチャー開始前や欠けたバイトの後のエントリは分かりません）",
    "hpack.why.longer": "なぜ最初の{role}ブロックの {before} バイトより短くならず {length} バイトか：フィールドは "
                        "{fields} 個で、動的テーブルにあるのが {dynamic} 個、静的テーブルにあるのが {static} 個、"
                        "リテラルで書かれたのが {literals} 個です{literal_names}。",
    "hpack.literal_list": "（{names}）",
    "hpack.literal.added": "{name}：新規、テーブルに追加",
    "hpack.literal.not_added": "{name}：インデックスなしで送られ、保存されない",
    "hpack.literal.never": "{name}：インデックス禁止、誰も保存してはならない",
    "hpack.role.request": "リクエスト",
    "hpack.role.response": "レスポンス",
    "hpack.role.informational": "情報レスポンス",
    "hpack.role.trailers": "トレーラー",
    "hpack.role.push-request": "プッシュリクエスト",
    "hpack.why.first": "なぜ {length} バイトか：この側からの最初の{role}ブロックなので、動的テーブルにはまだ何もあり"
                       "ません。{fields} 個のフィールドのうち {literals} 個はリテラルで書かれ（うち {added} 個は次の"
                       "ために動的テーブルに保存）、{static} 個は静的テーブルを指す 1 バイトのインデックスです。",
    "hpack.why.shorter": "なぜ最初の{role}ブロックの {before} バイトから {length} バイトに縮んだか：{fields} 個のフィ"
                         "ールドのうち {dynamic} 個は前のブロックが動的テーブルに追加したエントリを指す 1 バイトの参"
                         "照になり、{static} 個は静的テーブルから、リテラルで書かれたのは {literals} 個です{literal_n"
                         "ames}。",
    "hpack.why.not_shorter": "なぜ最初の{role}ブロックの {before} バイトとほとんど変わらず {length} バイトか："
                             "{fields} 個のフィールドのうち動的テーブルにあったのは {dynamic} 個、静的テーブルに"
                             "あったのは {static} 個だけで、{literals} 個はリテラルで書かれています{literal_names}。",
    # --- multiplexing --------------------------------------------------------------------------
    "lesson.multiplexing": "多重化：1 本のコネクションで同時に複数の呼び出し",
    "lesson.multiplexing.point": "gRPC の呼び出しはそれぞれ 1 本の HTTP/2 ストリームで、コネクションは共有されます。"
                                 "クライアントはストリーム 1、3、5、…（奇数の ID、2 ずつ増える）を開き、別々の"
                                 "ストリームの DATA フレームが 1 本のコネクション上で入り混じります：どの呼び出しも"
                                 "ほかの呼び出しの終わりを待ちません。",
    "caption.mux-bidi": "レッスンの間ずっと開いている双方向ストリーミングの呼び出し",
    "caption.mux-server-stream": "双方向の呼び出しのメッセージの合間に始まるサーバーストリーミング",
    "caption.mux-unary": "ほかの呼び出しが開いている間の unary 呼び出し",
    "caption.mux-client-stream": "ほかの呼び出しが開いている間のクライアントストリーミング",
    "mux.heading": "各呼び出しのすべてのフレームを、1 本のコネクションを通った順に（ストリーム 0 は省略）",
    "mux.stream_line": "ストリーム {stream}：{caption}：{method}、{style}、フレーム {frames} 個、DATA {data} バイト、"
                       "grpc-status {status}",
    "mux.ids": "クライアントが開いたストリームは {ids}：奇数の ID で、新しいものは前より 2 大きくなります。",
    "mux.interleaved": "ストリーム {streams} の DATA フレームがコネクション上で入り混じっています（DATA フレームの"
                       "ストリームを順に並べると {pattern}）。呼び出しはそれぞれ 1 本のストリームで、コネクションは"
                       "共有されています。",
    "mux.not_interleaved": "今回は別々のストリームの DATA フレームは入り混じりませんでした（呼び出しごとに DATA が"
                           "ひと続きでした）が、1 本のコネクションを共有していることに変わりはありません。",
    "mux.row": "{stream_label} {stream:>2}",
    # --- teaching mode in the TUI: footer, title, status, help, the form, the comparison ---------
    "keys_tui": "スペース/→ 次のフレーム · ←/b 前へ · ]/[ 次/前の呼び出し · l ラダー · c コネクション表示 · "
                "x 実験 · Tab ペイン切替 · ? ヘルプ · q 終了",
    "footer.quit": "終了",
    "footer.help": "ヘルプ",
    "footer.toggle_ladder": "一覧/ラダー",
    "footer.connection_view": "コネクション",
    "footer.zoom": "拡大",
    "footer.problems": "問題",
    "footer.search": "検索",
    "footer.goto": "移動",
    "footer.time_mode": "時刻",
    "footer.save": "保存",
    "footer.step_next": "次のフレーム",
    "footer.step_back": "前のフレーム",
    "footer.call_next": "次の呼び出し",
    "footer.call_back": "前の呼び出し",
    "footer.experiment": "実験",
    "footer.dismiss": "閉じる",
    "footer.cancel": "やめる",
    "tui.title": "h2inspect チュートリアル：レッスン {count} 個",
    "tui.status": " {title} · フレーム {frames} 個 · {findings}（p） · {stage}",
    "tui.status_call": " · 呼び出し {number}/{total}：{style}",
    "tui.findings": "検出事項 {count} 件",
    "tui.stage.starting": "起動中",
    "tui.stage.calling": "呼び出し中",
    "tui.stage.done": "完了",
    "tui.stage.failed": "失敗",
    "tui.view.stream": " コネクション {conn} のストリーム {stream} · フレーム {frames} 個 · {view}（l）",
    "tui.view.connection": " コネクション {conn} の全ストリーム · フレーム {frames} 個 · {view}（l）",
    "tui.view.filtered": " · 絞り込み中：{total} 個中 {shown} 個",
    "tui.view.ladder": "ラダー表示",
    "tui.time.capture": "時刻：キャプチャ開始から",
    "tui.time.stream": "時刻：ストリームの最初のフレームから",
    "tui.time.delta": "時刻：前の行から",
    "tui.time.wall": "時刻：実時間",
    "tui.view.list": "一覧表示",
    "tui.search": " · 検索「{needle}」：{count} 件（n/N）",
    "tui.said.ladder": "フレームをラダーで表示",
    "tui.said.list": "フレームを一覧で表示",
    "tui.said.cleared": "検索と絞り込みを解除しました",
    "tui.said.zoomed": "レッスンの欄を隠し、フレームを全幅で表示しています（z でもう一度表示）",
    "tui.said.unzoomed": "レッスンの欄を表示しました",
    "tui.last_call": "これが最後の呼び出しです：] の先には何もありません。x で実験の設定を変えてもう一度実行できます。",
    "tui.first_call": "これが最初の呼び出しです：[ の前には何もありません。",
    "tui.search_box": "ヘッダー、ペイロード、gRPC メッセージを検索（Enter で実行、Esc で閉じる）",
    "tui.goto_box": "移動先：ストリーム（3）、フレーム（f40）、パケット（p7）。Esc で閉じる",
    "tui.help": "h2inspect チュートリアル：キー操作          Esc、q、? で閉じる\n\n"
                "  スペース →     呼び出しの次のフレームと、その説明\n"
                "  ← b            前のフレーム\n"
                "  ] [            次 / 前の呼び出し\n"
                "  l              フレームを一覧またはラダー（クライアント │─▶│ サーバー）で表示\n"
                "  c              コネクション表示：コネクションの全ストリーム\n"
                "  x              実験：レッスンの設定を変えてもう一度実行し、比べる\n"
                "  / n N          検索、次 / 前の一致\n"
                "  :              ストリーム、フレーム、パケットへ移動\n"
                "  p              デコーダーが見つけた問題\n"
                "  t              時刻の列の数え方を切り替え\n"
                "  z              レッスンの欄を隠し、フレームを全幅で表示\n"
                "  w              表示中のものを保存（.pcapng、.jsonl、.mmd）\n"
                "  Tab            次のペインへ（フレームの詳細は ↑ ↓ で読めます）\n"
                "  ?              このヘルプ          q  終了\n\n"
                "画面のフレームはすべて実際にプロキシを通ったものです。HTTP/2 のストリームは\n"
                "gRPC のストリームとは別物です：unary も含め、呼び出しはどれも HTTP/2 ストリーム 1 本です。",
    "form.title": "実験：{lesson} を変えてもう一度実行",
    "form.hint": "Enter で実行 · Esc で閉じる · 空欄はレッスン既定の値 · サイズの末尾に K や M も使えます",
    "form.field.messages": "ストリーミング側が送るメッセージ数",
    "form.field.size": "各メッセージのペイロードのバイト数",
    "form.field.compress": "gzip、deflate、identity のいずれか",
    "form.field.window": "受信側の初期ウィンドウ（バイト）",
    "form.field.max_frame": "受信側の最大フレームサイズ（バイト）",
    "form.field.concurrency": "同時に行う各呼び出しの数",
    "form.field.delay": "メッセージの間隔（ミリ秒）",
    "form.field.deadline": "クライアントが各呼び出しに与える時間（ミリ秒）",
    "form.field.table_size": "HPACK の動的テーブル（バイト）",
    "form.default": "grpcio の既定値",
    "form.running": "{lesson} を {options} でもう一度実行しています…",
    "form.own_values": "レッスン既定の値",
    "form.compared": "今回の実行（{options}）と前回の比較：",
    "form.failed": "実行に失敗しました：{error}",
}

PHRASES = {"en": EN, "ja": JA}


def phrase(lang: str, key: str, **values: object) -> str:
    """One sentence in `lang`, with its placeholders filled."""
    return PHRASES[lang][key].format(**values)
