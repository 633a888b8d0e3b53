"""Issue 16: organisation names typed in different ways are unified by the event's moderator
before the register is filed (services/organisations.py), on the event's page and through
the API; every format of the register prints the unified name and counts the group."""

import io
import json

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from app import reports
from app.models import Event, Table
from app.reports import data
from app.services import events, organisations, phases
from app.services.errors import Invalid
from tests.conftest import ADMIN_TOKEN, make_event, make_participant, make_table
from tests.server import bearer
from tests.test_pages import csrf_of
from tests.test_report_attendance import _texts

N = 3
FARO_SHORT, FARO_LONG = "Coop. Sociale Il Faro", "Cooperativa sociale Il Faro"


def _table(session: Session, event: Event) -> Table:
    """Two people typed the short form (one agreed to be named), two the long one: apart,
    neither is a group of three; four people of the Comune; all closed."""
    table = make_table(session, event, phase="preparation")
    phases.set_phase(session, table, "collect")
    named, _ = make_participant(session, table, name="Rosa Marino", organisation=FARO_SHORT)
    named.named_in_minutes = True
    session.add(named)
    session.commit()
    make_participant(session, table, organisation=" coop.  sociale il faro ")  # same key
    for _ in range(2):
        make_participant(session, table, organisation=FARO_LONG)
    for _ in range(4):
        make_participant(session, table, organisation="Comune di Baronissi")
    phases.set_phase(session, table, "closed")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _event(session: Session) -> tuple[Event, str, Table]:
    event, moderator = make_event(session)
    return event, moderator, _table(session, event)


def test_the_variants_are_listed_by_the_automatic_match_without_head_counts(
    session: Session,
) -> None:
    event, _moderator, _ = _event(session)
    found = organisations.variants(session, event)
    assert [(v.key, v.spellings) for v in found] == [
        ("comune di baronissi", ("Comune di Baronissi",)),
        ("coop sociale il faro", ("Coop. Sociale Il Faro", "coop. sociale il faro")),
        ("cooperativa sociale il faro", ("Cooperativa sociale Il Faro",)),
    ]


def test_unified_names_make_one_group_in_every_format(session: Session) -> None:
    event, _moderator, table = _event(session)
    before = data.build_table_report(session, table, min_group=N)
    assert [(o.name, o.people) for o in before.organisations] == [("Comune di Baronissi", 4)]
    organisations.set_names(session, event=event, names={FARO_SHORT: FARO_LONG})
    report = data.build_table_report(session, table, min_group=N)
    assert [(o.name, o.people) for o in report.organisations] == [
        ("Comune di Baronissi", 4),
        (FARO_LONG, 4),
    ]
    assert report.other_organisations == 0
    # The named person's organisation is printed as unified, in every format.
    assert [(p.name, p.organisation) for p in report.named] == [("Rosa Marino", FARO_LONG)]
    for fmt, text in _texts(report).items():
        assert FARO_LONG in text and FARO_SHORT not in text, fmt
    doc = json.loads(reports.render_table(report, "json"))["participants"]
    assert {"name": FARO_LONG, "people": 4} in doc["organisations"]
    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    flat = [v for row in book["Presenze"].iter_rows(values_only=True) for v in row]
    assert FARO_LONG in flat and FARO_SHORT not in flat
    # The event's register adds up the tables' unified groups.
    event_report = data.build_event_report(session, event, min_group=N)
    assert (FARO_LONG, 4) in [(o.name, o.people) for o in event_report.organisations]


def test_the_rule_refuses_unknown_variants_and_chains(session: Session) -> None:
    event, _moderator, _ = _event(session)
    with pytest.raises(Invalid):
        organisations.set_names(session, event=event, names={"Pro Loco": FARO_LONG})
    with pytest.raises(Invalid):  # the long form is itself unified onto a third name
        organisations.set_names(
            session,
            event=event,
            names={FARO_SHORT: FARO_LONG, FARO_LONG: "Il Faro"},
        )
    fresh = session.get(Event, event.id, populate_existing=True)
    assert fresh is not None and fresh.organisation_names == {}
    # An empty name unifies nothing; a variant's own key prints it as the moderator spells it.
    saved = organisations.set_names(
        session,
        event=event,
        names={FARO_SHORT: "", "comune di baronissi": "Comune di Baronissi (SA)"},
    )
    assert saved.organisation_names == {"comune di baronissi": "Comune di Baronissi (SA)"}


def test_the_moderator_unifies_names_on_the_event_page(
    client: TestClient, session: Session
) -> None:
    event, moderator, table = _event(session)
    other = make_table(session, event, phase="collect")
    make_participant(session, other, organisation="<img src=x onerror=alert(1)>")
    page = client.get(f"/m/{moderator}").text
    assert f'action="/m/{moderator}/organisations"' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Scritta come Coop. Sociale Il Faro · coop. sociale il faro: riporta come" in page
    form = {
        "variant": ["comune di baronissi", "coop sociale il faro", "cooperativa sociale il faro"],
        "name": ["", FARO_LONG, ""],
    }  # a variant left out of the form unifies nothing
    assert client.post(f"/m/{moderator}/organisations", data=form).status_code == 403
    fresh = session.get(Event, event.id, populate_existing=True)
    assert fresh is not None and fresh.organisation_names == {}
    saved = client.post(
        f"/m/{moderator}/organisations",
        data={**form, "csrf_token": csrf_of(page)},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "Nomi delle organizzazioni salvati." in saved.text
    fresh = session.get(Event, event.id, populate_existing=True)
    assert fresh is not None
    assert fresh.organisation_names == {"coop sociale il faro": FARO_LONG}
    assert f'value="{FARO_LONG}"' in saved.text  # the form shows what is stored
    report = data.build_table_report(session, table, min_group=N)
    assert (FARO_LONG, 4) in [(o.name, o.people) for o in report.organisations]


def test_the_api_door_and_who_may_use_it(client: TestClient, session: Session) -> None:
    event, moderator, _ = _event(session)
    url = f"/api/events/{event.id}/organisations"
    listed = client.get(url, headers=bearer(moderator))
    assert listed.status_code == 200
    assert [v["key"] for v in listed.json()["variants"]][1] == "coop sociale il faro"
    body = {"names": {FARO_SHORT: FARO_LONG}}
    done = client.put(url, json=body, headers=bearer(moderator))
    assert done.status_code == 200
    assert {
        "key": "coop sociale il faro",
        "spellings": [FARO_SHORT, "coop. sociale il faro"],
        "name": FARO_LONG,
    } in done.json()["variants"]
    assert (
        client.put(url, json={"names": {"Pro Loco": "X"}}, headers=bearer(moderator)).status_code
        == 422
    )
    assert client.put(url, json={**body, "extra": 1}, headers=bearer(moderator)).status_code == 422
    assert client.put(url, json=body).status_code == 401
    _other, other_token = make_event(session)
    assert client.put(url, json=body, headers=bearer(other_token)).status_code == 403
    assert client.put(url, json={"names": {}}, headers=bearer(ADMIN_TOKEN)).status_code == 200
    # The coordinator's link only reads: it cannot unify, and its page says who does.
    coordinator = events.new_coordinator_link(session, event)
    refused = client.put(url, json=body, headers=bearer(coordinator))
    assert refused.status_code in (401, 403)
    fresh = session.get(Event, event.id, populate_existing=True)
    assert fresh is not None and fresh.organisation_names == {}
    downloads = client.get(f"/c/{coordinator}").text
    assert "li unifica il moderatore dell'evento" in downloads
    assert "/organisations" not in downloads
