"""Make the hostile corpus of issue 12 in a folder: inputs that cannot be committed (FIFOs, device links,
symlinks out of the root, huge files, non-UTF-8 names, unreadable folders) are made here, on demand.

Each case builds its files under ``<root>/<case name>`` and returns the provaudit command line to run
(``{store}`` stands for the store). ``mention`` is text the output must contain (it names the file).
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
CARD = "---\nlicense: mit\npretty_name: {name}\n---\n# {name}\n\nA dataset card.\n"


@dataclass
class Case:
    name: str
    build: Callable[[Path, Path], list[str]]  # (case folder, outside folder) → provaudit arguments
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
]


def main(root: Path) -> None:
    out = outside(root / "outside")
    for case in CASES:
        args = case.build(root / "cases" / case.name, out)
        print(case.name, " ".join(args))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
