"""User text rules shared by every service."""

from app.services.errors import Invalid


def clean_line(value: str, *, field: str, limit: int, required: bool = False) -> str:
    """One line of text: whitespace collapsed, length checked."""
    return _checked(" ".join(value.split()), field=field, limit=limit, required=required)


def clean_paragraphs(value: str, *, field: str, limit: int) -> str:
    """Free text: line breaks kept, trailing spaces and surplus blank lines dropped."""
    lines = [line.rstrip() for line in value.replace("\r\n", "\n").strip().split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return _checked(text, field=field, limit=limit, required=False)


def _checked(value: str, *, field: str, limit: int, required: bool) -> str:
    if required and not value:
        raise Invalid("This field is required", field=field)
    if len(value) > limit:
        raise Invalid("At most %(limit)s characters", field=field, limit=limit)
    return value
