"""Hostile input at every door that takes text: refused with 422 (413 for size) and nothing
stored, or stored normalised (NFC, no control characters, no bidirectional overrides).

The corpus goes through the JSON API and the participant pages, on SQLite and PostgreSQL;
`BodyGuard` and `clean_line`/`clean_paragraphs` are also checked on their own."""

import asyncio
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.responses import Response as StarletteResponse
from starlette.websockets import WebSocketDisconnect

from app.hygiene import BodyGuard, malformed
from app.models import Dissent, Event, Participant, Proposal, Table, Tag
from app.services.errors import DomainError, Invalid
from app.services.text import clean_line, clean_paragraphs
from tests.conftest import ADMIN_TOKEN, make_event
from tests.server import bearer

NOT_ALLOWED = "This text contains characters that are not allowed"
NOT_ALLOWED_IT = "Questo testo contiene caratteri non ammessi"
TOO_LARGE = "This request is too large"
TOO_LARGE_IT = "La richiesta è troppo grande"
LIMIT = 256 * 1024  # the default TAVOLI_MAX_BODY_BYTES

# --- the corpus ----------------------------------------------------------------------------

# Text no service may see: refused, never silently altered.
REFUSED = [
    "Ciao\x00mondo",
    "\x00",
    "alto \ud800 solo",
    "basso \udfff solo",
    "rovesciati \udc00\ud800",
]
# Text stored in its canonical form.
NORMALISED = [
    ("Coop\u202e Sociale", "Coop Sociale"),  # RIGHT-TO-LEFT OVERRIDE
    ("\u2066Anna\u2069 \u202aRossi\u202c \u202b\u202d", "Anna Rossi"),  # isolates, embeddings
    ("Citta\u0300 di Fisciano, caffe\u0301", "Città di Fisciano, caffé"),  # decomposed accents
    ("zero\u200bwidth\ufeff\u2060 joiner", "zerowidth joiner"),
    ("Bell\x07 \x1b[31mrosso\x7f", "Bell [31mrosso"),  # C0 and DEL
    ("C1\x9b\x80 codes", "C1 codes"),
    ("tab\there", "tab here"),
]
# Text that must come through as it is.
KEPT = [
    "Niccolò Ferrè, Università di Salerno",
    "👩\u200d💻 ZWJ emoji",  # ZWJ joins the emoji sequence
    "\u05d3\u05e0\u05d4\u200f (RLM)",  # a Hebrew name with its mark
]
# Bytes that are not UTF-8, as a url-encoded form sends them.
BAD_FORM_BYTES = ["%FF", "%C3", "%ED%A0%80", "%C0%AF", "%00", "ok%00"]


def assert_clean(text: str, *, paragraphs: bool = False) -> None:
    assert unicodedata.is_normalized("NFC", text), repr(text)
    allowed = {"\n"} if paragraphs else set()
    controls = [c for c in text if unicodedata.category(c) == "Cc" and c not in allowed]
    assert controls == [], repr(text)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", text), repr(text)


# --- doors ---------------------------------------------------------------------------------


@dataclass
class Ctx:
    client: TestClient
    session: Session
    event_id: int
    moderator: str
    code: str
    participant: str  # an API participant's token
    proposal_id: int  # that participant's own post
    csrf: str  # the page client's CSRF token (it has joined through the page)
    page_proposal_id: int  # the page participant's own post
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self, query: Any) -> list[Any]:
        self.session.expire_all()
        return list(self.session.exec(query))


def send_json(ctx: Ctx, method: str, url: str, payload: dict[str, Any], token: str) -> Response:
    """JSON as a client library writes it: escapes for what is not ASCII (so a lone surrogate
    travels as \\ud800 and a NUL as \\u0000)."""
    body = json.dumps(payload)
    headers = {"content-type": "application/json", **bearer(token)}
    return ctx.client.request(method, url, content=body, headers=headers)


def form_value(value: str) -> str:
    """Percent-encoded UTF-8, a lone surrogate as the bytes a careless encoder writes."""
    return quote_plus(value.encode("utf-8", "surrogatepass"))


