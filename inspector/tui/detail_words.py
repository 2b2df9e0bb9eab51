"""The words of the frame detail pane, in English and in Japanese.

`describe.frame_detail` fills these in; the tutorial's Japanese mode asks
for "ja". Both tables have the same keys and the same {placeholders} (a test
checks it, and that a Japanese detail carries every number the English one
does), so a translation can never lose a fact. Protocol names (frame types,
flags, SETTINGS parameters, header fields) stay as the RFC spells them.
"""

from __future__ import annotations

from inspector.http2 import frames as F
from inspector.model import Direction, Role, Severity, StreamState

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "{type_name} frame (type 0x{type:02x}) from the {side}, stream {stream}, {length} bytes, "
                 "packet {packet}",
        "flags": "flags 0x{flags:02x}:",
        "undefined": "undefined",
        "not_defined": "not defined for this type",
        "fields": "fields:",
        "header_block": "header block: {role}",
        "hpack": "HPACK: how each field of the block was written on the wire (RFC 7541 §6)",
        "grpc_messages": "gRPC messages:",
        "message": "{label} #{number}: {length} bytes",
        "compressed": ", compressed",
        "message_frames": ", frames {frames}",
        "after": "after this frame: stream {state}; connection windows client {conn_client}, server {conn_server}",
        "after_stream": "; stream windows client {stream_client}, server {stream_server}",
        "payload": "payload ({length} bytes):",
        "no_frames": "no frames",
        "frame_number": ", frame {frame}",
        "time": "time {since} s since capture start ({wall})",
        "time_stream": "; {since} s into stream {stream}",
        "finding": "{mark} {severity}: {message} ({reference})",
        "part_starts": "starts in this frame",
        "part_continues": "continues in this frame",
        "part_ends": "ends in this frame",
        "part_cut_short": "cut short",
    },
    "ja": {
        "title": "{type_name} フレーム（タイプ 0x{type:02x}）{side}から、ストリーム {stream}、{length} バイト、"
                 "パケット {packet}",
        "flags": "フラグ 0x{flags:02x}：",
        "undefined": "未定義",
        "not_defined": "このタイプでは定義されていません",
        "fields": "フィールド：",
        "header_block": "ヘッダーブロック：{role}",
        "hpack": "HPACK：ブロックの各フィールドがワイヤー上でどう書かれたか（RFC 7541 §6）",
        "grpc_messages": "gRPC メッセージ：",
        "message": "{label} #{number}：{length} バイト",
        "compressed": "、圧縮あり",
        "message_frames": "、フレーム {frames}",
        "after": "このフレームの後：ストリーム {state}；コネクションのウィンドウ クライアント {conn_client}、"
                 "サーバー {conn_server}",
        "after_stream": "；ストリームのウィンドウ クライアント {stream_client}、サーバー {stream_server}",
        "payload": "ペイロード（{length} バイト）：",
        "no_frames": "フレームはまだありません",
        "frame_number": "、フレーム {frame}",
        "time": "時刻 キャプチャ開始から {since} 秒（{wall}）",
        "time_stream": "、ストリーム開始から {since} 秒（ストリーム {stream}）",
        "finding": "{mark} {severity}：{message}（{reference}）",
        "part_starts": "このフレームで始まる",
        "part_continues": "このフレームで続く",
        "part_ends": "このフレームで終わる",
        "part_cut_short": "途中で切れている",
    },
}

SIDE = {"en": {Direction.CLIENT: "client", Direction.SERVER: "server"},
        "ja": {Direction.CLIENT: "クライアント", Direction.SERVER: "サーバー"}}

MESSAGE_LABEL = {"en": {"request": "request", "response": "response"},
                 "ja": {"request": "リクエスト", "response": "レスポンス"}}

ROLE_JA = {Role.NONE: "なし（none）", Role.REQUEST: "リクエスト（request）", Role.RESPONSE: "レスポンス（response）",
           Role.INFORMATIONAL: "情報レスポンス 1xx（informational）", Role.TRAILERS: "トレーラー（trailers）",
           Role.PUSH_REQUEST: "プッシュされるリクエスト（push-request）"}

STATE_JA = {StreamState.IDLE: "アイドル（idle）", StreamState.RESERVED_LOCAL: "予約済み（reserved (local)）",
            StreamState.RESERVED_REMOTE: "予約済み（reserved (remote)）", StreamState.OPEN: "オープン（open）",
            StreamState.HALF_CLOSED_LOCAL: "ハーフクローズ（half-closed (local)）",
            StreamState.HALF_CLOSED_REMOTE: "ハーフクローズ（half-closed (remote)）",
            StreamState.CLOSED: "クローズ（closed）"}

FLAG_MEANING = {
    "en": {
        "END_STREAM": "the sender's last frame on this stream",
        "END_HEADERS": "the header block is complete in this frame",
        "PADDED": "padding follows the content",
        "PRIORITY": "stream dependency and weight are present",
        "ACK": "acknowledges the peer's frame",
    },
    "ja": {
        "END_STREAM": "送信側がこのストリームで送る最後のフレーム",
        "END_HEADERS": "ヘッダーブロックがこのフレームで完結する",
        "PADDED": "内容の後にパディングが続く",
        "PRIORITY": "ストリームの依存関係と重みを含む",
        "ACK": "相手のフレームへの確認応答",
    },
}

