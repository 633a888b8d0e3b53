"""People's text in the Markdown minutes, made safe by markdown-it-py and mdformat.

The facilitator's synthesis is Markdown and stays Markdown (`synthesis`): markdown-it-py
reads it into tokens, what must not pass is taken out of the tokens (raw HTML becomes text,
an image a link, a script link its words, headings go below the section that holds them),
and mdformat writes the tokens back, with its tables plugin. Plain text (titles, names,
table cells) is written as one mdformat text node (`esc`), so the escaping is mdformat's.
The result is read once more by permissive readers; what would still not be safe is given
as plain text.
"""

import html as html_entities
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import mdformat.plugins
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdformat.renderer import MDRenderer, RenderContext, RenderTreeNode
from mdformat.renderer.typing import Postprocess, Render

# A link goes through only to these schemes, or to none (an anchor or a relative path).
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


class _EveryLink(MarkdownIt):
    """Reads every link whatever its scheme, so that each is judged here, not dropped."""

    def validateLink(self, url: str) -> bool:
        return True


_ESCAPED_OR_OPEN = re.compile(r"\\.|<(?! )|~", re.DOTALL)


def _more_escape(match: re.Match[str]) -> str:
    found = match.group()
    if found in ("<", "\\<"):
        return "&lt;"
    return "\\~" if found == "~" else found


def _escape_more(text: str, node: RenderTreeNode, context: RenderContext) -> str:
    """Two gaps in mdformat 0.7's escaping of text. It escapes a "<" with what follows, so
    the second of "<<pre>" stays a tag; and it leaves "~" alone, so "~~~" at a line's start
    opens a fence (and GFM tools strike "~~x~~" through). A "<" is written "&lt;", not
    "\\<": the original Markdown.pl and tools like it do not take "\\<" for an escape and
    would let the tag through. Other escapes are kept."""
    return _ESCAPED_OR_OPEN.sub(_more_escape, text)


class _Escapes:
    """An mdformat parser extension (its plugin interface) that only adds `_escape_more`."""

    CHANGES_AST = False
    RENDERERS: Mapping[str, Render] = {}
    POSTPROCESSORS: Mapping[str, Postprocess] = {"text": _escape_more}

    @staticmethod
    def update_mdit(mdit: MarkdownIt) -> None:
        """Nothing to change in the parser."""


def _reader(*, tables: bool) -> MarkdownIt:
    """CommonMark with raw HTML on (so that it is seen and taken out), as mdformat sets it
    up: its options, and the tables plugin when `tables`."""
    reader = _EveryLink("commonmark", {"html": True})
    reader.options["mdformat"] = {"number": True}  # "1. 2. 3." as a reader counts
    extensions: list[Any] = [_Escapes]
    if tables:
        extensions.insert(0, mdformat.plugins.PARSER_EXTENSIONS["tables"])
    reader.options["parser_extension"] = extensions
    for extension in extensions:
        extension.update_mdit(reader)
    return reader


GFM = _reader(tables=True)
# A reader of plain CommonMark sees no table: the result must be safe to it as well.
_READERS = (GFM, _reader(tables=False))


def _render(tokens: Sequence[Token]) -> str:
    return MDRenderer().render(tokens, GFM.options, {}, finalize=False)


# --- plain text ----------------------------------------------------------------------------


def _text(text: str) -> Token:
    return Token("inline", "", 0, content=text, children=[Token("text", "", 0, content=text)])


def esc(text: str, *, cell: bool = False, start: bool = False, heading: bool = False) -> str:
    """Plain text as literal Markdown, on one line: no link, image, emphasis, code or HTML.

    mdformat escapes only what would be read as Markdown in that place, so that "Dott.ssa",
    "D.lgs. 62/2024" or "(Comune di Fisciano)" read as typed. `cell`: inside a table row
    (a "|" would end the cell); `start`: at the start of a line (a "#", ">", "- " or "1. "
    would start a block); `heading`: the text of an ATX heading (a final " #" would vanish).
    """
    text = " ".join(text.replace("\x00", "\ufffd").split())  # as markdown-it reads a NUL
    if not text:
        return ""
    if heading:
        marks = "#"
        tokens = [Token("heading_open", "h1", 1, markup=marks), _text(text)]
        return _render([*tokens, Token("heading_close", "h1", -1, markup=marks)])[2:]
    if cell:
        cells = [Token("td_open", "td", 1), _text(text), Token("td_close", "td", -1)]
        return _render(cells)
    if start:
        block = [Token("paragraph_open", "p", 1), _text(text), Token("paragraph_close", "p", -1)]
        return _render(block)
    return _render([_text(text)])


# --- the facilitator's synthesis -----------------------------------------------------------


def unsafe_link(url: str) -> bool:
    """What a browser would run or fetch: judged on the address as it would read it
    (entities, percent escapes and blanks undone), by its scheme."""
    plain = html_entities.unescape(urllib.parse.unquote(url))
    plain = re.sub(r"[\x00-\x20\x7f]", "", plain)
    scheme = _SCHEME.match(plain)
    return scheme is not None and scheme.group(1).lower() not in SAFE_SCHEMES


