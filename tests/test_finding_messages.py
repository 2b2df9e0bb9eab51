"""Every finding in Japanese: each rule's title and each message a checker makes, with its numbers.

The forms are checked three ways: as data (every rule has a Japanese title, both templates of a
form keep the same slots, no English prose is left in a Japanese template); against the source
(every message any checker can make, read from its f-string, matches a form of its rule, so a
message no capture makes yet is covered too); and on real findings (every shipped capture's, in
Japanese, with the same numbers as in English). `conftest.py` translates the findings of every
other test as they are made.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from findingskit import check_capture
from jakit import english_words

from inspector.findings import messages as M
from inspector.findings.presets import PRESETS
from inspector.findings.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
HOLE = "\x00"  # where the scan of the source puts a value only known when the check runs
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
# the tests that read `source_sites()`: on one xdist worker, so that the source is scanned once
SOURCE_SCAN = pytest.mark.xdist_group("finding-messages-source-scan")
REPORTERS = {"report", "violation", "_report"}
# where the source makes the words of a slot: (file, how it is made, the argument) -> the kind
PIECE_SITES = {("http2/hpack_decoder.py", "HpackError", 0): "hpack_error",
               ("http2/hpack_decoder.py", "append", 0): "hpack",
               ("http2/payloads.py", "FieldError", 0): "field",
               ("capture/pcapng.py", "PcapngDamage", 0): "pcapng",
               ("tls/connection.py", "_problem", 0): "tls_problem",
               ("capture/layers.py", "_malformed", 0): "header_kind",
               ("capture/layers.py", "_malformed", 1): "example",
               ("capture/tcp.py", "example", None): "example",
               ("capture/load.py", "example", None): "example",
               ("capture/reader.py", "cut_short", None): "cut_short",
               ("capture/inflate.py", "cut_short", None): "inflated",
               ("proxy/forward.py", "BadRequestHead", 0): "bad_head",
               ("proxy/server_names.py", "BadServerName", 0): "server_name",
               ("proxy/relay.py", "return:_describe", None): "describe",
               ("rpc/reflection.py", "ReflectionError", 0): "reflect_error",
               ("rpc/reflection.py", "return:summary", None): "reflect_summary",
               ("rpc/reflection_protocol.py", "ReflectionProtocolError", 0): "protocol_error",
               ("rpc/schema.py", "append", 0): "descriptor_problem",
               ("rpc/reflection.py", "return:_take", None): "descriptor_problem"}
# what the proxy says as it relays: proxy.* findings made where they happen (proxy/, commands/proxy.py)
# by event(rule, message), _event(rule, message), _refuse(rule, status, message); proxy/tls.py's
# certificates say a refused server name through report(message), a proxy.bad-sni (commands/proxy.py)
EVENTS = {"event": (0, 1), "_event": (0, 1), "_refuse": (0, 2)}
EVENT_MODULES = ("proxy/", "commands/proxy.py")
# what a Japanese template may hold that is not prose, besides what jakit knows
NOT_PROSE = [r"\bh2inspect\b", r"\bh2c?\b",  # the program, HTTP/2's ALPN names
             r"（[a-z][a-z ()-]*）",  # the RFC's (or the CVE's) own name after the Japanese
             r"\.(?:pcapng|jsonl|mmd)\b", r"application/grpc\[\+format\]", r"ChaCha20-Poly1305", r"\bIPv[46]\b",
             r"Pad Length", r"\bUpgrade\b", r"\bMermaid\b", r"(?<=\d) s\b", r"\bProxy-Authorization\b", r"xn--\.\.\.",
             r"\bgrpc\.reflection(?:\.v1(?:alpha)?)?\b", r"\bv1alpha\b",  # the reflection protocol's packages
             r"\b[a-z]+(?:_[a-z]+)+\b",  # a protobuf field (list_services, file_descriptor_proto)
             r"(?<![A-Za-z])(?:Enter|Esc|Tab|j/k|[a-zA-Z])(?![A-Za-z])"]  # keys


def _prose(template: str) -> list[str]:
    text = M._SLOT.sub("7", template)
    for pattern in NOT_PROSE:
        text = re.sub(pattern, " ", text)
    return english_words(text)


def _every_form() -> Iterator[tuple[str, str, str]]:
    for rule, (_, forms) in M.RULE_WORDS.items():
        for en, ja in forms:
            yield rule, en, ja
    for kind, forms in M.PIECES.items():
        for en, ja in forms:
            yield kind, en, ja


def test_every_rule_has_a_japanese_title_and_its_forms_keep_every_slot():
    assert set(M.RULE_WORDS) == set(RULES)
    kinds = set(M.PIECES) | set(M.LISTS)
    for where, en, ja in _every_form():
        assert M.slots(en) == M.slots(ja), (where, en, ja)
        for m in M._SLOT.finditer(en):
            assert m.group(2) is None or m.group(2) in kinds, (where, en)
    for separator, item, _ in M.LISTS.values():
        assert item in M.PIECES and separator
    assert all(title for title, _ in M.RULE_WORDS.values())


def test_no_english_prose_is_left_in_a_japanese_template_or_title():
    left = {f"{where}: {ja}": words for where, _, ja in _every_form() if (words := _prose(ja))}
    left |= {f"{rule} title: {title}": words for rule, (title, _) in M.RULE_WORDS.items()
             if (words := _prose(title))}
    assert not left, "\n".join(f"{k}  ← {v}" for k, v in left.items())


NAMES = [r"\b(?:HAProxy|Envoy|nghttp2|nghttpd|curl|Netty)\b",  # the servers whose limits a rule borrows
         r"\b[\w-]+\.pem\b",  # a file the learner is told to trust
         r"\+(?:proto|json)\b",  # content-type suffixes
         r"(?<![\w-])(?:connection|upgrade)(?=・| は)"]  # header names in the list of RFC 9113 §8.2.2


def _japanese_prose(text: str) -> list[str]:
    for pattern in NAMES:
        text = re.sub(pattern, " ", text)
    return _prose(text)


def test_every_rules_explanation_is_japanese_prose():
    """The one sentence each rule has (check --list-rules --lang ja, the problems screen's detail)."""
    left = {f"{rule.id}: {rule.ja}": words for rule in RULES.values() if (words := _japanese_prose(rule.ja))}
    assert not left, "\n".join(f"{k}  ← {v}" for k, v in left.items())
    assert all(rule.ja.endswith("。") for rule in RULES.values())


@SOURCE_SCAN
def test_every_message_the_source_can_make_reads_as_japanese_prose():
    """Each message the checkers can make, its values filled in, read through its form: no English
    words are left but the values themselves (methods, hosts, header names, numbers)."""
    read = 0
    left = {}
    for site in source_sites():
        if site.kind is not None:
            continue
        for sample in site.samples:
            for rule in site.rules:
                said = M.japanese(rule, sample.replace(HOLE, "7"))
                if said is None:
                    continue  # a typed slot whose value a HOLE cannot stand for: read by the real findings
                read += 1
                if words := _japanese_prose(said):
                    left[f"{site.where} {rule}: {said}"] = words
    assert read > 100
    assert not left, "\n".join(f"{k}  ← {v}" for k, v in left.items())


def test_a_message_is_read_back_through_its_form_with_every_number():
    said = M.japanese("flow.refused-stream", "the server refused stream 9 with 1 other client stream open "
                      "(its SETTINGS_MAX_CONCURRENT_STREAMS is 2)")
    assert said == ("サーバーがストリーム 9 を拒否した（クライアントの他のストリーム 1 個がオープン）。"
                    "SETTINGS_MAX_CONCURRENT_STREAMS は 2")
    nested = M.japanese("h2.hpack", "HPACK: index 70 is past the end of the dynamic table at byte 3 of the field "
                        "block; table state 4 is no longer kept (released)")
    assert nested == ("HPACK：インデックス 70 が動的テーブルの範囲外（フィールドブロックの 3 バイト目）。"
                      "テーブル状態 4 はもう保持されていない（解放済み）")
    grouped = M.japanese("h2.stream-id-backwards", "stream 3 opened after stream 5 (and the same on more streams: "
                         "the first 16 are listed apart)")
    assert grouped == "ストリーム 5 の後にストリーム 3 が開かれた（ほかのストリームでも同じ。最初の 16 個は別に挙げた）"
    assert M.japanese("h2.stream-zero", "something no checker says") is None
    assert M.message_in("ja", "h2.stream-zero", "something no checker says") == "something no checker says"
    assert M.message_in("en", "h2.stream-zero", "DATA on stream 0") == "DATA on stream 0"


# ---- every message the source can make ---------------------------------------------------------


class Site(NamedTuple):
    """A place in the source that makes a message: which rules (or the kind of a piece) may carry it."""

    where: str
    rules: tuple[str, ...]
    kind: str | None
    samples: tuple[str, ...]


class _Module:
    """One source file: its string constants and its one-expression functions, for `expand`."""

    def __init__(self, path: Path) -> None:
        self.name = str(path.relative_to(ROOT / "inspector"))
        self.tree = ast.parse(path.read_text())
        self.constants: dict[str, str] = {}
        for n in self.tree.body:  # NAME = "..." and A, B = "...", "..."
            if isinstance(n, ast.Assign):
                names = [n.targets[0]] if isinstance(n.targets[0], ast.Name) else \
                    getattr(n.targets[0], "elts", [])
                values = [n.value] if isinstance(n.targets[0], ast.Name) else getattr(n.value, "elts", [])
                for name, value in zip(names, values, strict=False):
                    if isinstance(name, ast.Name) and isinstance(value, ast.Constant) and isinstance(value.value, str):
                        self.constants[name.id] = value.value
        self.functions = {n.name: n for n in ast.walk(self.tree) if isinstance(n, FUNCTION_NODES)}

    def returned(self, name: str) -> ast.expr | None:
        """What a small function returns, when its body is one `return`."""
        body = [s for s in self.functions[name].body if not (isinstance(s, ast.Expr) and isinstance(s.value,
                                                                                                 ast.Constant))]
        return body[0].value if len(body) == 1 and isinstance(body[0], ast.Return) else None


def _assigned(function: ast.FunctionDef | None) -> dict[str, list[ast.expr]]:
    names: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function) if function is not None else ():
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).append(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Call):
                    for name in target.elts:  # rule, reason = client_handshake_failure(exc): what it returns
                        if isinstance(name, ast.Name):
                            names.setdefault(name.id, []).append(node.value)
    return names


