"""User text rules shared by every service.

Every text a person types goes through `clean_line` or `clean_paragraphs` before it is
stored, so what reaches the database, the pages and every report format is one canonical,
printable form:

- NFC: "e" + combining acute and "é" are one and the same text (search, duplicates, the
  length limit and the spreadsheet's sorting all see them alike);
- no control characters: they have no place in text that is printed or exported (a tab
  becomes a space, in free text the spaces to its tab stop; `clean_paragraphs` keeps line
  breaks, every kind as a plain "\\n");
- no bidirectional overrides, embeddings or isolates (U+202A-U+202E, U+2066-U+2069):
  they reorder the text *after* them, so a name ending in U+202E would print every later
  name of the minutes backwards. The implicit marks LRM, RLM and ALM (U+200E, U+200F,
  U+061C) are kept: each behaves as one letter of its direction, which any Arabic or Hebrew
  name already has, so they can do nothing a letter cannot, and people writing those
  scripts use them to place punctuation;
- no invisible characters that only make equal-looking texts differ (zero-width space,
  word joiner, byte-order mark, invisible operators, deprecated format controls,
  interlinear annotations). ZWJ and ZWNJ stay: emoji sequences and several scripts need them.

A NUL or a lone surrogate is refused rather than dropped: neither can come from a keyboard,
PostgreSQL cannot store the first nor any UTF-8 encoder write the second, and a sender
whose text is broken should be told so, not have it silently altered.

Names (`clean_name_line`: people's and organisations') are refused when one word mixes scripts
("Мoderatore" with a Cyrillic М, "Comune di Sаlerno" with a Cyrillic а): UTS #39's
mixed-script test, per word, with the Script_Extensions of Unicode 16 (`unicodedataplus`;
Python's `unicodedata` has no script property). Digits, punctuation and combining marks
go with any script, and Han with Hiragana and Katakana (Japanese), with Hangul (Korean) or
with Bopomofo count as one writing system, as UTS #39's augmented script sets say. Names
in different scripts side by side ("Olga Ольга") stay allowed: only a word that is not
one alphabet passes for another.
"""

import re
import unicodedata

import unicodedataplus

from app.services.errors import Invalid

# Control characters (Unicode Cc) other than tab and the line breaks str.splitlines knows
# (\n \r \v \f \x1c-\x1e \x85), which the two functions below turn into spaces or "\n".
_CONTROLS = "\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u200b\u2060-\u2065\u206a-\u206f\ufeff\ufff9-\ufffb"
_DROPPED = re.compile(f"[{_CONTROLS}{_BIDI}{_INVISIBLE}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_line(value: str, *, field: str, limit: int, required: bool = False) -> str:
    """One line of text: normalised (see the module), whitespace collapsed, length checked."""
    text = _DROPPED.sub("", _refuse_broken(value, field=field))
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return _checked(text, field=field, limit=limit, required=required)


def clean_name_line(value: str, *, field: str, limit: int, required: bool = False) -> str:
    """A line that names someone (or an organisation): no word of it mixes scripts."""
    text = clean_line(value, field=field, limit=limit, required=required)
    word = mixed_script_word(text)
    if word is not None:
        raise Invalid(
            "A name cannot mix alphabets within one word, as «%(word)s» does: "
            "write each word in one alphabet",
            field=field,
            word=word,
        )
    return text


# UTS #39 augmented script sets: these scripts write one language together.
_AUGMENTED = {
    "Hani": frozenset({"Hani", "Hanb", "Jpan", "Kore"}),
    "Hira": frozenset({"Hira", "Jpan"}),
    "Kana": frozenset({"Kana", "Jpan"}),
    "Hang": frozenset({"Hang", "Kore"}),
    "Bopo": frozenset({"Bopo", "Hanb"}),
}
_ANY_SCRIPT = frozenset({"Zyyy", "Zinh"})  # Common and Inherited


def _scripts(char: str) -> frozenset[str] | None:
    """The character's augmented Script_Extensions; None when it goes with any script."""
    extensions = unicodedataplus.script_extensions(char)
    if _ANY_SCRIPT.intersection(extensions):
        return None
    found: frozenset[str] = frozenset()
    for script in extensions:
        found |= _AUGMENTED.get(script, frozenset({script}))
    return found


def mixed_script_word(text: str) -> str | None:
    """The first word written in more than one script (UTS #39: its resolved script set is
    empty), or None."""
    for word in text.split():
        resolved: frozenset[str] | None = None
        for char in word:
            scripts = _scripts(char)
            if scripts is None:
                continue
            resolved = scripts if resolved is None else resolved & scripts
            if not resolved:
                return word
    return None


def clean_paragraphs(value: str, *, field: str, limit: int) -> str:
    """Free text (a body, the Markdown synthesis): normalised like a line, but line breaks of
    any kind kept as "\\n", trailing spaces and surplus blank lines dropped. Tabs go to tab
    stops of four spaces, as Markdown reads them, so an indented list keeps its nesting."""
    lines = [
        _DROPPED.sub("", line).expandtabs(4).rstrip()
        for line in _refuse_broken(value, field=field).splitlines()
    ]
    text = unicodedata.normalize("NFC", "\n".join(lines).strip())
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return _checked(text, field=field, limit=limit, required=False)


def _refuse_broken(value: str, *, field: str) -> str:
    """Refuse a NUL or a lone surrogate (see the module)."""
    text = _join_surrogate_pairs(value)
    if text is None or "\x00" in text:
        raise Invalid("This text contains characters that are not allowed", field=field)
    return text


def _join_surrogate_pairs(value: str) -> str | None:
    """A surrogate pair that arrived as two code points (a valid character spelt the UTF-16
    way) becomes the character it stands for; None when a surrogate lacks its other half."""
    if not _SURROGATE.search(value):
        return value
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return None


def _checked(value: str, *, field: str, limit: int, required: bool) -> str:
    """Required and length rules, on the normalised text (what is stored is what counts)."""
    if required and not value:
        raise Invalid("This field is required", field=field)
    if len(value) > limit:
        raise Invalid("At most %(limit)s characters", field=field, limit=limit)
    return value