def send_form(ctx: Ctx, url: str, fields: dict[str, str], *, htmx: bool) -> Response:
    parts = [f"{name}={form_value(value)}" for name, value in fields.items()]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if htmx:
        headers |= {"HX-Request": "true", "X-CSRF-Token": ctx.csrf}
    else:
        parts.append(f"csrf_token={ctx.csrf}")
    return ctx.client.post(url, content="&".join(parts), headers=headers)


Send = Callable[[Ctx, str], Response]
Stored = Callable[[Ctx], list[str]]


@dataclass(frozen=True)
class Door:
    name: str
    send: Send
    stored: Stored  # what this door has stored so far, oldest first
    page: bool = False  # an HTML form (else the JSON API)
    paragraphs: bool = False
    prepare: Callable[[Ctx], None] | None = None

    def __str__(self) -> str:
        return self.name


def event_field(name: str) -> tuple[Send, Stored]:
    def send(ctx: Ctx, text: str) -> Response:
        payload = {"title": "Evento", "date": "2024-11-09", name: text}
        return send_json(ctx, "POST", "/api/events", payload, ADMIN_TOKEN)

    def stored(ctx: Ctx) -> list[str]:
        return [getattr(e, name) for e in ctx.rows(select(Event).order_by(col(Event.id)))]

    return send, stored


def send_category(ctx: Ctx, text: str) -> Response:
    payload = {"title": "Evento", "date": "2024-11-09", "categories": ["Scuola", text]}
    return send_json(ctx, "POST", "/api/events", payload, ADMIN_TOKEN)


def stored_categories(ctx: Ctx) -> list[str]:
    return [e.categories[-1] for e in ctx.rows(select(Event).order_by(col(Event.id)))]


def table_field(name: str) -> tuple[Send, Stored]:
    def send(ctx: Ctx, text: str) -> Response:
        payload = {"title": "Tavolo", name: text}
        url = f"/api/events/{ctx.event_id}/tables"
        return send_json(ctx, "POST", url, payload, ctx.moderator)

    def stored(ctx: Ctx) -> list[str]:
        return [getattr(t, name) for t in ctx.rows(select(Table).order_by(col(Table.id)))]

    return send, stored


def participant_column(name: str) -> Stored:
    def stored(ctx: Ctx) -> list[str]:
        people = ctx.rows(select(Participant).order_by(col(Participant.id)))
        return [getattr(p, name) for p in people]

    return stored


def proposal_column(name: str) -> Stored:
    def stored(ctx: Ctx) -> list[str]:
        return [getattr(p, name) for p in ctx.rows(select(Proposal).order_by(col(Proposal.id)))]

    return stored


def one_proposal(name: str, key: str) -> Stored:
    def stored(ctx: Ctx) -> list[str]:
        proposal = ctx.rows(select(Proposal).where(Proposal.id == getattr(ctx, key)))[0]
        return [getattr(proposal, name)]

    return stored