@functools.cache
def _functions() -> dict[str, ast.FunctionDef]:
    """Every module-level function of the source by name (a rule picked by one defined elsewhere);
    read when first asked, not at collection (every xdist worker collects this module)."""
    out = {}
    for path in sorted((ROOT / "inspector").rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, FUNCTION_NODES):
                out.setdefault(node.name, node)
    return out


def expand(node: ast.expr, module: _Module, env: dict[str, list[ast.expr]], depth: int = 0) -> list[str]:
    """Every string `node` can be, a HOLE where a value is only known at run time."""
    if depth > 6:
        return [HOLE]
    again = lambda n: expand(n, module, env, depth + 1)  # noqa: E731
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else [HOLE]
    if isinstance(node, ast.JoinedStr):
        parts = [[p.value] if isinstance(p, ast.Constant) else
                 [HOLE] if p.conversion != -1 or p.format_spec is not None else again(p.value)  # type: ignore[attr-defined]
                 for p in node.values]
        return ["".join(c) for c in itertools.islice(itertools.product(*parts), 200)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a, b in itertools.islice(itertools.product(again(node.left), again(node.right)), 200)]
    if isinstance(node, ast.IfExp):
        return again(node.body) + again(node.orelse)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return [s for value in node.values for s in again(value)]
    if isinstance(node, ast.Name):
        if node.id in env:
            return [s for value in env[node.id] for s in again(value)]
        return [module.constants[node.id]] if node.id in module.constants else [HOLE]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in module.functions:
        returned = module.returned(node.func.id)
        return expand(returned, module, {}, depth + 1) if returned is not None else [HOLE]
    return [HOLE]


