"""`provaudit audit`: declared versus actual license categories, checked against independent oracles.

The DPI oracle below reads the summary JSON itself and applies its own copy of DPI's published rules
(``classify_license`` / ``resolve_multiple_licenses`` / ``map_license_criteria`` in DPI's
``src/helpers/filters.py``): each aggregator's non-empty values are classified by DPI's license
classes and the most restrictive wins; no value at all is "" — omitted. Its license table is written
out here (and checked against DPI's own ``constants/license_classes.json`` in the corpus), not read
from provaudit's ``data/licenses/dpi`` copy; custom licenses are classified by DPI's upstream
``custom_license_classes.json`` in the corpus.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import html5lib
import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES

from provaudit import api
from provaudit.cli import main
from provaudit.rules.audit import audit_records
from provaudit.site.build import build_site
from provaudit.site.review import review

ROOT = Path(__file__).resolve().parents[1]
CATS = ["commercial", "unspecified", "non-commercial", "academic-only"]
DECLARED = [*CATS, "omitted"]
NS = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"

# DPI's license classes (use column only) for every license name the corpus uses, as published in
# constants/license_classes.json @ ce6662d: All → commercial, NC, Acad, Unspecified.
_ALL = """AI2 ImpACT License - Low Risk|Academic Free License v3.0|Apache License 2.0|Artistic License 2.0|
BSD 2-Clause License|BSD 3-Clause License|BigScience OpenRAIL-M|C-UDA|CC BY 2.5|CC BY 3.0|CC BY 4.0|CC BY-SA|
CC BY-SA 2.0|CC BY-SA 3.0|CC BY-SA 4.0|CC0 1.0|CDLA Permissive 1.0|CDLA Sharing 1.0|EPL 1.0|
GNU General Public License v2.0|GNU General Public License v3.0|ISC License|LGPL 2.1|LGPL 3.0|
LMSYS-Chat-1M Dataset License|Llama 2|MIT License|MPL 2.0|Meta Llama3 Community License|No License|OANC|
ODC BY 1.0|Open Access"""
_NC = """Anthropic|CC BY-NC 2.0|CC BY-NC 3.0|CC BY-NC 4.0|CC BY-NC-ND 4.0|CC BY-NC-SA 3.0|CC BY-NC-SA 4.0|
Google Cloud Translation API|Non Commercial|OpenAI"""
_ACAD = "Academic Research Purposes Only|Microsoft Data Licensing Agreement|Request Form|Various"
DPI_USE = {
    **{n.strip(): "All" for n in _ALL.split("|")},
    **{n.strip(): "NC" for n in _NC.split("|")},
    **{n.strip(): "Acad" for n in _ACAD.split("|")},
    "Unspecified": "Unspecified",
}
AGGREGATORS = {
    "huggingface": ("HF Yaml License", "HF Config License"),
    "github": ("GitHub License",),
    "paperswithcode": ("PwC License Name",),
}


def resolve(uses: list[str]) -> str:
    """DPI's resolve_multiple_licenses, use column only; "" (no license) is returned as None."""
    if "?" in uses or "Acad" in uses:
        return "academic-only"
    if "NC" in uses:
        return "non-commercial"
    if "Unspecified" in uses:
        return "unspecified"
    return "commercial"


def dpi_expected(folder: Path, custom: dict[str, list[str]]) -> dict[str, Any]:
    """The audit table DPI's rules give for a folder of summaries: per source, actual × declared."""
    entries: dict[str, dict[str, Any]] = {}
    for file in sorted(folder.glob("*.json")):
        if file.name.startswith("_"):
            continue
        for uid, entry in json.loads(file.read_text(encoding="utf-8")).items():
            entries.setdefault(uid, entry)  # the same uid in two files (PII-Masking-200k) is one dataset
    matrix = {s: {a: dict.fromkeys(DECLARED, 0) for a in CATS} for s in AGGREGATORS}
    for entry in entries.values():
        uses = []
        for item in entry["Licenses"]:
            if item["License"] == "Custom":
                uses.append(custom.get(item.get("License URL") or "", ["?"])[0])
            else:
                uses.append(DPI_USE[item["License"]])
        # DPI's code gives "" for an empty Licenses list; provaudit's dpi policy says unspecified (documented)
        actual = resolve(uses) if uses else "unspecified"
        inferred = entry.get("Inferred Metadata") or {}
        for source, fields in AGGREGATORS.items():
            declared = [DPI_USE[v] for f in fields if (v := inferred.get(f))]
            matrix[source][actual][resolve(declared) if declared else "omitted"] += 1
    return {"records": len(entries), "matrix": matrix}


