"""A claim, fact or finding stated the same way by several revisions is one node (its IRI the hash of its
triples): a revision adds one triple per statement, and every query over the nodes answers as before."""

from __future__ import annotations

from pathlib import Path

from provaudit import api
from provaudit.collectors.base import CollectOptions

CARD = """---
license: mit
language:
- en
---
# {name}

Nothing here.
"""


def _rows(store: Path, sparql: str) -> list[list[str | None]]:
    with api.open_store(store, read_only=True) as db:
        return db.query(sparql).rows


def test_the_same_statement_is_one_node_for_every_revision(tmp_path: Path) -> None:
    root = tmp_path / "c" / "datasets"
    for name in ("one", "two"):
        (root / name).mkdir(parents=True)
        (root / name / "README.md").write_text(CARD.format(name=name))
    store = tmp_path / "store"
    api.scan([str(root.parent)], store=store, options=CollectOptions(digests=False), jobs=1)

    claims = _rows(
        store,
        "SELECT ?id ?c ?raw ?file ?field WHERE { ?v dcterms:identifier ?id ; pa:hasLicenseClaim ?c . "
        "?c pa:rawValue ?raw ; pa:source ?s . ?s pa:sourceFile ?file ; pa:sourceField ?field } ORDER BY ?id",
    )
    assert [(r[0], r[2], r[3], r[4]) for r in claims] == [
        ("dataset:one", "mit", "README.md", "license"),
        ("dataset:two", "mit", "README.md", "license"),
    ]
    assert claims[0][1] == claims[1][1]  # one node, cited by both revisions
    languages = _rows(store, "SELECT DISTINCT ?x WHERE { ?v pa:hasFact ?x . ?x pa:key 'language' ; pa:value 'en' }")
    assert len(languages) == 1
    # each node is written once: one rdf:type per claim node, however many revisions cite it
    assert _rows(store, "SELECT (COUNT(*) AS ?n) WHERE { ?c a pa:LicenseClaim }") == [["1"]]
    # the card text is no literal of its fact node (it is kept in each revision's record JSON): that node is
    # shared too, and each record still reads back its own card
    cards = _rows(store, "SELECT DISTINCT ?x WHERE { ?v pa:hasFact ?x . ?x pa:key 'card' }")
    assert len(cards) == 1
    with api.open_store(store, read_only=True) as db:
        for name in ("one", "two"):
            record = db.record(f"dataset:{name}")
            assert record is not None
            assert [f.value for f in record.facts if f.key == "card"] == [f"# {name}\n\nNothing here.\n"]