def _rules_of(node: ast.expr, module: _Module, env: dict[str, list[ast.expr]],
              function: ast.FunctionDef | None) -> tuple[str, ...]:
    if isinstance(node, ast.Attribute) and node.attr == "rule":  # the rule an error carries: any of them
        return tuple(RULES)
    found = [s for s in expand(node, module, env) if s in RULES]
    if isinstance(node, ast.JoinedStr):  # f"abuse.{kind}-flood"
        pattern = re.compile("".join(".+" if c == HOLE else re.escape(c) for c in expand(node, module, {})[0]))
        found = [r for r in RULES if pattern.fullmatch(r)]
    # a rule a function picks (`_state_rule(...)`, or `rule = ...` of one): the ids that function returns
    for value in [node] + (env.get(node.id, []) if isinstance(node, ast.Name) else []):
        if not found and isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            picker = module.functions.get(value.func.id) or _functions().get(value.func.id)
            found += [n.value for n in ast.walk(picker) if isinstance(n, ast.Constant) and n.value in RULES] \
                if picker is not None else []
    return tuple(dict.fromkeys(found))


@functools.cache
def source_sites() -> tuple[Site, ...]:
    """Every site of the source (scanned once: three tests read it)."""
    sites: list[Site] = []
    for path in sorted((ROOT / "inspector").rglob("*.py")):
        module = _Module(path)

        def visit(node: ast.AST, function: ast.FunctionDef | None, env: dict[str, list[ast.expr]]) -> None:
            if isinstance(node, FUNCTION_NODES):  # its own names, and those of the function around it
                function, env = node, {**env, **_assigned(node)}
            sites.extend(_site(node, module, env, function))  # noqa: B023 (visit runs before the next file)
            for child in ast.iter_child_nodes(node):
                visit(child, function, env)

        visit(module.tree, None, {})
        sites += _damage_sites(module)
    return tuple(s for s in sites if any(sample != HOLE for sample in s.samples))


