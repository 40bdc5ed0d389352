"""Make the hostile corpus of issue 12 in a folder: inputs that cannot be committed (FIFOs, device links,
symlinks out of the root, huge files, non-UTF-8 names, unreadable folders) are made here, on demand.

Each case builds its files under ``<root>/<case name>`` and returns the provaudit command line to run
(``{store}`` stands for the store), or several command lines run in turn (a scan, then ``review`` and
``export`` of what it stored). ``mention`` is text the output must contain (it names the file).
``LISTENER`` is the URL of a loopback listener that must see no connection (the test sets it).
Run as a script to make the corpus and print the commands::

    python tests/hostile/make_corpus.py hostile-corpus
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MARKER = "PROVAUDIT-OUTSIDE-MARKER-7f3a9c"  # in every file outside the root: never in a store, export or site
LISTENER = "http://127.0.0.1:9/"  # tests/test_hostile.py points it at a loopback listener counting connections
CARD = "---\nlicense: mit\npretty_name: {name}\n---\n# {name}\n\nA dataset card.\n"


@dataclass
class Case:
    name: str
    build: Callable[[Path, Path], list[str] | list[list[str]]]  # (case, outside folder) → provaudit arguments
    mention: str  # the output names this (the file, or the reason)
    codes: tuple[int, ...] = (0, 1)
    # paths a user without the permission cannot open (the case chmods them); needs a user that
    # permissions apply to (root reads everything: tests/test_hostile.py then emulates EACCES for them)
    locked: tuple[str, ...] = ()


def outside(out: Path) -> Path:
    """The folder outside every scan root, holding files with the marker."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "secret.md").write_text(f"---\nlicense: apache-2.0\n---\n# {MARKER}\n{MARKER}\n")
    (out / "passwd").write_text(f"root:x:0:0:{MARKER}:/root:/bin/bash\n")
    (out / "record").mkdir(exist_ok=True)
    (out / "record" / "README.md").write_text(CARD.format(name=MARKER))
    return out


def record(folder: Path, name: str = "rec", card: str | None = None) -> Path:
    path = folder / "datasets" / name
    path.mkdir(parents=True, exist_ok=True)
    if card is not None:
        (path / "README.md").write_text(card)
    return path


def scan(target: Path, *extra: str) -> list[str]:
    return ["scan", str(target), "--store", "{store}", "--json", *extra]


def _readme_link(d: Path, o: Path) -> list[str]:
    (record(d) / "README.md").symlink_to(o / "secret.md")
    return scan(d)


def _license_link(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="lic"))
    (rec / "LICENSE").symlink_to(o / "passwd")
    return scan(d)


def _data_link(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="data"))
    (rec / "train.jsonl").symlink_to(o / "passwd")
    return scan(d)


def _folder_link(d: Path, o: Path) -> list[str]:
    record(d, "good", CARD.format(name="good"))
    (d / "datasets" / "evil").symlink_to(o / "record", target_is_directory=True)
    return scan(d)


def _parent_escape(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="esc"))
    (rec / "NOTICE").symlink_to(Path(os.path.relpath(o / "passwd", rec)))
    return scan(d)


def _readme_devzero(d: Path, o: Path) -> list[str]:
    (record(d) / "README.md").symlink_to("/dev/zero")
    return scan(d)


def _readme_fifo(d: Path, o: Path) -> list[str]:
    os.mkfifo(record(d) / "README.md")
    return scan(d)


def _readme_socket(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="sock"))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(rec / "events.sock"))
    sock.close()
    return scan(d)


def _readme_dangling(d: Path, o: Path) -> list[str]:
    (record(d) / "README.md").symlink_to(d / "nowhere.md")
    return scan(d)


def _info_fifo(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="info"))
    os.mkfifo(rec / "dataset_infos.json")
    return scan(d)


def _deep_json(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="deep"))
    (rec / "dataset_infos.json").write_text("[" * 200_000 + "]" * 200_000)
    return scan(d)


