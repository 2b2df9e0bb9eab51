"""What the TUI says in its status line and boxes when a key has done something, in English
and in Japanese.

The App says everything through `said(lang, key, ...)`: the tutorial's Japanese mode
sets the App's `lang` and every message of a key (go to, search, save, copy, a finding
chosen) comes in Japanese, with the same numbers. Both tables have the same keys and the
same {placeholders} (a test checks it), as `detail_words` does for the frame detail.
"""

from __future__ import annotations

import errno

SAID: dict[str, dict[str, str]] = {
    "en": {
        "following": "following the newest frame (a stops)",
        "not_following": "not following (a follows)",
        "filters_cleared": "filters cleared to show the frame",
        "went": "went to {where}",
        "where.stream": "stream {stream} of connection {conn_index}",
        "where.connection": "connection {conn_index}",
        "where.frame": "frame {frame}",
        "where.packet": "packet {packet} (frame {frame})",
        "goto.syntax": "go to '{text}': type a stream id (12 or s12), a frame (f40) or a packet (p7)",
        "goto.no_frame": "no frame {number}: frames are 0 to {last}",
        "goto.dropped": "frame {number} was dropped: the live history keeps frames {first} to {last} (--history)",
        "frame_dropped": "its frame was dropped from the live history (--history): {message}",
        "goto.no_packet": "no HTTP/2 frame ends in packet {number}",
        "goto.no_stream": "no stream {number} in any connection",
        "no_matches": "no matches for '{needle}'",
        "search_first": "search first with /",
        "timeline_ladder": "the timeline as a ladder",
        "timeline_list": "the timeline as a list",
        "zoomed": "frames at full width (z: streams back)",
        "unzoomed": "the stream list is back",
        "at_frame": "at the frame of: {message}",
        "at_stream": "at the stream of: {message}",
        "at_connection": "at the connection of: {message}",
        "whole_session": "this finding is about the whole session: {message}",
        "cleared_both": "filters and search cleared",
        "cleared_search": "search cleared",
        "scope.session": "the whole session",
        "scope.connection": "connection {conn_index}",
        "scope.stream": "stream {stream} of connection {conn_index}",
        "save.prompt": "save {what} as (.pcapng, .jsonl or .mmd); Enter saves, Esc cancels",
        "not_saved": "not saved",
        "save.ending": "{path}: end the name with .pcapng, .jsonl or .mmd to choose the format",
        "save.failed": "not saved: {path}: {reason}",
        "saving": "saving {what} to {path}…",
        "saved.pcapng": "saved {what} to {path}: {frames} frames in {packets} packets (pcapng)",
        "saved.jsonl": "saved {what} to {path}: {frames} frames (JSON lines)",
        "saved.mermaid": "saved {what} to {path}: a Mermaid sequence diagram of {frames} frames",
        "copied_detail": "copied the frame detail ({lines} lines) to the clipboard (OSC 52)",
        "copy_where": "put the detail's cursor on a header line (Tab to the detail, j/k) to copy its value",
        "copied_value": "copied the header value '{value}' to the clipboard (OSC 52)",
        "theme": "theme {theme}",
        "reason.not_found": "No such file or directory",
        "reason.denied": "Permission denied",
        "reason.directory": "Is a directory",
        "reason.other": "{reason}",
    },
    "ja": {
        "following": "最新のフレームを追っています（a で止める）",
        "not_following": "最新のフレームを追っていません（a で追う）",
        "filters_cleared": "フレームを表示するために絞り込みを解除しました",
        "went": "移動しました：{where}",
        "where.stream": "コネクション {conn_index} のストリーム {stream}",
        "where.connection": "コネクション {conn_index}",
        "where.frame": "フレーム {frame}",
        "where.packet": "パケット {packet}（フレーム {frame}）",
        "goto.syntax": "移動先「{text}」：ストリーム ID（12 か s12）、フレーム（f40）、パケット（p7）"
                       "のいずれかを入力してください",
        "goto.no_frame": "フレーム {number} はありません：フレームは 0 から {last} までです",
        "goto.dropped": "フレーム {number} は破棄されました：ライブの履歴はフレーム {first} から {last} "
                        "までを保持します（--history）",
        "frame_dropped": "そのフレームはライブの履歴から破棄されました（--history）：{message}",
        "goto.no_packet": "パケット {number} で終わる HTTP/2 フレームはありません",
        "goto.no_stream": "ストリーム {number} はどのコネクションにもありません",
        "no_matches": "「{needle}」は見つかりませんでした",
        "search_first": "まず / で検索してください",
        "timeline_ladder": "フレームをラダーで表示",
        "timeline_list": "フレームを一覧で表示",
        "zoomed": "フレームの表示を全幅にしました（もう一度 z でストリーム一覧に戻る）",
        "unzoomed": "ストリーム一覧に戻りました",
        "at_frame": "検出事項のフレームへ移動しました：{message}",
        "at_stream": "検出事項のストリームへ移動しました：{message}",
        "at_connection": "検出事項のコネクションへ移動しました：{message}",
        "whole_session": "この検出事項はセッション全体についてのものです：{message}",
        "cleared_both": "絞り込みと検索を解除しました",
        "cleared_search": "検索を解除しました",
        "scope.session": "セッション全体",
        "scope.connection": "コネクション {conn_index}",
        "scope.stream": "コネクション {conn_index} のストリーム {stream}",
        "save.prompt": "{what}の保存先（.pcapng、.jsonl、.mmd のいずれかで終わる名前）。Enter で保存、Esc でやめる",
        "not_saved": "保存しませんでした",
        "save.ending": "{path}：形式を選ぶため、名前の末尾を .pcapng、.jsonl、.mmd のいずれかにしてください",
        "save.failed": "保存できませんでした：{path}：{reason}",
        "saving": "{what}を {path} に保存しています…",
        "saved.pcapng": "{what}を {path} に保存しました：フレーム {frames} 個、パケット {packets} 個（pcapng）",
        "saved.jsonl": "{what}を {path} に保存しました：フレーム {frames} 個（JSONL）",
        "saved.mermaid": "{what}を {path} に保存しました：フレーム {frames} 個の Mermaid シーケンス図",
        "copied_detail": "フレームの詳細（{lines} 行）をクリップボードにコピーしました（OSC 52）",
        "copy_where": "値をコピーするには、詳細のカーソルをヘッダーの行に置いてください（Tab で詳細へ、j/k で移動）",
        "copied_value": "ヘッダーの値「{value}」をクリップボードにコピーしました（OSC 52）",
        "theme": "テーマ {theme}",
        "reason.not_found": "ファイルかディレクトリがありません",
        "reason.denied": "書き込みの権限がありません",
        "reason.directory": "ディレクトリです",
        "reason.other": "「{reason}」",
    },
}

_REASONS = {errno.ENOENT: "reason.not_found", errno.EACCES: "reason.denied", errno.EPERM: "reason.denied",
            errno.EISDIR: "reason.directory"}


def said(lang: str, key: str, **values: object) -> str:
    """The words of `key` in `lang` (English when the language has none)."""
    table = SAID.get(lang, SAID["en"])
    return table.get(key, SAID["en"][key]).format(**values)


def os_reason(lang: str, code: int | None, strerror: str) -> str:
    """Why a file could not be written: the system's own words in English; in another language a
    known errno in its words, else the system's text quoted."""
    key = _REASONS.get(code or 0)
    if lang == "en" or key is None:
        return said(lang, "reason.other", reason=strerror)
    return said(lang, key)