def _site(node: ast.AST, module: _Module, env: dict[str, list[ast.expr]],
          function: ast.FunctionDef | None) -> list[Site]:
    where = f"{module.name}:{getattr(node, 'lineno', 0)}"
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else ""
        out = []
        if name in REPORTERS and len(node.args) >= 2:
            rules = _rules_of(node.args[0], module, env, function)
            if rules:
                out.append(Site(where, rules, None, tuple(expand(node.args[1], module, env))))
        if module.name.startswith(EVENT_MODULES) and name in EVENTS and len(node.args) > EVENTS[name][1]:
            rules = _rules_of(node.args[EVENTS[name][0]], module, env, function)
            if rules:
                out.append(Site(where, rules, None, tuple(expand(node.args[EVENTS[name][1]], module, env))))
        if module.name == "proxy/tls.py" and name == "report" and len(node.args) == 1:
            out.append(Site(where, ("proxy.bad-sni",), None, tuple(expand(node.args[0], module, env))))
        if name == "Finding" and len(node.args) >= 2 and isinstance(node.args[0], ast.Attribute) \
                and getattr(node.args[0].value, "id", "") == "Severity" and len(node.args) < 8:
            rule = "capture.note" if node.args[0].attr == "INFO" else "capture.damage"
            out.append(Site(where, (rule,), None, tuple(expand(node.args[1], module, env))))
        for (file, maker, argument), kind in PIECE_SITES.items():
            if file != module.name or name != maker:
                continue
            if argument is not None and len(node.args) > argument:
                out.append(Site(where, (), kind, tuple(expand(node.args[argument], module, env))))
        for keyword in node.keywords:
            kind = PIECE_SITES.get((module.name, keyword.arg or "", None))
            if kind is not None:
                out.append(Site(where, (), kind, tuple(expand(keyword.value, module, env))))
        return out
    if isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.ctx, ast.Load) \
            and not any(s in RULES for s in expand(node.elts[1], module, env)):
        # a (rule id, message) to report later: a header rule's (findings/h2.py), --reflect's notes
        rules = _rules_of(node.elts[0], module, env, function)
        if rules and not isinstance(node.elts[0], ast.Call):
            return [Site(where, rules, None, tuple(expand(node.elts[1], module, env)))]
    if isinstance(node, ast.Return) and function is not None and node.value is not None:
        kind = PIECE_SITES.get((module.name, f"return:{function.name}", None))
        if kind is not None:
            return [Site(where, (), kind, tuple(expand(node.value, module, env)))]
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute):
        kind = PIECE_SITES.get((module.name, node.targets[0].attr, None))
        if kind is not None:
            return [Site(where, (), kind, tuple(expand(node.value, module, env)))]
    return []