def _deep_config(d: Path, o: Path) -> list[str]:
    rec = d / "models" / "deepmodel"
    rec.mkdir(parents=True)
    (rec / "README.md").write_text("---\nlicense: mit\nlibrary_name: transformers\n---\n")
    (rec / "config.json").write_text('{"a":' * 50_000 + "1" + "}" * 50_000)
    return scan(d)


def _deep_yaml(d: Path, o: Path) -> list[str]:
    record(d, card="---\nlicense: mit\ntags: " + "[" * 5000 + "]" * 5000 + "\n---\n")
    return scan(d)


def _billion_laughs(d: Path, o: Path) -> list[str]:
    lines = ["---", "license: mit", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines += ["tags: *a9", "---"]
    record(d, card="\n".join(lines) + "\n")
    return scan(d)


def _yaml_cycle(d: Path, o: Path) -> list[str]:
    record(d, card="---\nlicense: mit\ntags: &t [a, *t]\n---\n")
    return scan(d)


def _duplicate_keys(d: Path, o: Path) -> list[str]:
    record(d, card="---\nlicense: mit\nlicense: cc-by-nc-4.0\n---\n# dup\n")
    return scan(d)


def _wrong_types(d: Path, o: Path) -> list[str]:
    card = (
        "---\nlicense: {a: b}\nlicense_name: [1, 2]\nlicense_link: {x: 1}\nbase_model: [{x: 1}, 3]\n"
        "datasets: {a: 1}\nmodel-index: just text\ntags: 5\nsource_datasets: {x: y}\nlanguage: [[en]]\n"
        "pretty_name: {n: 1}\n---\n"
    )
    rec = d / "models" / "wrong"
    rec.mkdir(parents=True)
    (rec / "README.md").write_text(card)
    (rec / "hub_manifest.yaml").write_text("tags: 7\nowned_by: [x]\nlicence: {a: 1}\nobject: model\n")
    (rec / "config.json").write_text('{"_name_or_path": {"a": 1}, "architectures": "x"}')
    (rec / "adapter_config.json").write_text('["not", "an", "object"]')
    return scan(d)


def _yaml_list(d: Path, o: Path) -> list[str]:
    record(d, card="---\n- license\n- mit\n---\n")
    return scan(d)


def _manifest_list(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="man"))
    (rec / "hub_manifest.yaml").write_text("- a\n- b\n")
    return scan(d)


def _binary_card(d: Path, o: Path) -> list[str]:
    (record(d) / "README.md").write_bytes(b"---\nlicense: mit\n---\n\x00\x01\x02" * 100)
    return scan(d)


def _latin1_card(d: Path, o: Path) -> list[str]:
    (record(d) / "README.md").write_bytes("---\nlicense: mit\npretty_name: café\n---\n".encode("latin-1"))
    return scan(d)


def _non_utf8_names(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="names"))
    (rec / os.fsdecode(b"donn\xe9es.txt")).write_text("data\n")
    odd = d / "datasets" / os.fsdecode(b"r\xe9c")
    odd.mkdir()
    (odd / "README.md").write_text(CARD.format(name="odd"))
    (odd / os.fsdecode(b"LICENSE-\xff")).write_text("MIT License\n")
    return scan(d)


def _huge_card(d: Path, o: Path) -> list[str]:
    with (record(d) / "README.md").open("wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    return scan(d)


def _huge_front_matter(d: Path, o: Path) -> list[str]:
    block = "tags:\n" + "- tag\n" * (50 * 1024 * 1024 // 6)
    record(d, card=f"---\nlicense: mit\n{block}---\n")
    return scan(d, "--max-file-bytes", str(100 * 1024 * 1024))


def _many_files(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="many"))
    for i in range(60):
        (rec / f"part-{i:03d}.txt").write_text(str(i))
    return scan(d, "--max-files", "50")


def _readme_is_folder(d: Path, o: Path) -> list[str]:
    rec = record(d)
    (rec / "README.md").mkdir()
    (rec / "dataset_info.json").write_text('{"license": "mit"}')
    return scan(d)


def _collection_readme(d: Path, o: Path) -> list[str]:
    record(d, "one", CARD.format(name="one"))
    (d / "README.md").write_text("# A collection\n\nNot a card.\n")
    return scan(d)


def _unreadable_subfolder(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="locked-sub"))
    (rec / "private").mkdir()
    (rec / "private" / "x.txt").write_text("x")
    (rec / "private").chmod(0)
    return scan(d)


