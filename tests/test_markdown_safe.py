"""The facilitator's Markdown and people's plain text in the Markdown minutes, read back as a
reader would: by a CommonMark/GFM tool, and by a permissive one (raw HTML on, any link
scheme) that shows what the source would let through."""

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.reports.markdown_safe import esc, synthesis


class _AnyLink(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return True


GFM = MarkdownIt("commonmark").enable("table")
PERMISSIVE = _AnyLink("commonmark", {"html": True}).enable("table")
READERS = (PERMISSIVE, _AnyLink("commonmark", {"html": True}))


def _flat(text: str, reader: MarkdownIt = PERMISSIVE) -> list[Token]:
    return [t for token in reader.parse(text) for t in (token, *(token.children or ()))]


def _inert(text: str) -> None:
    """No raw HTML, image or script link, and what follows stands on its own."""
    for reader in READERS:
        tokens = reader.parse(text + "\n\n## fine\n")
        assert [t.content for t in tokens[-3:]] == ["", "fine", ""]
        for t in _flat(text, reader):
            assert t.type not in ("html_block", "html_inline", "image"), t
            href = str(t.attrGet("href") or "")
            assert not re.match(r"\s*(javascript|vbscript|data|file):", href, re.I), href


def _headings(text: str) -> list[tuple[int, str]]:
    tokens = GFM.parse(text)
    return [
        (int(t.tag[1:]), tokens[i + 1].content)
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    ]


def test_a_script_in_the_synthesis_shows_as_text() -> None:
    out = synthesis("Prima <script>alert('x')</script> dopo\n\n<script>\nalert(2)\n</script>", 3)
    _inert(out)
    page = GFM.render(out)
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in page
    assert "&lt;script&gt;\nalert(2)" in page  # the block too, as typed


def test_a_script_link_keeps_its_words_only() -> None:
    out = synthesis("Vedi [x](javascript:alert(1)) e [sito](https://comune.example.it).", 3)
    _inert(out)
    page = GFM.render(out)
    assert "Vedi x e " in page
    assert '<a href="https://comune.example.it">sito</a>' in page
    for disguised in (
        "[x](JaVaScRiPt:alert(1))",
        "[x](java&#115;cript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](%6Aavascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/png;base64,iVBORw0KGgo=)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: vbscript:msgbox",
    ):
        out = synthesis(disguised, 3)
        _inert(out)
        assert not [t for t in _flat(out) if t.type == "link_open"], disguised


def test_a_top_level_heading_goes_below_the_synthesis_heading() -> None:
    out = synthesis("# Titolo\n\nTesto.\n\n## Sotto", 3)
    assert _headings(out) == [(3, "Titolo"), (4, "Sotto")]
    assert out.startswith("### Titolo\n")


def test_setext_headings_are_written_atx_below_the_section() -> None:
    out = synthesis("Titolo\n======\n\nSottotitolo\n-----------\n\nTesto.", 4)
    assert _headings(out) == [(4, "Titolo"), (5, "Sottotitolo")]
    assert "===" not in out and "---" not in out


def test_a_hard_break_in_a_heading_is_no_html() -> None:
    out = synthesis("Titolo\\\nsu due righe\n===", 3)
    _inert(out)
    assert _headings(out) == [(3, "Titolo su due righe")]


def test_html_comments_show_as_text_and_hide_nothing() -> None:
    out = synthesis("Prima\n\n<!-- nascosto\n\n## Priorità -->\n\nDopo <!-- in riga -->", 3)
    _inert(out)
    page = GFM.render(out)
    assert "&lt;!-- nascosto" in page and "&lt;!-- in riga --&gt;" in page
    assert "<!--" not in PERMISSIVE.render(out)


def test_reference_links_are_written_inline_and_define_nothing() -> None:
    """A definition is global to a document: one table's synthesis must not give another's
    "[r]" its address. Links are written inline and no definition is left."""
    out = synthesis("Vedi [il sito][r] e [r].\n\n[r]: https://comune.example.it 'Comune'", 3)
    _inert(out)
    assert '[il sito](https://comune.example.it "Comune")' in out
    assert not re.search(r"^\s*\[r\]:", out, re.M)
    # And text that only looks like a definition does not become one.
    second = synthesis("\\[r]: javascript:alert(1)", 3)
    _inert(second)
    env: dict[str, object] = {}
    PERMISSIVE.parse(out + "\n\n" + second, env)
    assert not env.get("references")


def test_a_table_with_pipes_in_its_cells_keeps_its_columns() -> None:
    out = synthesis(
        "| Proposta | Voti |\n| --- | ---: |\n| Casa \\| lavoro | 3 |\n| `a\\|b` e <b>x</b> | 2 |",
        3,
    )
    _inert(out)
    page = GFM.render(out)
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL)
    assert [row.count("<td") + row.count("<th") for row in rows] == [2, 2, 2]
    assert "<td>Casa | lavoro</td>" in page
    assert "<code>a|b</code> e &lt;b&gt;x&lt;/b&gt;" in page
    assert 'style="text-align:right"' in page  # the alignment is kept


def test_a_fence_left_open_is_closed() -> None:
    out = synthesis("Testo\n\n~~~\ncodice <b>\n", 3)
    _inert(out)
    assert "<pre><code>codice &lt;b&gt;\n</code></pre>" in GFM.render(out)


def test_a_twenty_thousand_character_synthesis_stays_whole_and_inert() -> None:
    block = (
        "## Sezione\n\nIl tavolo *chiede* [un link](javascript:x) e <img src=x> "
        "con | barre | e `codice`.\n\n- voce uno\n- voce due\n\n"
    )
    text = (block * (20_000 // len(block) + 1))[:20_000]
    out = synthesis(text, 3)
    _inert(out)
    assert out.count("### Sezione") == text.count("## Sezione")
    assert out.count("&lt;img src=x>") == text.count("<img src=x>")


def test_plain_text_is_literal_in_every_place() -> None:
    title = "<b>Casa</b> | *lavoro* [x](javascript:1) ~~via~~ &amp; `c`"
    for text in (
        f"| a | b |\n| --- | --- |\n| {esc(title, cell=True)} | x |",
        esc(title, start=True),
        f"## {esc(title + ' #', heading=True)}",
        f"- **{esc(title)}**",
    ):
        _inert(text)
        words = re.sub(r"<[^>]+>", "", GFM.render(text))
        assert "&lt;b&gt;Casa&lt;/b&gt;" in words and "[x](javascript:1)" in words
        assert "*lavoro*" in words and "~~via~~" in words and "&amp;amp;" in words
        # No tag in the source even for tools that do not read "\\<" as an escape.
        assert not re.search(r"<[A-Za-z/!?]", text)
    for start in ("# no", "> no", "- no", "+ no", "1. no", "2) no", "---", "===", "~~~ no"):
        assert GFM.render(esc(start, start=True)).startswith("<p>"), start
    assert esc("Dott.ssa Anna Rossi (D.lgs. 62/2024), snake_case e 2 * 3") == (
        "Dott.ssa Anna Rossi (D.lgs. 62/2024), snake_case e 2 * 3"
    )
