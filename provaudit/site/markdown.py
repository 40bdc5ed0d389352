"""Card Markdown to safe HTML: markdown-it-py renders (raw HTML on, as the Hub does), nh3 sanitizes.

A card is untrusted input. Whatever it holds, the output has no script, no event handler, no
``javascript:`` or ``data:`` URL, no ``style``/``class``/``id`` attribute and no element that loads
anything (images become links), so it is inert under the site's Content-Security-Policy and
cannot restyle or clobber the page around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any

import markdown_it
import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from provaudit.site.urls import safe_url

# What GitHub-flavoured cards need to read well, and nothing that runs, loads or restyles.
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "dd",
        "del",
        "details",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# removed with everything inside them, not just unwrapped
DROP_WITH_CONTENT = frozenset({"script", "style", "template", "iframe", "object", "embed", "noscript", "svg", "math"})

_HEADING = re.compile(r"<(/?)h([1-6])>")


def _render_image(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Images load nothing on this site (privacy, offline use): each one becomes a link to its source."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = "".join(child.content for child in token.children or []) or "image"
    alt_html = alt.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    href = src.replace("&", "&amp;").replace('"', "&quot;")
    return f'<a href="{href}">[image: {alt_html}]</a>'


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.add_render_rule("image", _render_image)
    return md


def _filter_url(tag: str, attribute: str, value: str) -> str | None:
    """Links in cards pass the same allow-list as every other URL on the site (refused: no href)."""
    if attribute in {"href", "src"}:
        return safe_url(value)
    return value


@cache
def _cleaner() -> Callable[[str], str]:
    """nh3 with the site's allow-list; a reusable Cleaner where nh3 has one (0.3+), else nh3.clean."""
    options: dict[str, Any] = {
        "tags": set(ALLOWED_TAGS),
        "clean_content_tags": set(DROP_WITH_CONTENT),
        "attributes": {k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        "url_schemes": set(URL_SCHEMES),
        "link_rel": "noopener noreferrer nofollow",
        "strip_comments": True,
        # nh3 checks schemes but passes every relative URL, "//host" included: the site's own gate decides
        "attribute_filter": _filter_url,
    }
    cleaner = getattr(nh3, "Cleaner", None)
    if cleaner is not None:
        clean: Callable[[str], str] = cleaner(**options).clean
        return clean
    return partial(nh3.clean, **options)


def relevel_headings(html: str, base: int) -> str:
    """Shift headings so the first is ``base`` and none skips a level (cards often jump h1 → h3)."""
    stack: list[tuple[int, int]] = []  # (level in the card, level on the page)
    opened: list[int] = []

    def swap(match: re.Match[str]) -> str:
        closing, level = match.group(1), int(match.group(2))
        if closing:
            new = opened.pop() if opened else base
            return f"</h{new}>"
        while stack and stack[-1][0] >= level:
            stack.pop()
        new = min(stack[-1][1] + 1, 6) if stack else base
        stack.append((level, new))
        opened.append(new)
        return f"<h{new}>"

    return _HEADING.sub(swap, html)


# Characters of a card rendered on its page: HTML is up to 11 times the Markdown of a table, so a 1 MB
# card made an 11 MB page that took a browser 22 s to load; past this the page says where the rest is.
MAX_RENDER_CHARS = 128 * 1024

# Part of the key of cached renderings: a new markdown-it-py or a change of its setup invalidates them.
RENDER_VERSION = f"2:{markdown_it.__version__}:{MAX_RENDER_CHARS}"


def bounded(text: str, limit: int = MAX_RENDER_CHARS) -> str:
    """The card's first ``limit`` characters, cut at a line end, and a closing note of how much is left out."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    head = text[: cut if cut > 0 else limit]
    return (
        f"{head}\n\n---\n\n*The card continues for {len(text) - len(head):,} more characters; its first "
        f"{len(head):,} are shown here. The whole card is in the record's source folder or repository.*\n"
    )


def render_raw(text: str) -> str:
    """markdown-it-py's HTML of the card's first MAX_RENDER_CHARS characters, NOT sanitized: the slow step,
    which the site caches between builds."""
    html: str = _parser().render(bounded(text))  # markdown-it types render() as Any; its renderer gives str
    return html


def sanitize(html: str, *, heading_base: int = 3) -> Markup:
    """nh3-cleaned HTML with headings re-levelled; run on every build, cached renderings included.

    Returned as Markup (safe to insert into a template unescaped) because nh3 has cleaned it.
    """
    return Markup(relevel_headings(_cleaner()(html), heading_base))


def render_markdown(text: str, *, heading_base: int = 3) -> Markup:
    """Sanitized HTML for a card body; headings start at ``heading_base`` and never skip a level."""
    return sanitize(render_raw(text), heading_base=heading_base)