PURPOSE_JA: dict[int, str] = {
    F.FrameType.DATA: "ストリーム上でメッセージ本体の一部を運びます。フロー制御の対象です。",
    F.FrameType.HEADERS: "ストリームを開くか、フィールドブロック（リクエスト、レスポンス、トレーラー）を HPACK で"
                         "圧縮して運びます。",
    F.FrameType.PRIORITY: "このストリームの優先度についての送信側の見方を伝えます（RFC 9113 で非推奨）。",
    F.FrameType.RST_STREAM: "エラーコードを付けてストリームを直ちに終わらせます。以後そのストリームでは何も"
                            "送られません。",
    F.FrameType.SETTINGS: "この側の上限や設定を相手に伝えます。ACK は相手の SETTINGS を受け取ったという確認です。",
    F.FrameType.PUSH_PROMISE: "サーバーがプッシュするストリームを、それが答えるリクエストとともに予告します。",
    F.FrameType.PING: "往復時間を測るか接続を保ちます。相手は ACK を付けて同じ内容を返します。",
    F.FrameType.GOAWAY: "接続の終了を始めます。最後のストリーム ID より大きいストリームは処理されません。",
    F.FrameType.WINDOW_UPDATE: "フロー制御のウィンドウを広げ、相手がさらに DATA を送れるようにします。",
    F.FrameType.CONTINUATION: "1 つの HEADERS や PUSH_PROMISE に収まらないフィールドブロックの残りを運びます。",
    F.FrameType.ALTSVC: "このオリジンの代替サービスを知らせます。",
    F.FrameType.ORIGIN: "この接続が権威を持つオリジンを列挙します。",
    F.FrameType.PRIORITY_UPDATE: "Priority フィールドでストリームの優先度を更新します。",
}
UNKNOWN_PURPOSE_JA = "このツールが知らないフレームタイプです。RFC 9113 は無視するよう定めており、そのまま表示します。"


def purpose(lang: str, type_code: int) -> tuple[str, str]:
    """(sentence, RFC section) for a frame type, in `lang`."""
    sentence, section = F.frame_purpose(type_code)
    if lang == "ja":
        sentence = PURPOSE_JA.get(type_code, UNKNOWN_PURPOSE_JA)
    return sentence, section


def role_word(lang: str, role: Role) -> str:
    return ROLE_JA[role] if lang == "ja" else role.label


def state_word(lang: str, state: StreamState) -> str:
    return STATE_JA[state] if lang == "ja" else state.label


# The frame views' column names, directions and roles, by language (the tutorial's Japanese mode).
COLUMN_WORDS: dict[str, dict[str, str]] = {
    "en": {"time": "time", "from": "from", "stream": "stream", "s": "s", "type": "type", "flags": "flags",
           "role": "role", "length": "length", "len": "len", "meaning": "what it carries", "client": "client",
           "server": "server", "client_dir": "client ─▶", "server_dir": "◀─ server",
           "client_short": "C▶", "server_short": "◀S",
           "lanes": "a ladder per open stream: client │ on its left, server │ on its right; "
                    "lane 1 is the connection (stream 0)"},
    "ja": {"time": "時刻", "from": "方向", "stream": "ストリーム", "s": "#", "type": "種類", "flags": "フラグ",
           "role": "役割", "length": "長さ", "len": "長さ", "meaning": "内容", "client": "クライアント",
           "server": "サーバー", "client_dir": "クライアント─▶", "server_dir": "◀─サーバー",
           "client_short": "ク▶", "server_short": "◀サ",
           "lanes": "開いているストリームごとの小さなラダー：左の │ がクライアント、右の │ がサーバー。"
                    "レーン 1 はコネクション（ストリーム 0）"},
}
DIRECTION_CELLS = {"en": 9, "ja": 14}  # the spelled direction column, in terminal cells
SHORT_DIRECTION_CELLS = {"en": 2, "ja": 3}  # the same column narrowed to a mark (C▶, ク▶)
COLUMN_ROLES: dict[str, dict[str, tuple[str, str]]] = {
    "ja": {"request": ("リクエストヘッダー", "リクエスト"), "response": ("レスポンスヘッダー", "レスポンス"),
           "informational": ("情報レスポンス 1xx", "1xx"), "trailers": ("トレーラー", "トレーラー"),
           "trailers-only": ("Trailers-Only レスポンス", "Trailers-Only"),
           "push-request": ("プッシュされるリクエスト", "プッシュ")},
}

# The problems view's own words (a finding's message and its rule's title in Japanese are
# in findings/messages.py).
PROBLEM_WORDS: dict[str, dict[str, str]] = {
    "en": {"title": " problems: the session's findings, grouped by rule",
           "none": " no findings: nothing in this session broke a rule the decoder checks",
           "back": "Back", "go": "Go to the frame", "rule": "rule", "see": "see", "no_reference": "(no reference)",
           "conn": "conn", "stream": "stream", "frame": "frame", "packet": "packet", "comma": ", ",
           "dropped": "dropped",
           "session": "the session", "colon": ": "},
    "ja": {"title": " 問題：セッションの検出事項を規則ごとに",
           "none": " 検出事項なし：このセッションにデコーダーが確かめる規則を破ったものはありません",
           "back": "戻る", "go": "フレームへ移動", "rule": "規則", "see": "参照", "no_reference": "（参照なし）",
           "conn": "コネクション", "stream": "ストリーム", "frame": "フレーム", "packet": "パケット", "comma": "、",
           "dropped": "破棄済み",
           "session": "セッション全体", "colon": "："},
}
SEVERITY_WORDS: dict[str, dict[Severity, str]] = {
    "en": {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"},
    "ja": {Severity.ERROR: "エラー", Severity.WARNING: "警告", Severity.INFO: "情報"},
}
PROBLEM_HEADER = {"ja": "  検出事項 {count} 件、{groups} グループ（規則ごと） · Enter：フレームへ移動 · Esc：戻る"}