def api_join(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        url = f"/api/tables/{ctx.code}/participants"
        return ctx.client.post(url, content=json.dumps({name: text}), headers=JSON)

    return send


JSON = {"content-type": "application/json"}


def api_post(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        payload = {"kind": "need", "title": "Titolo", name: text}
        url = f"/api/tables/{ctx.code}/proposals"
        return send_json(ctx, "POST", url, payload, ctx.participant)

    return send


def api_edit(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        payload = {"title": "Titolo", name: text}
        url = f"/api/proposals/{ctx.proposal_id}"
        return send_json(ctx, "PATCH", url, payload, ctx.participant)

    return send


def moderator_edit(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        payload = {"title": "Titolo", name: text}
        url = f"/api/tables/{ctx.code}/proposals/{ctx.proposal_id}/text"
        return send_json(ctx, "PUT", url, payload, ctx.moderator)

    return send


def premoderate(ctx: Ctx) -> None:
    url = f"/api/tables/{ctx.code}/settings"
    response = send_json(ctx, "PATCH", url, {"premoderation": True}, ctx.moderator)
    assert response.status_code == 200, response.text


def moderator_note(action: str) -> Send:
    """A fresh post in the queue each time (a decision takes it out of the queue)."""

    def send(ctx: Ctx, text: str) -> Response:
        url = f"/api/tables/{ctx.code}/proposals"
        posted = send_json(ctx, "POST", url, {"title": "In coda"}, ctx.extra["author"])
        assert posted.status_code == 201, posted.text
        url = f"/api/tables/{ctx.code}/proposals/{posted.json()['id']}/{action}"
        return send_json(ctx, "POST", url, {"note": text}, ctx.moderator)

    return send


def prepare_notes(ctx: Ctx) -> None:
    premoderate(ctx)
    joined = ctx.client.post(f"/api/tables/{ctx.code}/participants", json={})
    ctx.extra["author"] = joined.json()["token"]


def stored_notes(ctx: Ctx) -> list[str]:
    notes = proposal_column("moderator_note")(ctx)
    return [note for note in notes if note]


def send_tag(ctx: Ctx, text: str) -> Response:
    return send_json(ctx, "POST", f"/api/tables/{ctx.code}/tags", {"name": text}, ctx.moderator)


def stored_tags(ctx: Ctx) -> list[str]:
    return [t.name for t in ctx.rows(select(Tag).order_by(col(Tag.id)))]


def send_paper(ctx: Ctx, text: str) -> Response:
    url = f"/api/tables/{ctx.code}/paper-participants"
    return send_json(ctx, "POST", url, {"name": text}, ctx.moderator)


def page_join(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        return send_form(ctx, f"/t/{ctx.code}/join", {name: text}, htmx=False)

    return send


def page_post(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        fields = {"kind": "proposal", "title": "Titolo", name: text}
        return send_form(ctx, f"/t/{ctx.code}/proposals", fields, htmx=True)

    return send


def page_edit(name: str) -> Send:
    def send(ctx: Ctx, text: str) -> Response:
        url = f"/t/{ctx.code}/proposals/{ctx.page_proposal_id}/edit"
        return send_form(ctx, url, {"title": "Titolo", name: text}, htmx=True)

    return send


def to_voting(ctx: Ctx) -> None:
    url = f"/api/tables/{ctx.code}/phase"
    response = send_json(ctx, "PUT", url, {"phase": "voting"}, ctx.moderator)
    assert response.status_code == 200, response.text


def api_dissent(ctx: Ctx, text: str) -> Response:
    url = f"/api/proposals/{ctx.proposal_id}/dissent"
    return send_json(ctx, "PUT", url, {"reason": text}, ctx.participant)


def page_dissent(ctx: Ctx, text: str) -> Response:
    url = f"/t/{ctx.code}/proposals/{ctx.page_proposal_id}/dissent"
    return send_form(ctx, url, {"reason": text}, htmx=True)


def stored_reasons(ctx: Ctx) -> list[str]:
    return [d.reason for d in ctx.rows(select(Dissent).order_by(col(Dissent.id)))]


DOORS = [
    Door("api event title", *event_field("title")),
    Door("api event place", *event_field("place")),
    Door("api event organiser", *event_field("organiser")),
    Door("api event categories", send_category, stored_categories),
    Door("api table title", *table_field("title")),
    Door("api table question", *table_field("question")),
    Door("api join name", api_join("name"), participant_column("name")),
    Door("api join organisation", api_join("organisation"), participant_column("organisation")),
    Door("api post title", api_post("title"), proposal_column("title")),
    Door("api post body", api_post("body"), proposal_column("body"), paragraphs=True),
    Door("api edit title", api_edit("title"), one_proposal("title", "proposal_id")),
    Door("api edit body", api_edit("body"), one_proposal("body", "proposal_id"), paragraphs=True),
    Door("api moderator edit title", moderator_edit("title"), one_proposal("title", "proposal_id")),
    Door(
        "api moderator edit body",
        moderator_edit("body"),
        one_proposal("body", "proposal_id"),
        paragraphs=True,
    ),
    Door("api reject note", moderator_note("reject"), stored_notes, prepare=prepare_notes),
    Door("api rephrase note", moderator_note("rephrase"), stored_notes, prepare=prepare_notes),
    Door("api tag name", send_tag, stored_tags),
    Door("api dissent reason", api_dissent, stored_reasons, paragraphs=True, prepare=to_voting),
    Door(
        "page dissent reason",
        page_dissent,
        stored_reasons,
        page=True,
        paragraphs=True,
        prepare=to_voting,
    ),
    Door("api paper participant name", send_paper, participant_column("name")),
    Door("page join name", page_join("name"), participant_column("name"), page=True),
    Door(
        "page join organisation",
        page_join("organisation"),
        participant_column("organisation"),
        page=True,
    ),
    Door("page post title", page_post("title"), proposal_column("title"), page=True),
    Door(
        "page post body",
        page_post("body"),
        proposal_column("body"),
        page=True,
        paragraphs=True,
    ),
    Door(
        "page edit title", page_edit("title"), one_proposal("title", "page_proposal_id"), page=True
    ),
    Door(
        "page edit body",
        page_edit("body"),
        one_proposal("body", "page_proposal_id"),
        page=True,
        paragraphs=True,
    ),
]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def open_table(client: TestClient, session: Session) -> Ctx:
    """An event and a collecting table, an API participant with a post, and this client
    joined through the page with a post of its own."""
    created = client.post(
        "/api/events", json={"title": "Evento", "date": "2024-11-09"}, headers=bearer(ADMIN_TOKEN)
    )
    assert created.status_code == 201, created.text
    event = created.json()
    moderator = event["moderator_token"]
    table = client.post(
        f"/api/events/{event['id']}/tables", json={"title": "Tavolo"}, headers=bearer(moderator)
    )
    assert table.status_code == 201, table.text
    code = table.json()["code"]
    phase = client.put(
        f"/api/tables/{code}/phase", json={"phase": "collect"}, headers=bearer(moderator)
    )
    assert phase.status_code == 200, phase.text
    participant = client.post(f"/api/tables/{code}/participants", json={}).json()["token"]
    posted = client.post(
        f"/api/tables/{code}/proposals", json={"title": "Mia"}, headers=bearer(participant)
    )
    assert posted.status_code == 201, posted.text
    csrf = csrf_of(client.get(f"/t/{code}").text)
    page = client.post(f"/t/{code}/join", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    mine = client.post(
        f"/t/{code}/proposals",
        data={"title": "Dalla pagina"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert mine.status_code == 200, mine.text
    last = session.exec(select(Proposal).order_by(col(Proposal.id).desc())).first()
    assert last is not None and last.title == "Dalla pagina"
    return Ctx(
        client,
        session,
        event["id"],
        moderator,
        code,
        participant,
        posted.json()["id"],
        csrf,
        last.id or 0,
    )


def assert_refused(door: Door, response: Response, status: int, english: str, italian: str) -> None:
    assert response.status_code == status, (door.name, response.text)
    if door.page:
        assert italian in response.text  # the default locale
        assert response.headers.get("HX-Retarget") in (None, "#flash")
    else:
        answer = response.json()
        assert answer["detail"] == english
        # The guard refuses the whole body (no field); the services name the field.
        assert answer.get("field") in (None, door.name.rpartition(" ")[2])


@pytest.fixture
def ctx(client: TestClient, session: Session) -> Ctx:
    return open_table(client, session)


@pytest.mark.parametrize("door", DOORS, ids=str)
def test_every_door_refuses_broken_text_and_normalises_the_rest(
    db: str, ctx: Ctx, door: Door
) -> None:
    if door.prepare:
        door.prepare(ctx)
    for text in REFUSED:
        before = door.stored(ctx)
        response = door.send(ctx, text)
        assert_refused(door, response, 422, NOT_ALLOWED, NOT_ALLOWED_IT)
        assert door.stored(ctx) == before, (door.name, text)
    for text, expected in [*NORMALISED, *((kept, kept) for kept in KEPT)]:
        response = door.send(ctx, text)
        assert response.status_code in (200, 201), (door.name, text, response.text)
        stored = door.stored(ctx)[-1]
        assert stored == expected, (door.name, text)
        assert_clean(stored, paragraphs=door.paragraphs)


PAGE_DOORS = [door for door in DOORS if door.page]
NAME_DOORS = [
    door
    for door in DOORS
    if door.name.endswith((" join name", " join organisation", " paper participant name"))
]
# A word that passes for another: a Cyrillic М, a Cyrillic а, a Greek Ω in Latin words.
LOOK_ALIKES = [("Мoderatore", "Мoderatore"), ("Comune di Sаlerno", "Sаlerno"), ("Ωmega", "Ωmega")]
# Names in one alphabet per word: kept as typed.
ONE_ALPHABET_A_WORD = [
    "Olga Ольга",
    "Νίκος Παπαδόπουλος",
    "山田たろう",  # Han and Hiragana write Japanese together
    "José Ñúñez-D'Angelo 2",
]


@pytest.mark.parametrize("door", NAME_DOORS, ids=str)
def test_names_that_mix_alphabets_in_one_word_are_refused(db: str, ctx: Ctx, door: Door) -> None:
    """ "Мoderatore" with a Cyrillic М was accepted and printed as if the moderator spoke."""
    if door.prepare:
        door.prepare(ctx)
    for text, word in LOOK_ALIKES:
        before = door.stored(ctx)
        response = door.send(ctx, text)
        english = (
            f"A name cannot mix alphabets within one word, as «{word}» does: "
            "write each word in one alphabet"
        )
        italian = (
            f"Un nome non può mescolare alfabeti diversi nella stessa parola, come fa «{word}»"
        )
        assert_refused(door, response, 422, english, italian)
        assert door.stored(ctx) == before, (door.name, text)
    for text in ONE_ALPHABET_A_WORD:
        response = door.send(ctx, text)
        assert response.status_code in (200, 201), (door.name, text, response.text)
        assert door.stored(ctx)[-1] == text


@pytest.mark.parametrize("door", PAGE_DOORS, ids=str)
def test_forms_refuse_bytes_that_are_not_utf8(db: str, ctx: Ctx, door: Door) -> None:
    """title=%FF used to be stored as U+FFFD; %00 failed on PostgreSQL."""
    name = door.name.rpartition(" ")[2]
    for encoded in BAD_FORM_BYTES:
        before = door.stored(ctx)
        if door.name.startswith("page join"):
            url, fields, htmx = f"/t/{ctx.code}/join", f"csrf_token={ctx.csrf}", False
        elif door.name.startswith("page post"):
            url, fields, htmx = f"/t/{ctx.code}/proposals", "title=Titolo", True
        else:
            url = f"/t/{ctx.code}/proposals/{ctx.page_proposal_id}/edit"
            fields, htmx = "title=Titolo", True
        body = f"{fields}&{name}={encoded}"
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if htmx:
            headers |= {"HX-Request": "true", "X-CSRF-Token": ctx.csrf}
        response = ctx.client.post(url, content=body, headers=headers)
        assert_refused(door, response, 422, NOT_ALLOWED, NOT_ALLOWED_IT)
        if htmx:
            assert response.headers["HX-Retarget"] == "#flash"
        assert door.stored(ctx) == before, (door.name, encoded)


def test_raw_non_ascii_in_a_url_encoded_form_is_refused(db: str, ctx: Ctx) -> None:
    """Browsers percent-encode; raw bytes would be read as Latin-1 (mojibake)."""
    before = proposal_column("title")(ctx)
    response = ctx.client.post(
        f"/t/{ctx.code}/proposals",
        content="title=Città".encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "X-CSRF-Token": ctx.csrf,
        },
    )
    assert response.status_code == 422
    assert proposal_column("title")(ctx) == before


def multipart(fields: dict[str, bytes], boundary: str = "tavoliXboundary") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("bad", [b"\xff", b"Ciao\x00", b"\xed\xa0\x80"], ids=["ff", "nul", "sur"])
def test_multipart_forms_refuse_broken_text_and_pass_good_text(
    db: str, ctx: Ctx, bad: bytes
) -> None:
    url = f"/t/{ctx.code}/join"
    before = participant_column("name")(ctx)
    body, content_type = multipart({"csrf_token": ctx.csrf.encode(), "name": bad})
    response = ctx.client.post(url, content=body, headers={"content-type": content_type})
    assert response.status_code == 422
    assert NOT_ALLOWED_IT in response.text
    assert participant_column("name")(ctx) == before
    body, content_type = multipart(
        {"csrf_token": ctx.csrf.encode(), "name": "Niccolo\u0300\u202e".encode()}
    )
    response = ctx.client.post(url, content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert participant_column("name")(ctx)[-1] == "Niccolò"


def test_json_that_is_not_utf8_is_refused(db: str, ctx: Ctx) -> None:
    before = len(ctx.rows(select(Event)))
    for body in (b'{"title": "\xff", "date": "2024-11-09"}', b'{"title": "a\x00"}'):
        response = ctx.client.post(
            "/api/events", content=body, headers={**JSON, **bearer(ADMIN_TOKEN)}
        )
        assert response.status_code == 422
        assert response.json()["detail"] == NOT_ALLOWED
    assert len(ctx.rows(select(Event))) == before


def test_json_escapes_are_read_as_json_reads_them(db: str, ctx: Ctx) -> None:
    """An escaped backslash before "u0000" is text; a surrogate pair is one character."""
    for raw, expected in ((r"a\\u0000", "a\\u0000"), (r"\ud83d\ude00 ok", "😀 ok")):
        body = '{"title": "' + raw + '", "date": "2024-11-09"}'
        response = ctx.client.post(
            "/api/events", content=body, headers={**JSON, **bearer(ADMIN_TOKEN)}
        )
        assert response.status_code == 201, response.text
        assert event_field("title")[1](ctx)[-1] == expected


def test_lengths_are_counted_after_normalisation(db: str, ctx: Ctx) -> None:
    """140 decomposed accents are 280 code points but 140 characters once composed."""
    response = send_json(
        ctx,
        "POST",
        f"/api/tables/{ctx.code}/proposals",
        {"title": "e\u0301" * 140},
        ctx.participant,
    )
    assert response.status_code == 201, response.text
    assert proposal_column("title")(ctx)[-1] == "é" * 140


# --- size ----------------------------------------------------------------------------------


def test_a_30_mb_json_body_is_refused_from_its_length(db: str, ctx: Ctx) -> None:
    before = len(ctx.rows(select(Event)))
    body = b'{"title": "' + b"x" * 30_000_000 + b'", "date": "2024-11-09"}'
    response = ctx.client.post("/api/events", content=body, headers={**JSON, **bearer(ADMIN_TOKEN)})
    assert response.status_code == 413
    assert response.json()["detail"] == TOO_LARGE
    assert response.headers["connection"] == "close"
    assert len(ctx.rows(select(Event))) == before


def test_a_body_just_over_the_limit_is_refused_in_italian_for_htmx(db: str, ctx: Ctx) -> None:
    before = proposal_column("title")(ctx)
    body = "title=Titolo&body=" + "x" * LIMIT
    response = ctx.client.post(
        f"/t/{ctx.code}/proposals",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "X-CSRF-Token": ctx.csrf,
        },
    )
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#flash"
    assert TOO_LARGE_IT in response.text
    assert response.headers["content-security-policy"]  # inside WebMiddleware
    assert proposal_column("title")(ctx) == before


def test_the_longest_form_fits_the_limit(db: str, ctx: Ctx) -> None:
    """A 20,000-character synthesis of four-byte characters, url-encoded (12 bytes each)."""
    synthesis = "😀" * 19_990 + "\n\nFine"
    base = f"/run/{ctx.moderator}/{ctx.code}/"
    csrf = csrf_of(ctx.client.get(base).text)
    fields = {"csrf_token": csrf, "facilitator_name": "Anna Rossi", "synthesis": synthesis}
    body = "&".join(f"{name}={form_value(value)}" for name, value in fields.items())
    assert len(body) > 240_000
    response = ctx.client.post(
        base + "synthesis",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    table = ctx.rows(select(Table).where(Table.code == ctx.code))[0]
    assert table.synthesis == synthesis


# --- path and query ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/t/%00", "/join?code=%00", "/t/%FF", "/join?code=AB%C3"])
def test_a_nul_or_bad_bytes_in_the_address_is_refused(client: TestClient, url: str) -> None:
    """/t/%00 answered 500 on PostgreSQL (the table code is looked up)."""
    response = client.get(url)
    assert response.status_code == 422
    assert NOT_ALLOWED_IT in response.text


def test_a_websocket_to_a_nul_address_is_closed(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/t/%00/ws"):
        pass
    assert closed.value.code == 1008


# --- the minutes ---------------------------------------------------------------------------


def test_an_override_in_an_organisation_does_not_reach_the_minutes(db: str, ctx: Ctx) -> None:
    """U+202E after "Coop" used to print every later name of the list backwards."""
    for name, organisation in (("Anna Rossi", "Coop\u202e Sociale"), ("Bruno Bianchi", "Comune")):
        response = ctx.client.post(
            f"/api/tables/{ctx.code}/participants",
            json={"name": name, "organisation": organisation, "named_in_minutes": True},
        )
        assert response.status_code == 201, response.text
    bidi = re.compile("[\u202a-\u202e\u2066-\u2069]")
    for fmt in ("md", "html", "csv", "json"):
        response = ctx.client.get(
            f"/api/tables/{ctx.code}/report.{fmt}", headers=bearer(ctx.moderator)
        )
        assert response.status_code == 200, (fmt, response.text)
        text = response.content.decode()
        assert not bidi.search(text), fmt
    closed = ctx.client.put(
        f"/api/tables/{ctx.code}/phase", json={"phase": "closed"}, headers=bearer(ctx.moderator)
    )
    assert closed.status_code == 200, closed.text  # only final minutes name people
    minutes = ctx.client.get(
        f"/api/tables/{ctx.code}/report.md", headers=bearer(ctx.moderator)
    ).text
    assert not bidi.search(minutes)
    assert re.search(r"Anna Rossi\s*\|\s*Coop Sociale", minutes), minutes
    assert re.search(r"Bruno Bianchi\s*\|\s*Comune", minutes), minutes


# --- the services on their own -------------------------------------------------------------


def test_services_refuse_nul_and_lone_surrogates_with_the_field(db: str, session: Session) -> None:
    before = len(list(session.exec(select(Event))))
    for text in REFUSED:
        with pytest.raises(Invalid) as refused:
            make_event(session, title="Evento", organiser=text)
        assert (refused.value.message, refused.value.field) == (NOT_ALLOWED, "organiser")
    assert len(list(session.exec(select(Event)))) == before
    event, _token = make_event(session, title="Evento\u202e", place="Aula\u0300")
    assert (event.title, event.place) == ("Evento", "Aulà")


@pytest.mark.parametrize(("text", "expected"), [*NORMALISED, ("a \x85 b\u2028c", "a b c")])
def test_clean_line(text: str, expected: str) -> None:
    assert clean_line(text, field="f", limit=100) == expected


def test_clean_paragraphs_keeps_line_breaks_of_every_kind_as_newlines() -> None:
    text = "\r\n  Titolo\u202e\r\n\r\n\r\n\r\nuno\rdue\u2028tre\x85quattro  \n\n\n"
    assert clean_paragraphs(text, field="body", limit=100) == "Titolo\n\nuno\ndue\ntre\nquattro"


def test_clean_paragraphs_keeps_markdown_indentation() -> None:
    text = "- voce\n\t- sotto\tvoce"
    assert clean_paragraphs(text, field="body", limit=100) == "- voce\n    - sotto voce"


def test_a_surrogate_pair_in_two_code_points_is_one_character() -> None:
    assert clean_line("\ud83d\ude00", field="f", limit=1) == "😀"


def test_required_and_limit_are_checked_after_cleaning() -> None:
    with pytest.raises(Invalid) as empty:
        clean_line("\u202e\u200b\x07", field="title", limit=10, required=True)
    assert (empty.value.message, empty.value.field) == ("This field is required", "title")
    assert clean_line("u\u0308" * 3, field="f", limit=3) == "ü" * 3


# --- BodyGuard on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "bad"),
    [
        ("application/json", rb'{"a": "\u0000"}', True),
        ("application/json", rb'{"a": "\ud800"}', True),
        ("application/json", rb'{"a": "\uDBFF\n"}', True),
        ("application/json", rb'{"a": "\udc00\ud800"}', True),
        ("application/json", rb'{"a": "x\ud83d"}', True),
        ("application/json", rb'{"a": "\ud83d\ude00"}', False),
        ("application/json", rb'{"a": "\\u0000 \\ud800"}', False),
        ("application/json; charset=utf-8", b'{"a": "\xc3\xa9"}', False),
        ("application/merge-patch+json", rb'{"a": "\u0000"}', True),
        ("application/x-www-form-urlencoded", b"a=%F0%9F%98%80&b=c+d", False),
        ("application/x-www-form-urlencoded", b"a=%f0%9f%98", True),
        ("application/x-www-form-urlencoded", b"a=ok&%00=b", True),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\n\r\n\xff\r\n--xyz--\r\n", True),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n'
            b"\x00\xff\r\n--xyz--\r\n",
            False,  # a file is not text
        ),
        ("text/plain", b"\x00\xff", False),  # no route reads it as text
        ("", b"\x00", False),
    ],
)
def test_malformed(content_type: str, body: bytes, bad: bool) -> None:
    assert malformed(content_type, body) is bad


@dataclass
class Run:
    status: int | None = None
    app_got: list[dict[str, Any]] = field(default_factory=list)
    receives: int = 0


async def refuse(_request: Request, error: DomainError) -> StarletteResponse:
    return PlainTextResponse(error.message, status_code=error.status)


def run_guard(
    messages: list[dict[str, Any]] | None, headers: list[tuple[bytes, bytes]], limit: int = 1000
) -> Run:
    """Drive BodyGuard with the given receive messages (None: an endless 100-byte stream)."""
    run = Run()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        run.app_got.append(await receive())
        run.app_got.append(await receive())
        await PlainTextResponse("ok")(scope, receive, send)

    async def receive() -> dict[str, Any]:
        run.receives += 1
        if messages is None:
            return {"type": "http.request", "body": b"x" * 100, "more_body": True}
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            run.status = message["status"]

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/x",
        "raw_path": b"/api/x",
        "query_string": b"",
        "headers": headers,
    }
    asyncio.run(BodyGuard(app, limit=limit, refuse=refuse)(scope, receive, send))
    return run


def test_guard_stops_a_chunked_body_as_soon_as_it_passes_the_limit() -> None:
    run = run_guard(None, [(b"content-type", b"application/json")], limit=1000)
    assert run.status == 413
    assert run.app_got == []
    assert run.receives == 11  # 10 chunks fill the limit, the 11th passes it


def test_guard_refuses_from_content_length_before_reading() -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1001")]
    run = run_guard([], headers, limit=1000)
    assert (run.status, run.receives, run.app_got) == (413, 0, [])


def test_guard_replays_a_good_body_unchanged_in_one_message() -> None:
    chunks = [b'{"title": ', b'"Citt\\u00e0 \xf0\x9f', b'\x98\x80"}']
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < 2}
        for i, chunk in enumerate(chunks)
    ]
    run = run_guard(messages, [(b"content-type", b"application/json")])
    assert run.status == 200
    assert run.app_got[0] == {"type": "http.request", "body": b"".join(chunks), "more_body": False}
    assert run.app_got[1] == {"type": "http.disconnect"}  # then the server's own receive


def test_guard_refuses_a_split_bad_escape() -> None:
    chunks = [b'{"title": "\\ud8', b'00"}']
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < 1}
        for i, chunk in enumerate(chunks)
    ]
    run = run_guard(messages, [(b"content-type", b"application/json")])
    assert (run.status, run.app_got) == (422, [])
