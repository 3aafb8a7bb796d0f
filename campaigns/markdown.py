"""The one way user Markdown becomes HTML: rendered, then cleaned against an allow-list.

Raw HTML in the source is allowed through Markdown and then cleaned, so `<script>`, event
handlers, `javascript:` and `data:` URLs, `<iframe>`, `<svg>` and `<style>` never reach a page.
"""

import functools

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "strong", "sub", "sup",
        "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"
MAX_SOURCE_LENGTH = 50_000


def html_clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


@functools.lru_cache(maxsize=512)
def _render(source: str) -> str:
    html = markdown_lib.markdown(
        source[:MAX_SOURCE_LENGTH],
        extensions=["tables", "sane_lists", "fenced_code"],
        output_format="html",
    )
    return html_clean(html)


def markdown_render(source: str | None) -> SafeString:
    """Sanitised HTML for a Markdown text; safe to put in any page."""
    return mark_safe(_render(source or ""))  # noqa: S308 (cleaned by nh3 above)