def _locked_record(d: Path, o: Path) -> list[str]:
    record(d, "open", CARD.format(name="open"))
    rec = record(d, "locked", CARD.format(name="locked"))
    rec.chmod(0)
    return scan(d)


def _unreadable_card(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="nocard"))
    (rec / "README.md").chmod(0)
    return scan(d)


# --- DPI summaries ---------------------------------------------------------------------------------

DPI_ENTRY = {"Dataset Name": "x", "Collection": "c", "Licenses": [{"License": "MIT", "License URL": "https://x"}]}


def dpi_folder(d: Path, good: bool = True) -> Path:
    folder = d / "dpi"
    folder.mkdir(parents=True)
    if good:
        (folder / "Good.json").write_text(json.dumps({"good": DPI_ENTRY}))
    return folder


def _dpi_fifo(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    os.mkfifo(folder / "Pipe.json")
    return scan(folder)


def _dpi_devzero(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    (folder / "Zero.json").symlink_to("/dev/zero")
    return scan(folder)


def _dpi_outside(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    (o / "Leak.json").write_text(json.dumps({"leak": {**DPI_ENTRY, "Dataset Name": MARKER}}))
    (folder / "Leak.json").symlink_to(o / "Leak.json")
    return scan(folder)


def _dpi_not_object(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    (folder / "List.json").write_text(json.dumps([DPI_ENTRY]))
    return scan(folder)


def _dpi_licenses_string(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d, good=False)
    (folder / "Str.json").write_text(json.dumps({"strlic": {**DPI_ENTRY, "Licenses": "MIT"}}))
    return scan(folder)


def _dpi_wrong_types(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    entries = {
        "a": {**DPI_ENTRY, "Licenses": ["MIT", 3, None, {"License": {"x": 1}}], "Inferred Metadata": "x"},
        "b": "not a record",
        "c": {**DPI_ENTRY, "Derived from Datasets": {"a": 1}, "Creators": 5, "Languages": {"en": 1}},
        "d": {**DPI_ENTRY, "Hugging Face URL": ["x"], "Unique Dataset Identifier": {"x": 1}},
    }
    (folder / "Types.json").write_text(json.dumps(entries))
    return scan(folder)


def _dpi_deep(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    (folder / "Deep.json").write_text('{"Licenses": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return scan(folder)


def _dpi_broken(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d)
    (folder / "Broken.json").write_text('{"Licenses": [')
    return scan(folder)


# --- the edges: stores and queries -----------------------------------------------------------------


def _garbage_store_json(d: Path, o: Path) -> list[str]:
    store = d / "store"
    store.mkdir(parents=True)
    (store / "store.json").write_text("\x00garbage{")
    return ["scans", "--store", str(store)]


def _foreign_store_json(d: Path, o: Path) -> list[str]:
    store = d / "store"
    store.mkdir(parents=True)
    (store / "store.json").write_text('{"format": "something-else"}')
    (store / "oxigraph").mkdir()
    return ["scan", str(record(d, card=CARD.format(name="f")).parent), "--store", str(store)]


def _corrupt_rocksdb(d: Path, o: Path) -> list[str]:
    store = d / "store"
    (store / "oxigraph").mkdir(parents=True)
    (store / "store.json").write_text('{"format": "provaudit-oxigraph", "version": 1}')
    (store / "oxigraph" / "CURRENT").write_text("MANIFEST-999999\n")
    return ["scan", str(record(d, card=CARD.format(name="c")).parent), "--store", str(store)]


def _store_under_a_file(d: Path, o: Path) -> list[str]:
    d.mkdir(parents=True)
    (d / "file").write_text("x")
    return ["scan", str(record(d, card=CARD.format(name="s")).parent), "--store", str(d / "file" / "store")]


def _store_read_only_parent(d: Path, o: Path) -> list[str]:
    parent = d / "ro"
    parent.mkdir(parents=True)
    parent.chmod(0o555)
    return ["scan", str(record(d, card=CARD.format(name="r")).parent), "--store", str(parent / "store")]


def _query_devzero(d: Path, o: Path) -> list[str]:
    return ["query", "@/dev/zero", "--store", "{store}"]


def _query_fifo(d: Path, o: Path) -> list[str]:
    d.mkdir(parents=True)
    os.mkfifo(d / "q.rq")
    return ["query", f"@{d / 'q.rq'}", "--store", "{store}"]


def _query_missing(d: Path, o: Path) -> list[str]:
    return ["query", f"@{d / 'missing.rq'}", "--store", "{store}"]


def _query_syntax(d: Path, o: Path) -> list[str]:
    return ["query", "SELECT ?x WHERE { ?x", "--store", "{store}"]


def _missing_target(d: Path, o: Path) -> list[str]:
    return scan(d / "does-not-exist")


# --- issue 19 and 22: UMR, Croissant contexts, SPDX, expressions, lineage, store folders --------------

UMR = "mr:\n  type: model\n  metadata:\n    name: {name}\n    license: mit\n"


def _umr(d: Path, pkg: str, text: str) -> Path:
    folder = d / "umr" / pkg
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{pkg}-1.0.0.yaml").write_text(text)
    return d / "umr"


def _umr_bomb(d: Path, o: Path) -> list[str]:
    lines = ["mr:", "  type: model", "  metadata:", "    name: bomb", '    a0: &a0 ["lol","lol","lol","lol","lol"]']
    lines += [f"    a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines += ["    tags: *a9"]
    _umr(d, "good", UMR.format(name="good"))
    return scan(_umr(d, "bomb", "\n".join(lines) + "\n"))


def _umr_deep(d: Path, o: Path) -> list[str]:
    _umr(d, "good", UMR.format(name="good"))
    return scan(_umr(d, "deep", UMR.format(name="deep") + "    tags: " + "[" * 50_000 + "]" * 50_000 + "\n"))


def _umr_outside(d: Path, o: Path) -> list[str]:
    root = _umr(d, "good", UMR.format(name="good"))
    (o / "leak-1.0.0.yaml").write_text(UMR.format(name="leak") + f"    description: {MARKER}\n")
    (root / "leak").mkdir()
    (root / "leak" / "leak-1.0.0.yaml").symlink_to(o / "leak-1.0.0.yaml")
    return scan(root)


def _umr_fifo(d: Path, o: Path) -> list[str]:
    root = _umr(d, "good", UMR.format(name="good"))
    (root / "pipe").mkdir()
    os.mkfifo(root / "pipe" / "pipe-1.0.0.yaml")
    return scan(root)


CROISSANT = {
    "@context": {"@vocab": "https://schema.org/", "cr": "http://mlcommons.org/croissant/"},
    "@type": "sc:Dataset",
    "name": "ctx",
    "license": "mit",
    "conformsTo": "http://mlcommons.org/croissant/1.0",
}


def _croissant(d: Path, name: str, doc: dict[str, object]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def _croissant_nested_contexts(d: Path, o: Path) -> list[str]:
    """Nested and imported contexts naming a file outside the root, /etc/passwd, a blackhole address and a
    loopback listener: none may be opened or connected to."""
    dist = [
        {"@context": (o / "passwd").as_uri(), "@type": "cr:FileObject", "name": "a"},
        {"@context": "file:///etc/passwd", "@type": "cr:FileObject", "name": "b"},
        {"@context": {"@import": LISTENER + "ctx.jsonld"}, "@type": "cr:FileObject", "name": "c"},
        {"@context": "http://10.255.255.1/ctx.jsonld", "@type": "cr:FileObject", "name": "d"},
        {"@context": [LISTENER + "other.jsonld", {"x": "http://x/"}], "@type": "cr:FileObject", "name": "e"},
    ]
    return scan(_croissant(d, "nested", {**CROISSANT, "distribution": dist}))


def _croissant_context_fifo(d: Path, o: Path) -> list[str]:
    if not (o / "context-fifo.jsonld").exists():  # outside the root: opening it would hang the scan
        os.mkfifo(o / "context-fifo.jsonld")
    d.mkdir(parents=True)
    os.mkfifo(d / "ctx.jsonld")
    dist = [{"@context": "ctx.jsonld", "@type": "cr:FileObject", "name": "a"}]
    doc = {**CROISSANT, "@context": [CROISSANT["@context"], (o / "context-fifo.jsonld").as_uri()], "distribution": dist}
    return scan(_croissant(d, "fifo", doc))


def _croissant_top_import(d: Path, o: Path) -> list[str]:
    doc = {**CROISSANT, "@context": {"@import": (o / "passwd").as_uri(), "@vocab": "https://schema.org/"}}
    return scan(_croissant(d, "imported", doc))


def _spdx_many(d: Path, o: Path) -> list[str]:
    d.mkdir(parents=True)
    packages = [
        {"SPDXID": f"SPDXRef-p{i}", "name": f"pkg{i}", "downloadLocation": "NOASSERTION", "licenseConcluded": "MIT"}
        for i in range(50_000)
    ]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-p0"}
    ] + [
        {"spdxElementId": f"SPDXRef-p{i}", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": f"SPDXRef-p{i + 1}"}
        for i in range(49_999)
    ]
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "many",
        "documentNamespace": "https://example.org/many",
        "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: x"]},
        "packages": packages,
        "relationships": relationships,
    }
    (d / "many.spdx.json").write_text(json.dumps(doc))
    return scan_into(d / "many.spdx.json", d / "store")


def scan_into(target: Path, store: Path) -> list[str]:
    """A scan into the case's own store (the records it makes would slow every later case's reads)."""
    return ["scan", str(target), "--store", str(store), "--json"]


def _then_review_and_export(store: Path, record: str) -> list[list[str]]:
    s = ["--store", str(store)]
    return [
        ["review", *s, "--format", "json", "--fail-on", "never"],
        ["export", *s, "--format", "nt"],
        ["export", *s, "--format", "turtle"],
        ["export", record, *s, "--format", "prov-jsonld"],
        ["export", record, *s, "--format", "spdx3"],
    ]


def _expression_bomb(d: Path, o: Path) -> list[list[str]]:
    terms = [("mit", "apache-2.0", "cc-by-4.0", "bsd-3-clause")[i % 4] for i in range(40_000)]
    expression = "".join(t + (" AND " if i % 2 else " OR ") for i, t in enumerate(terms)) + "mit"
    rec = record(d, card=f"---\nlicense: other\nlicense_name: {expression}\n---\n# bomb\n")
    (rec / "LICENSE").write_text(expression + "\n")
    store = d / "store"
    return [
        scan_into(rec.parent, store),
        *_then_review_and_export(store, "dataset:rec"),
    ]


def _many_licences(d: Path, o: Path) -> list[list[str]]:
    block = "".join(f"- LicenseRef-l{i}\n" for i in range(50_000))
    rec = record(d, card=f"---\nlicense:\n{block}---\n# many\n")
    store = d / "store"
    return [
        scan_into(rec.parent, store),
        *_then_review_and_export(store, "dataset:rec"),
    ]


def _many_upstreams(d: Path, o: Path) -> list[list[str]]:
    rec = d / "models" / "wide"
    rec.mkdir(parents=True)
    block = "".join(f"- org{i % 97}/base-{i}\n" for i in range(100_000))
    (rec / "README.md").write_text(f"---\nlicense: mit\nbase_model:\n{block}datasets:\n{block}---\n# wide\n")
    store = d / "store"
    return [
        scan_into(rec.parent, store),
        *_then_review_and_export(store, "model:wide"),
    ]


def _huge_readme(d: Path, o: Path) -> list[list[str]]:
    rec = record(d)
    rows = "".join(f"| {i} | {'cell ' * 8} | <b>{i}</b> |\n" for i in range(120_000))
    (rec / "README.md").write_text(f"---\nlicense: mit\n---\n# big\n\n| a | b | c |\n|---|---|---|\n{rows}")
    (rec / "weights.bin").write_bytes(b"w" * 1000)
    store = d / "store"
    s = ["--store", str(store)]
    return [
        scan_into(rec.parent, store),
        ["export", "dataset:rec", *s, "--format", "prov-jsonld"],
        ["keygen", "--out", str(d / "release")],
        ["attach", str(rec / "weights.bin"), "--record", "dataset:rec", "--key", str(d / "release.key"), *s],
    ]


def _sparse_data(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="sparse"))
    with (rec / "train.bin").open("wb") as handle:
        handle.truncate(100 * 1024**3)
    return scan(d)


def _symlink_loops(d: Path, o: Path) -> list[str]:
    rec = record(d, card=CARD.format(name="loops"))
    (rec / "loop-a").symlink_to("loop-b")
    (rec / "loop-b").symlink_to("loop-a")
    (rec / "self").symlink_to("self")
    (rec / "up").symlink_to("..", target_is_directory=True)
    (d / "datasets" / "cycle").symlink_to("cycle")
    return scan(d)


def _dpi_list_only(d: Path, o: Path) -> list[str]:
    folder = dpi_folder(d, good=False)
    (folder / "Only.json").write_text(json.dumps([DPI_ENTRY, DPI_ENTRY]))
    return scan(folder)


def _dpi_list_in_a_collection(d: Path, o: Path) -> list[str]:
    """The list-shaped summary in a ``dpi/`` folder of a collection scanned from its parent (issue 19)."""
    folder = dpi_folder(d, good=False)
    (folder / "Only.json").write_text(json.dumps([DPI_ENTRY]))
    record(d, "beside", CARD.format(name="beside"))
    return scan(d)


def _hard_link_outside(d: Path, o: Path) -> list[str]:
    """A hard link is the file itself (no way to tell it from one made in place): read like any file."""
    rec = record(d, card=CARD.format(name="hard"))
    (o / "hardlinked.txt").write_text("data shared with another folder\n")
    os.link(o / "hardlinked.txt", rec / "data.txt")
    return scan(d)


def _store_with_meta(d: Path, make: Callable[[Path], None]) -> Path:
    store = d / "store"
    store.mkdir(parents=True)
    make(store / "store.json")
    return store


def _meta_devzero(d: Path, o: Path) -> list[list[str]]:
    store = _store_with_meta(d, lambda m: m.symlink_to("/dev/zero"))
    return [["scans", "--store", str(store)], ["store", "check", "--store", str(store)]]


def _meta_urandom(d: Path, o: Path) -> list[list[str]]:
    store = _store_with_meta(d, lambda m: m.symlink_to("/dev/urandom"))
    return [
        ["scans", "--store", str(store)],
        ["scan", str(record(d, card=CARD.format(name="u")).parent), "--store", str(store)],
    ]


def _meta_fifo(d: Path, o: Path) -> list[list[str]]:
    store = _store_with_meta(d, lambda m: os.mkfifo(m))
    return [["scans", "--store", str(store)], ["store", "check", "--store", str(store)]]


def _meta_huge(d: Path, o: Path) -> list[list[str]]:
    def huge(meta: Path) -> None:
        with meta.open("wb") as handle:
            handle.write(b'{"format": "provaudit-oxigraph", "version": 1, "pad": "')
            handle.truncate(1536 * 1024 * 1024)

    store = _store_with_meta(d, huge)
    return [["scans", "--store", str(store)], ["store", "check", "--store", str(store)]]


def _meta_outside(d: Path, o: Path) -> list[list[str]]:
    (o / "store.json").write_text('{"format": "provaudit-oxigraph", "version": 1}\n')
    store = _store_with_meta(d, lambda m: m.symlink_to(o / "store.json"))
    return [["scans", "--store", str(store)]]


def _database_link(d: Path, o: Path) -> list[list[str]]:
    """The store's ``oxigraph/`` folder is a symlink to another store's database."""
    other = d / "other"
    (other / "oxigraph").mkdir(parents=True)
    store = _store_with_meta(d, lambda m: m.write_text('{"format": "provaudit-oxigraph", "version": 1}\n'))
    (store / "oxigraph").symlink_to(other / "oxigraph", target_is_directory=True)
    return [
        ["scans", "--store", str(store)],
        ["scan", str(record(d, card=CARD.format(name="l")).parent), "--store", str(store)],
    ]


def _writable_store(d: Path, o: Path) -> list[list[str]]:
    store = d / "store"
    store.mkdir(parents=True)
    store.chmod(0o777)  # mode bits apply to root too: any user may plant or swap files in this store
    folder = record(d, card=CARD.format(name="w")).parent
    return [
        ["scan", str(folder), "--store", str(store)],
        ["scans", "--store", str(store)],
        ["store", "check", "--store", str(store)],
    ]


def _writable_keys(d: Path, o: Path) -> list[list[str]]:
    keys = d / "keys"
    keys.mkdir(parents=True)
    keys.chmod(0o777)
    rec = record(d, card=CARD.format(name="k"))
    (rec / "model.bin").write_bytes(b"weights")
    s = ["--store", str(d / "store")]
    return [
        ["scan", str(rec.parent), *s],
        ["keygen", "--out", str(keys / "release")],
        ["attach", str(rec / "model.bin"), "--record", "dataset:rec", "--key", str(keys / "release.key"), *s],
        ["verify", str(rec / "model.bin.provenance.json"), str(rec / "model.bin"), "--key", str(keys / "release.pub")],
    ]


CASES = [
    Case("readme_symlink_outside", _readme_link, "README.md"),
    Case("license_symlink_outside", _license_link, "LICENSE"),
    Case("data_symlink_outside", _data_link, "train.jsonl"),
    Case("folder_symlink_outside", _folder_link, "evil"),
    Case("relative_symlink_escape", _parent_escape, "NOTICE"),
    Case("readme_dev_zero", _readme_devzero, "README.md"),
    Case("readme_fifo", _readme_fifo, "README.md"),
    Case("socket_in_record", _readme_socket, "events.sock"),
    Case("readme_dangling_symlink", _readme_dangling, "README.md"),
    Case("dataset_infos_fifo", _info_fifo, "dataset_infos.json"),
    Case("deep_json_infos", _deep_json, "dataset_infos.json"),
    Case("deep_json_config", _deep_config, "config.json"),
    Case("deep_yaml", _deep_yaml, "README.md"),
    Case("yaml_billion_laughs", _billion_laughs, "README.md"),
    Case("yaml_alias_cycle", _yaml_cycle, "README.md"),
    Case("duplicate_yaml_keys", _duplicate_keys, "duplicate YAML key 'license'"),
    Case("wrong_types", _wrong_types, "model:wrong"),
    Case("yaml_not_a_mapping", _yaml_list, "README.md"),
    Case("manifest_not_a_mapping", _manifest_list, "hub_manifest.yaml"),
    Case("binary_card", _binary_card, "README.md"),
    Case("latin1_card", _latin1_card, "README.md"),
    Case("non_utf8_names", _non_utf8_names, "dataset:r\\\\xe9c"),
    Case("huge_card", _huge_card, "--max-file-bytes"),
    Case("huge_front_matter", _huge_front_matter, "--max-yaml-bytes"),
    Case("many_files", _many_files, "--max-files"),
    Case("readme_is_a_folder", _readme_is_folder, "dataset:rec"),
    Case("collection_readme", _collection_readme, "dataset:one"),
    Case("unreadable_subfolder", _unreadable_subfolder, "private/", locked=("/private",)),
    Case("locked_record_folder", _locked_record, "locked", locked=("/locked",)),
    Case("unreadable_card", _unreadable_card, "README.md", locked=("unreadable_card/datasets/rec/README.md",)),
    Case("dpi_fifo", _dpi_fifo, "Pipe.json"),
    Case("dpi_dev_zero", _dpi_devzero, "Zero.json"),
    Case("dpi_symlink_outside", _dpi_outside, "Leak.json"),
    Case("dpi_not_an_object", _dpi_not_object, "List.json"),
    Case("dpi_licenses_string", _dpi_licenses_string, "Licenses"),
    Case("dpi_wrong_types", _dpi_wrong_types, "Types.json"),
    Case("dpi_deep_json", _dpi_deep, "Deep.json"),
    Case("dpi_broken_json", _dpi_broken, "Broken.json"),
    Case("garbage_store_json", _garbage_store_json, "store.json", (2,)),
    Case("foreign_store_json", _foreign_store_json, "store.json", (2,)),
    Case("corrupt_rocksdb", _corrupt_rocksdb, "provaudit store check", (2,)),
    Case("store_under_a_file", _store_under_a_file, "store", (2,)),
    Case("store_read_only_parent", _store_read_only_parent, "ro/store", (2,), locked=("/ro/",)),
    Case("query_dev_zero", _query_devzero, "/dev/zero", (2,)),
    Case("query_fifo", _query_fifo, "q.rq", (2,)),
    Case("query_missing_file", _query_missing, "missing.rq", (2,)),
    Case("query_syntax_error", _query_syntax, "SPARQL", (2,)),
    Case("missing_target", _missing_target, "does-not-exist", (2,)),
    Case("umr_entity_bomb", _umr_bomb, "bomb-1.0.0.yaml"),
    Case("umr_deep_nesting", _umr_deep, "deep-1.0.0.yaml"),
    Case("umr_symlink_outside", _umr_outside, "leak-1.0.0.yaml"),
    Case("umr_fifo", _umr_fifo, "pipe-1.0.0.yaml"),
    Case("croissant_nested_contexts", _croissant_nested_contexts, "@context"),
    Case("croissant_context_fifo", _croissant_context_fifo, "@context"),
    Case("croissant_imported_context", _croissant_top_import, "@import"),
    Case("spdx_50000_packages", _spdx_many, "many.spdx.json"),
    Case("licence_expression_bomb", _expression_bomb, "--max-expression-terms"),
    Case("fifty_thousand_licences", _many_licences, "--max-expression-terms"),
    Case("hundred_thousand_upstreams", _many_upstreams, "--max-upstreams"),
    Case("nine_megabyte_readme", _huge_readme, "dataset:rec"),
    Case("sparse_100_gb_file", _sparse_data, "--max-digest-bytes"),
    Case("symlink_loops", _symlink_loops, "loop-a"),
    Case("dpi_only_a_list", _dpi_list_only, "Only.json"),
    Case("dpi_list_in_a_collection", _dpi_list_in_a_collection, "Only.json"),
    Case("hard_link_outside", _hard_link_outside, "dataset:rec"),
    Case("store_json_dev_zero", _meta_devzero, "store.json", (2,)),
    Case("store_json_dev_urandom", _meta_urandom, "store.json", (2,)),
    Case("store_json_fifo", _meta_fifo, "store.json", (2,)),
    Case("store_json_huge", _meta_huge, "store.json", (2,)),
    Case("store_json_symlink_outside", _meta_outside, "store.json", (2,)),
    Case("database_symlinked_to_another_store", _database_link, "oxigraph", (2,)),
    Case("store_writable_by_others", _writable_store, "writable by others", (0, 1)),
    Case("key_folder_writable_by_others", _writable_keys, "writable by others", (0, 1)),
]


def commands(built: list[str] | list[list[str]]) -> list[list[str]]:
    """A case's command lines (a case returns one, or several run in turn)."""
    return [c for c in built if isinstance(c, list)] if built and isinstance(built[0], list) else [built]  # type: ignore[list-item]


def main(root: Path) -> None:
    out = outside(root / "outside")
    for case in CASES:
        for args in commands(case.build(root / "cases" / case.name, out)):
            print(case.name, " ".join(args))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
