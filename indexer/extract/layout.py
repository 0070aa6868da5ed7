"""Page layout of HTML documents: where the content is, and what is boilerplate (pure).

Documentation generators wrap every page in the same chrome: navigation bars, sidebars,
"Prev / Up / Next / Home" tables, search boxes, footers, permalink anchors (Sphinx's
pilcrow ``¶``). Indexed as content, that chrome matches every query a little and makes
every page look alike, so it is removed before the page is walked:

- **generic**: ``<nav>``, ARIA roles ``navigation``/``search``/``dialog``/``banner``/
  ``contentinfo``, permalink anchors (``a.headerlink``, or a link to ``#…`` whose text is
  only ``¶``, ``#``, ``§`` or ``🔗``), skip links ("Skip to content"), and small tables,
  lists or blocks whose links are only Prev/Previous/Up/Next/Home;
- **Sphinx** (classic, alabaster, Read the Docs, furo, pydata): ``div.related``,
  ``div.sphinxsidebar``, ``div.footer``, ``div.rst-footer-buttons``, search boxes, …;
- **DocBook** (the PostgreSQL manual): ``div.navheader``, ``div.navfooter``;
- **generated indexes of terms** (DocBook ``div.indexdiv``, Sphinx ``genindex`` and
  ``py-modindex`` tables): every term of the site with links to where it is explained,
  so they match nearly every query while answering none;
- **MkDocs** (material and the default theme): ``.md-header``, ``.md-tabs``,
  ``.md-sidebar``, ``.md-footer``, ``.md-search``, ``.md-source-file``, ``div.navbar``,
  ``.bs-sidebar``, search and keyboard modals.

Tables of contents (DocBook ``div.toc`` and ``div.list-of-tables``…, Sphinx
``div.toctree-wrapper``) repeat the headings of other pages, where those headings stand
next to their text; they are dropped, except when they are all the page has (a chapter or
part page of the PostgreSQL manual is its title and its table of contents): such a page
stays findable by what it contains instead of disappearing from the index.

Every pass here is linear in the size of the tree (``iter`` in C, no recursion).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lxml import etree
from lxml.html import HtmlElement

from indexer.extract.common import collapse_whitespace
from indexer.extract.titles import strip_numbering


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DROPPED_TAGS = _words(
    "script style noscript template nav head svg math iframe object canvas select button "
    "input textarea dialog"
)
"""Never text: dropped wherever they are."""

_BOILERPLATE_CLASSES = _words(
    # DocBook (PostgreSQL)
    "navheader navfooter "
    # generated indexes of terms (DocBook's book index, Sphinx's genindex, py-modindex):
    # lists of every term with links elsewhere, matching every query and answering none
    "indexdiv genindex-jumpbox genindextable indextable modindextable "
    # Sphinx themes
    "related sphinxsidebar sphinxsidebarwrapper footer rst-footer-buttons rst-versions "
    "wy-nav-side wy-nav-top wy-breadcrumbs searchbox search-button-field "
    "sidebar-drawer toc-drawer related-pages prev-next-area bd-sidebar bd-sidebar-primary "
    "bd-sidebar-secondary bd-header bd-footer header-article "
    # MkDocs material
    "md-header md-tabs md-sidebar md-footer md-search md-skip md-source-file "
    "md-content__button md-dialog md-banner md-top md-announce "
    # MkDocs default theme (bootstrap)
    "navbar bs-sidebar modal "
    # generic
    "skip-link skip-to-content skiplink breadcrumb breadcrumbs headerlink "
    "edit-this-page edit-link"
)
_BOILERPLATE_IDS = _words("searchbox sidebar-top skip-link skip-to-content")
_BOILERPLATE_ROLES = _words("navigation search dialog banner contentinfo")
_TABLE_OF_CONTENTS_CLASSES = _words(
    "toc list-of-tables list-of-figures list-of-examples list-of-equations toctree-wrapper"
)
_PERMALINK_TEXTS = frozenset(("¶", "#", "§", "🔗", "link"))
_NAVIGATION_WORDS = _words("prev previous up next home contents index « » ‹ › ← → ↑")
_NAVIGATION_CONTAINERS = _words("table tbody tr ul ol div p")
_NAVIGATION_MAX_CHARS = 300
_NAVIGATION_MAX_CLIMB = 6
_NAVIGATION_MAX_LINKS = 64

CONTENT_ROLE = "main"


def _classes(element: HtmlElement) -> set[str]:
    return set((element.get("class") or "").split())


def _is_element(node: object) -> bool:
    return isinstance(node, HtmlElement) and isinstance(node.tag, str)


def _is_permalink(element: HtmlElement) -> bool:
    if element.tag != "a":
        return False
    href = (element.get("href") or "").strip()
    if not href.startswith("#") or element.find(".//img") is not None:
        return False
    text = str(element.text_content()).strip()
    return not text or text.lower() in _PERMALINK_TEXTS


def _is_skip_link(element: HtmlElement) -> bool:
    if element.tag != "a" or not (element.get("href") or "").startswith("#"):
        return False
    return str(element.text_content()).strip().lower().startswith("skip to")


def _is_boilerplate(element: HtmlElement) -> bool:
    if element.tag in DROPPED_TAGS:
        return True
    if _classes(element) & _BOILERPLATE_CLASSES:
        return True
    if (element.get("id") or "") in _BOILERPLATE_IDS:
        return True
    if (element.get("role") or "").strip().lower() in _BOILERPLATE_ROLES:
        return True
    return _is_permalink(element) or _is_skip_link(element)


def _navigation_blocks(root: HtmlElement) -> Iterator[HtmlElement]:
    """Small containers holding at least two Prev/Up/Next/Home links and little else.

    Only the ancestors of such links (a few levels up) are examined, so the cost stays
    linear however deep the page is nested.
    """
    counts: dict[HtmlElement, int] = {}
    anchors = 0
    for anchor in root.iter("a"):
        if anchor.text_content().strip().lower() not in _NAVIGATION_WORDS:
            continue
        anchors += 1
        if anchors > _NAVIGATION_MAX_LINKS:
            break
        parent = anchor.getparent()
        for _ in range(_NAVIGATION_MAX_CLIMB):
            if parent is None:
                break
            if parent.tag in _NAVIGATION_CONTAINERS:
                counts[parent] = counts.get(parent, 0) + 1
            parent = parent.getparent()
    chosen: set[HtmlElement] = set()
    for container, links in counts.items():
        if links < 2:
            continue
        if _longer_than(container, _NAVIGATION_MAX_CHARS):
            continue
        chosen.add(container)
    # the outermost qualifying container goes (the whole table, not each row)
    for container in chosen:
        if not any(ancestor in chosen for ancestor in container.iterancestors()):
            yield container


def _longer_than(element: HtmlElement, limit: int) -> bool:
    total = 0
    for text in element.itertext():
        total += len(text.strip())
        if total > limit:
            return True
    return False


def _drop(elements: Iterable[HtmlElement]) -> None:
    for element in list(elements):
        if element.getparent() is not None:
            element.drop_tree()  # keeps the element's tail text in place


def remove_boilerplate(root: HtmlElement) -> None:
    """Remove page chrome from the tree in place (see the module docstring)."""
    _drop(
        element
        for element in root.iter()
        if _is_element(element) and element is not root and _is_boilerplate(element)
    )
    _drop(list(_navigation_blocks(root)))
    tables = [
        element
        for element in root.iter()
        if _is_element(element) and _classes(element) & _TABLE_OF_CONTENTS_CLASSES
    ]
    if not tables:
        return
    outside = _text_outside(root, tables)
    if outside:
        _drop(tables)


def _text_outside(root: HtmlElement, excluded: list[HtmlElement]) -> bool:
    """Whether the page has body text (not headings, not ``excluded``)."""
    skipped = set(excluded)
    headings = {"h1", "h2", "h3", "h4", "h5", "h6", "title"}
    stack: list[HtmlElement] = [root]
    while stack:
        element = stack.pop()
        if element in skipped or element.tag in headings:
            continue
        if isinstance(element.tag, str) and (element.text or "").strip():
            return True
        for child in element:
            if (child.tail or "").strip():
                return True
            if _is_element(child):
                stack.append(child)
    return False


def content_roots(tree: HtmlElement) -> list[HtmlElement]:
    """Where the page's content is: its ``<main>`` elements, else the elements with
    ``role="main"``, else its ``<article>`` elements, else ``<body>``, else the whole."""
    for path in ("//main", f"//*[@role='{CONTENT_ROLE}']", "//article"):
        found = [element for element in tree.xpath(path) if isinstance(element, HtmlElement)]
        if found:
            return _outermost(tree, set(found))
    bodies = tree.xpath("//body")
    return [bodies[0]] if bodies else [tree]


def _outermost(tree: HtmlElement, found: set[HtmlElement]) -> list[HtmlElement]:
    """The elements of ``found`` not inside another one, in document order (one pass)."""
    outermost: list[HtmlElement] = []
    inside = 0
    for event, element in etree.iterwalk(tree, events=("start", "end")):
        if element not in found:
            continue
        if event == "start":
            if inside == 0:
                outermost.append(element)
            inside += 1
        else:
            inside -= 1
    return outermost


def parent_title(tree: HtmlElement) -> str | None:
    """The title of the page one level up, when the page names it: ``<link rel="up">``
    or DocBook's navigation "Up" link (``accesskey="u"``), without its numbering."""
    for path in ("//head/link[@rel='up']/@title", "//a[@accesskey='u']/@title"):
        for value in tree.xpath(path):
            name = strip_numbering(collapse_whitespace(str(value)))
            if name:
                return name
    return None


def is_comment(node: object) -> bool:
    """Comments and processing instructions carry no text (their tail does)."""
    return isinstance(node, etree._Element) and not isinstance(node.tag, str)