def _inline(children: Sequence[Token]) -> list[Token]:
    """Raw HTML as text, images as links, script links as their words."""
    out: list[Token] = []
    dropped: list[bool] = []  # for each open link: was its opening dropped?
    for child in children:
        if child.type in ("html_inline", "text_special"):
            # Raw HTML shows as typed; an escape or entity left unjoined (in an image's
            # words) is its character, which mdformat escapes again where it must.
            out.append(Token("text", "", 0, content=child.content))
        elif child.type == "image":
            src = str(child.attrGet("src") or "")
            words = _inline(child.children or [])
            if unsafe_link(src):
                out += words
            else:
                link = Token("link_open", "a", 1, attrs={"href": src})
                out += [link, *words, Token("link_close", "a", -1)]
        elif child.type == "link_open":
            drop = unsafe_link(str(child.attrGet("href") or ""))
            dropped.append(drop)
            if not drop:
                out.append(child)
            elif child.markup == "autolink":
                out.append(Token("text", "", 0, content="<"))
        elif child.type == "link_close":
            if not dropped.pop():
                out.append(child)
            elif child.markup == "autolink":
                out.append(Token("text", "", 0, content=">"))
        else:
            out.append(child)
    return out


def _as_text(block: Token) -> list[Token]:
    """A raw HTML block as a paragraph of text, line by line."""
    lines = block.content.rstrip("\n").split("\n")
    children: list[Token] = []
    for number, line in enumerate(lines):
        if number:
            children.append(Token("softbreak", "br", 0))
        children.append(Token("text", "", 0, content=line))
    inline = Token("inline", "", 0, content=block.content, children=children)
    return [Token("paragraph_open", "p", 1), inline, Token("paragraph_close", "p", -1)]


def _safe_tokens(tokens: Sequence[Token], top: int) -> list[Token]:
    levels = [int(t.tag[1:]) for t in tokens if t.type == "heading_open"]
    shift = max(0, top - min(levels)) if levels else 0
    out: list[Token] = []
    for token in tokens:
        if token.type == "inline" and out and out[-1].type == "heading_open":
            # A heading is one line: mdformat would write a hard break there as "<br />".
            for child in token.children or ():
                if child.type == "hardbreak":
                    child.type = "softbreak"
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1:]) + shift)
            # Setext ("===", "---") has two levels only: written as ATX.
            token.tag, token.markup = f"h{level}", "#" * level
            out.append(token)
        elif token.type == "html_block":
            out += _as_text(token)
        elif token.type in ("fence", "code_block"):
            # A fence left open at the end has no last newline: mdformat would close it
            # on the code's own line, where it closes nothing.
            if token.content and not token.content.endswith("\n"):
                token.content += "\n"
            # With a "`" in its info string mdformat writes a "~~~" fence: an info string
            # starting with "~" would lengthen that fence. It only names a language.
            if "`" in token.info and token.info.lstrip().startswith("~"):
                token.info = ""
            out.append(token)
        elif token.type == "inline":
            token.children = _inline(token.children or [])
            out.append(token)
        else:
            out.append(token)
    return out


def _isolated(text: str) -> bool:
    """Whether what follows the text stands on its own (nothing left open swallows it)."""
    for reader in _READERS:
        tokens = reader.parse(text + "\n\nx")
        ends = [(t.type, t.level, t.content) for t in tokens[-3:]]
        if ends != [("paragraph_open", 0, ""), ("inline", 1, "x"), ("paragraph_close", 0, "")]:
            return False
    return True


def _safe(text: str) -> bool:
    """No raw HTML, no image, no script link, to readers that allow all three."""
    for reader in _READERS:
        for token in reader.parse(text):
            for t in (token, *(token.children or ())):
                if t.type in ("html_block", "html_inline", "image"):
                    return False
                if t.type == "link_open" and unsafe_link(str(t.attrGet("href") or "")):
                    return False
    return True


_LINE_SEPARATORS = dict.fromkeys(map(ord, "\v\f\x1c\x1d\x1e\x85\u2028\u2029"), " ")


def synthesis(text: str, top: int) -> str:
    """The facilitator's Markdown, kept as Markdown: its headings start at level `top` (a
    level past 6 stays 6), raw HTML shows as text, images become links, script links their
    words, link definitions are written into their links. What cannot be made so is given
    as plain text."""
    # Characters Python splits lines at and Markdown does not (mdformat splits lines with
    # str.splitlines): made blanks, so that a line of Markdown stays one line.
    text = text.translate(_LINE_SEPARATORS)
    result = _render(_safe_tokens(GFM.parse(text), top)).strip("\n")
    if _isolated(result) and _safe(result):
        return result
    paragraphs = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n\n".join(esc(p, start=True) for p in paragraphs if p.strip())