def _damage_sites(module: _Module) -> list[Site]:
    """capture/damage.py: one function per rule makes its message (`_MESSAGES`)."""
    out = []
    for node in module.tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict) and \
                getattr(node.target, "id", "") == "_MESSAGES":
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                rule = module.constants[key.id]  # type: ignore[union-attr]
                returned = module.returned(value.id)  # type: ignore[attr-defined]
                assert returned is not None
                out.append(Site(f"{module.name}:{value.lineno}", (rule,), None, tuple(expand(returned, module, {}))))
    return out


def _matches(forms: tuple[M.Form, ...], sample: str) -> bool:
    """Whether a form could have made `sample`: its words exactly; a plain slot only where the source
    has a value (HOLEs, or one word it spells there, "ca.pem"); a typed slot one of its kind's forms,
    or a value."""
    return any(re.fullmatch(M.shape(english, plain=r"\S*", hole=HOLE), sample, re.DOTALL)
               for english, _ in forms)


@SOURCE_SCAN
def test_the_scan_finds_the_checkers_messages():
    sites = source_sites()
    rules = {r for s in sites for r in s.rules}
    reported = {r for r in RULES if r not in ("capture.note",)}
    assert reported <= rules, sorted(reported - rules)  # every rule some code reports (capture.note: free words)
    kinds = {s.kind for s in sites} - {None}
    assert set(PIECE_SITES.values()) <= kinds
    assert len(sites) > 120


@SOURCE_SCAN
def test_every_message_the_source_can_make_matches_a_form_of_its_rule():
    missing = []
    for site in source_sites():
        for sample in site.samples:
            if site.kind is not None:
                ok = _matches(M.PIECES[site.kind], sample)
            else:
                ok = any(_matches(M.RULE_WORDS[rule][1], sample) for rule in site.rules)
            if not ok:
                missing.append(f"{site.where} {site.rules or site.kind}: {sample.replace(HOLE, '{…}')!r}")
    assert not missing, "no Japanese form for:\n" + "\n".join(missing)


# ---- real findings -------------------------------------------------------------------------------

NUMBER = re.compile(r"\d+")
CAPTURES = sorted(p for d in ("captures", "captures/abuse", "tutorials/captures") for p in (ROOT / d).glob("*.pcap*"))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_findings_of_every_shipped_capture_read_in_japanese_with_every_number(preset):
    seen: set[str] = set()
    for path in CAPTURES:
        session = check_capture(str(path), preset)
        for finding in session.findings:
            said = M.japanese(finding.rule, finding.message)
            assert said is not None, (path.name, finding.rule, finding.message)
            # every number of the English line is in the Japanese one (which may spell "zero" as 0)
            assert not Counter(NUMBER.findall(finding.message)) - Counter(NUMBER.findall(said)), (finding.message, said)
            values = re.sub(r"/[\w.]+/\w+|\b[a-z]+(?:\.[A-Za-z]+)+\b", " ", said)  # methods, services: data
            assert not _japanese_prose(values), said
            seen.add(finding.rule)
    assert len(seen) >= 10, seen  # the abuse captures and the shipped ones make many kinds