_SCANS: dict[Path, Path] = {}


def scanned(folder: Path, tmp_factory: pytest.TempPathFactory) -> Path:
    """A store holding a scan of the folder, made once per test session."""
    if folder not in _SCANS:
        store = tmp_factory.mktemp("audit-store") / "store"
        result = CliRunner().invoke(
            main, ["scan", str(folder), "--store", str(store), "--no-digests", "--fail-on", "never"]
        )
        assert result.exit_code == 0, result.output
        _SCANS[folder] = store
    return _SCANS[folder]


def run_audit(store: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["audit", "--store", str(store), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _compare(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got["records"] == expected["records"]
    sources = {s["source"]: s for s in got["sources"]}
    assert set(sources) == set(AGGREGATORS)
    for source, want in expected["matrix"].items():
        table = sources[source]
        assert table["records"] == expected["records"], source
        for actual in CATS:
            for declared in DECLARED:
                assert table["matrix"][actual][declared] == want[actual][declared], (source, actual, declared)
        # the four outcomes, from the oracle's own matrix
        order = {c: i for i, c in enumerate(CATS)}
        counts: Counter[str] = Counter()
        for actual, row in want.items():
            for declared, n in row.items():
                if declared == "omitted":
                    counts["omitted"] += n
                elif order[declared] == order[actual]:
                    counts["same"] += n
                elif order[declared] < order[actual]:
                    counts["more_permissive"] += n
                else:
                    counts["less_permissive"] += n
        for key in ("omitted", "same", "more_permissive", "less_permissive"):
            assert table[key] == counts[key], (source, key)


def test_dpi_table_equals_dpi_rules_on_the_whole_corpus(
    shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = shared_corpus / "dpi" / "data_summaries"
    constants = shared_corpus / "dpi" / "constants"
    published = json.loads((constants / "license_classes.json").read_text())
    # this file's own table is a faithful copy of DPI's published classes
    assert {name: published[name][0] for name in DPI_USE} == DPI_USE
    custom = json.loads((constants / "custom_license_classes.json").read_text())
    expected = dpi_expected(folder, custom)
    got = json.loads(run_audit(scanned(folder, tmp_path_factory), "--policy", "dpi", "--format", "json"))
    assert got["policy"] == "dpi"
    assert got["records"] == 3093
    _compare(got, expected)
    hf = next(s for s in got["sources"] if s["source"] == "huggingface")
    # a Hub "Unspecified" (DPI's reading of unknown/other) is a declaration, not an omission
    assert sum(row["unspecified"] for row in hf["matrix"].values()) == 146


def test_dpi_table_on_the_fixture_summaries(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path) -> None:
    folder = FIXTURES / "dpi"
    custom = json.loads((shared_corpus / "dpi" / "constants" / "custom_license_classes.json").read_text())
    got = json.loads(run_audit(scanned(folder, tmp_path_factory), "--policy", "dpi", "--format", "json"))
    _compare(got, dpi_expected(folder, custom))


def test_by_collection_splits_the_table_by_dpi_collection(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = FIXTURES / "dpi"
    got = json.loads(
        run_audit(scanned(folder, tmp_path_factory), "--policy", "dpi", "--by", "collection", "--format", "json")
    )
    expected: Counter[str] = Counter()
    uids: set[str] = set()
    for file in folder.glob("*.json"):
        for uid, entry in json.loads(file.read_text()).items():
            if uid not in uids:
                uids.add(uid)
                expected[entry["Collection"]] += 1
    assert {c["collection"]: c["records"] for c in got["collections"]} == dict(expected)
    for source in AGGREGATORS:
        whole = next(s for s in got["sources"] if s["source"] == source)["matrix"]
        parts = [next(s for s in c["sources"] if s["source"] == source)["matrix"] for c in got["collections"]]
        for actual in CATS:
            for declared in DECLARED:
                assert whole[actual][declared] == sum(p[actual][declared] for p in parts)


def test_by_creator_counts_dpi_observations(tmp_path_factory: pytest.TempPathFactory, shared_corpus: Path) -> None:
    folder = FIXTURES / "dpi"
    groups = json.loads((shared_corpus / "dpi" / "constants" / "creator_groups.json").read_text())
    kind_of = {name: kind for kind, names in groups.items() for name in names}
    got = json.loads(
        run_audit(scanned(folder, tmp_path_factory), "--policy", "dpi", "--by", "creator", "--format", "json")
    )
    obs = got["observations"]
    kinds: Counter[str] = Counter()
    synthetic = 0
    seen: set[str] = set()
    for file in folder.glob("*.json"):
        for uid, entry in json.loads(file.read_text()).items():
            if uid in seen:
                continue
            seen.add(uid)
            for kind in {kind_of.get(c, "(not in DPI's groups)") for c in entry.get("Creators") or []}:
                kinds[kind] += 1
            synthetic += bool(entry.get("Model Generated"))
    assert {row["name"]: row["records"] for row in obs["creator_kinds"]} == dict(kinds)
    by_synth = {row["name"]: row["records"] for row in obs["synthetic"]}
    assert by_synth.get("model-generated", 0) == synthetic
    assert sum(by_synth.values()) == len(seen) == got["records"]


# --- cards: card YAML versus LICENSE file versus dataset_infos versus Hub tags versus effective -------

# this test's own reading of Hub license ids (only plainly classified ones; `other` needs its name)
HUB_USE = {
    "apache-2.0": "commercial", "mit": "commercial", "cc-by-4.0": "commercial", "cc-by-3.0": "commercial",
    "cc-by-sa-4.0": "commercial", "cc-by-sa-3.0": "commercial", "cc0-1.0": "commercial",
    "bsd-3-clause": "commercial", "cc-by-nc-4.0": "non-commercial", "cc-by-nc-sa-4.0": "non-commercial",
    "cc-by-nc-nd-4.0": "non-commercial", "unknown": "unspecified",
}  # fmt: skip
CARD_DIRS = [
    FIXTURES / "cards" / "datasets",
    FIXTURES / "cards" / "models",
    FIXTURES / "hub" / "models",
    FIXTURES / "datasets_info",
]


def _strictest(values: list[str]) -> str | None:
    """The most restrictive category of Hub license ids, None when one is not in HUB_USE."""
    uses = [HUB_USE.get(str(v).strip().lower()) for v in values]
    if any(u is None for u in uses):
        return None
    return max(uses, key=CATS.index) if uses else "omitted"  # type: ignore[arg-type]


def _front_matter(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    match = re.match(r"---\s*\n(.*?)\n---", text, re.S)
    data = yaml.safe_load(match.group(1)) if match else None
    return data if isinstance(data, dict) else {}


def _as_list(value: Any) -> list[str]:
    return [] if value in (None, "") else [str(v) for v in (value if isinstance(value, list) else [value])]


def card_oracle(folder: Path) -> dict[str, str | None]:
    """What each source of one record folder declares, by this test's own reading of its files."""
    meta = _front_matter(folder / "README.md")
    card = [v for key in ("license", "licence", "licenses") for v in _as_list(meta.get(key))]
    manifest_path = folder / "hub_manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text()) if manifest_path.exists() else {}
    tags = _as_list(manifest.get("licence")) + [t[8:] for t in manifest.get("tags") or [] if t.startswith("license:")]
    infos = []
    for name in ("dataset_infos.json", "dataset_info.json"):
        if (folder / name).exists():
            data = json.loads((folder / name).read_text())
            configs = data.values() if name == "dataset_infos.json" else [data]
            infos += [c["license"] for c in configs if isinstance(c, dict) and (c.get("license") or "").strip()]
    licence_files = [p for p in folder.iterdir() if re.match(r"(LICEN[CS]E|COPYING)", p.name, re.I)]
    return {
        "card": _strictest(card),
        "hub_tags": _strictest(tags),
        "dataset_infos": _strictest(infos),
        "license_file": "omitted" if not licence_files else None,
    }


def test_cards_table_matches_the_files(tmp_path: Path) -> None:
    store = tmp_path / "store"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", *map(str, CARD_DIRS), "--store", str(store), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    got = json.loads(run_audit(store, "--format", "json"))
    reviewed = json.loads(runner.invoke(main, ["review", "--store", str(store), "--format", "json"]).output)
    # a verdict that waits for an upstream not audited is its own row: a declaration is not compared with it
    actual = {
        r["id"]: "unaudited" if not r["complete"] and r["use"] == "unspecified" else r["use"]
        for r in reviewed["records"]
    }
    with api.open_store(store, read_only=True) as db:
        records = list(db.records(light=True))
    keys = audit_records(records, "default").cell_keys  # per record, to compare with the files

    sources = {s["source"]: s for s in got["sources"]}
    assert set(sources) == {"card", "card_prose", "license_file", "dataset_infos", "hub_tags"}
    assert got["records"] == len(records) == len(actual)
    # the JSON table is the per-record cells counted by the review's verdicts
    for name, table in sources.items():
        counted: dict[str, Counter[str]] = defaultdict(Counter)
        for rid, cells in keys.items():
            for cell in cells:
                source, declared = cell.split(":", 1)
                if source.removeprefix("unaudited.") == name:
                    counted[actual[rid]][declared] += 1
        assert ("unaudited" in table["matrix"]) == bool(counted["unaudited"])
        for a in (*CATS, "unaudited"):
            for d in DECLARED:
                assert table["matrix"].get(a, {}).get(d, 0) == counted[a][d], (name, a, d)
        # never "more permissive" than a verdict the evidence has not completed
        assert table["unaudited"] == sum(n for d, n in counted["unaudited"].items() if d != "omitted")

    checked: Counter[str] = Counter()
    for base in CARD_DIRS:
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            found = [r.id for r in records if (r.location or "").rstrip("/") == str(folder.resolve())]
            if not found:
                continue
            rid = found[0]
            for source, expected in card_oracle(folder).items():
                if expected is None or (source == "dataset_infos" and not rid.startswith("dataset:")):
                    continue
                prefix = "unaudited." if actual[rid] == "unaudited" else ""
                assert f"{prefix}{source}:{expected}" in keys[rid], (rid, source, expected, keys[rid])
                checked[source] += 1
    assert checked["card"] >= 20 and checked["hub_tags"] >= 15 and checked["license_file"] >= 40
    assert checked["dataset_infos"] >= 3
    # Llama 2's LICENSE.txt (no license in its card): the only record whose LICENSE file declares
    assert "license_file:commercial" in keys["model:meta-llama/Llama-2-7b-hf"]
    assert "card:omitted" in keys["model:meta-llama/Llama-2-7b-hf"]
    assert sources["license_file"]["omitted"] == got["records"] - 1
    # CarperAI's delta weights: card and Hub tags say non-commercial, as the review does
    assert {"card:non-commercial", "hub_tags:non-commercial"} <= set(keys["model:CarperAI/stable-vicuna-13b-delta"])
    assert actual["model:CarperAI/stable-vicuna-13b-delta"] == "non-commercial"


def test_demo_collection_has_both_families_and_every_format(tmp_path: Path) -> None:
    store = tmp_path / "store"
    demo = ROOT / "data" / "demo"
    targets = [str(demo / "datasets"), str(demo / "models"), str(demo / "dpi")]
    result = CliRunner().invoke(main, ["scan", *targets, "--store", str(store), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    got = json.loads(run_audit(store, "--format", "json"))
    names = [s["source"] for s in got["sources"]]
    assert names[:3] == ["huggingface", "github", "paperswithcode"] and "card" in names
    hf = got["sources"][0]
    assert hf["records"] == sum(len(json.loads(p.read_text())) for p in (demo / "dpi").glob("*.json"))
    for table in got["sources"]:
        total = sum(n for row in table["matrix"].values() for n in row.values())
        assert (
            total
            == table["records"]
            == sum(table[k] for k in ("omitted", "same", "more_permissive", "less_permissive", "unaudited"))
        )
    # csv: one row per cell, the same counts
    rows = run_audit(store, "--format", "csv").splitlines()
    assert rows[0] == "group,source,actual,declared,records,outcome"
    csv_total = sum(int(r.split(",")[4]) for r in rows[1:])
    assert csv_total == sum(t["records"] for t in got["sources"])
    text = run_audit(store)
    md = run_audit(store, "--format", "md")
    assert "Hugging Face" in text and "| actual \\ declared |" in md
    out = tmp_path / "audit.html"
    run_audit(store, "--format", "html", "--out", str(out))
    root = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(out.read_bytes())
    assert len(list(root.iter(f"{NS}table"))) == 1 + len(got["sources"])
    assert next(root.iter(f"{SVG}svg")).get("role") == "img"


# --- the site ---------------------------------------------------------------------------------------


def _parse(path: Path) -> Any:
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(path.read_bytes())


def test_site_audit_page_and_collection_card_link_cells_to_the_catalog(tmp_path: Path) -> None:
    records = api.collect([str(FIXTURES / "site"), str(FIXTURES / "dpi" / "Alpaca.json")])
    report = review(records)
    out = tmp_path / "site"
    build_site(records, report, out, workers=1)
    from provaudit.site.shards import read_rows

    rows = read_rows(out, "catalog")
    search_js = (ROOT / "site" / "static" / "search.js").read_text()
    assert 'name === "audit"' in search_js and "r[f.audit].indexOf(auditCell)" in search_js

    pages = [out / "audit.html", *sorted((out / "collections").glob("*.html"))]
    assert len(pages) >= 3
    links = 0
    for page in pages:
        root = _parse(page)
        matrices = [t for t in root.iter(f"{NS}table") if "audit-matrix" in (t.get("class") or "")]
        charts = [s for s in root.iter(f"{SVG}svg") if "audit-chart" in (s.get("class") or "")]
        assert matrices and len(charts) == 1, page
        for table in matrices:
            for cell in table.iter(f"{NS}td"):
                link = cell.find(f"{NS}a")
                if link is None:
                    continue
                href = urlsplit(link.get("href"))
                assert (page.parent / href.path).resolve() == (out / "index.html").resolve()
                query = {k: v[0] for k, v in parse_qs(href.fragment).items()}
                source, declared = query["audit"].split(":")
                assert source.removeprefix("unaudited.") == table.get("data-source")
                assert declared == cell.get("data-declared")
                # what search.js filters on: use, the collection, and the record's audit cells
                matching = [
                    r
                    for r in rows
                    if r["use"] == query.get("use", r["use"])
                    and query["audit"] in r["audit"]
                    and ("collection" not in query or query["collection"] in r["collections"])
                ]
                assert len(matching) == int(link.text) > 0, (page.name, query)
                links += 1
    assert links >= 10
    audit_page = (out / "audit.html").read_text()
    assert "Hugging Face" in audit_page and "Card YAML" in audit_page
    # the DPI collection's card shows DPI's other observations as charts
    alpaca = next(p for p in pages if "Alpaca" in p.read_text() and p.parent.name == "collections")
    assert "Creators by kind (DPI groups)" in alpaca.read_text()
