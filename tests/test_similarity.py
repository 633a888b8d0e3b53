"""Duplicate suggestions' text similarity (`app/services/similarity.py`), on field examples
written here (not the benchmark's set): what a moderator would merge scores above what
they would keep apart, whatever the spelling."""

import pytest

from app.services import similarity
from app.services.similarity import DEFAULT_GLOSSARY, Index, Item

NEED, PROPOSAL, RESOURCE = "need", "proposal", "resource"


def test_accents_and_apostrophe_accents_are_one_spelling() -> None:
    assert similarity.words("Più ore, perché") == similarity.words("piu' ore, perche'")
    assert similarity.words("PIÙ") == ["piu"]


@pytest.mark.parametrize("text", ["", "   ", "'''", "éèàù", "!!!???", "\u200b", "x" * 5000])
def test_hostile_or_empty_text_scores_zero_without_error(text: str) -> None:
    index = Index([Item(1, NEED, text), Item(2, NEED, "Più posti al nido comunale")])
    assert 0.0 <= index.score(1, 2) <= 1.0
    assert index.score(1, 2) < 0.2
    assert Index([Item(1, NEED, text), Item(2, NEED, text, text)]).pairs(5) is not None


def test_an_abbreviation_meets_its_expansion() -> None:
    a = Item(1, NEED, "Troppe poche ore di SAD")
    b = Item(2, PROPOSAL, "Aumentare l'assistenza domiciliare comunale")
    c = Item(3, PROPOSAL, "Aumentare le ore di ADI per i malati cronici")
    index = Index([a, b, c])
    assert [(p.a, p.b) for p in index.pairs(1)] == [(1, 2)]
    assert index.score(1, 2) > 2 * index.score(1, 3)


def test_a_misspelt_glossary_word_still_meets_it() -> None:
    index = Index(
        [
            Item(1, PROPOSAL, "Potenziare l'assitenza domicilare per gli anziani"),
            Item(2, NEED, "SAD insufficiente per gli over 75"),
            Item(3, PROPOSAL, "Corsi di ballo per gli over 75"),
        ]
    )
    assert index.score(1, 2) > index.score(2, 3)


def test_a_resource_is_never_suggested_with_a_need_or_a_proposal() -> None:
    index = Index(
        [
            Item(1, NEED, "Mancano autisti per accompagnare gli anziani alle visite"),
            Item(
                2, RESOURCE, "Offriamo autisti volontari per accompagnare gli anziani alle visite"
            ),
            Item(3, RESOURCE, "Due autisti volontari disponibili per le visite degli anziani"),
        ]
    )
    assert index.score(1, 2) == 0.0
    assert index.score(2, 3) > 0.3
    assert [(p.a, p.b) for p in index.pairs(10)] == [(2, 3)]


# A handful of field examples: (kind, text) groups a moderator would merge, and beside
# them posts on the same theme that ask for something else.
GROUPS = [
    [
        (NEED, "Il centro diurno per anziani ha la lista d'attesa piena"),
        (PROPOSAL, "Più posti nei CDI del distretto"),
    ],
    [
        (NEED, "Mio figlio con DSA non ha nessun supporto a scuola"),
        (PROPOSAL, "Tutor per gli studenti con dislessia e discalculia"),
    ],
    [
        (PROPOSAL, "Uno sportello PUA in ogni comune dell'ambito"),
        (NEED, "Non si sa a chi rivolgersi: manca un punto unico di accesso"),
    ],
    [
        (NEED, "I minori stranieri non accompagnati escono dalla comunità a 18 anni senza niente"),
        (PROPOSAL, "Percorsi di autonomia per MSNA neomaggiorenni"),
    ],
    [
        (NEED, "Le donne che chiamano il CAV aspettano settimane"),
        (PROPOSAL, "Più operatrici al centro antiviolenza per rispondere subito"),
    ],
    [
        (PROPOSAL, "Contributi per i familiari che assistono un malato a casa"),
        (NEED, "I caregiver non ricevono nessun aiuto economico"),
    ],
]
APART = [
    (PROPOSAL, "Ridurre le rette del centro diurno"),
    (PROPOSAL, "Formazione degli insegnanti sui DSA"),
    (PROPOSAL, "Iscrizione al RUNTS: aiutare le piccole associazioni"),
    (RESOURCE, "Mettiamo a disposizione una stanza per lo sportello del CAV"),
]


def test_field_examples_best_suggestion_is_the_duplicate() -> None:
    items, group_of = [], {}
    for g, group in enumerate(GROUPS):
        for kind, text in group:
            items.append(Item(len(items), kind, text))
            group_of[len(items) - 1] = g
    for kind, text in APART:
        items.append(Item(len(items), kind, text))
        group_of[len(items) - 1] = -len(items)
    index = Index(items)
    hits = 0
    for item in items:
        best = index.best_for(item.id)
        if group_of[item.id] >= 0 and best is not None and group_of[best.b] == group_of[item.id]:
            hits += 1
    grouped = sum(len(g) for g in GROUPS)
    assert hits / grouped >= 0.75  # the release's target for recall@1
    # These examples are mostly hard negatives (the same service, another action: more
    # places vs lower fees at the centro diurno); half the best pairs are still right.
    top = index.pairs(len(GROUPS))
    assert sum(group_of[p.a] == group_of[p.b] for p in top) >= len(GROUPS) // 2


def test_incremental_add_scores_like_a_rebuild_and_lists_best_first() -> None:
    base = [
        Item(k, PROPOSAL, f"Proposta numero {k} sul tema {k % 7} del welfare") for k in range(40)
    ]
    index = Index(base)
    new = Item(99, NEED, "Assistenza domiciliare per gli anziani soli")
    index.add(Item(98, PROPOSAL, "Più ore di SAD per gli anziani che vivono soli"))
    index.add(new)
    assert index.best_for(99) is not None and index.best_for(99).b == 98  # type: ignore[union-attr]
    pairs = index.pairs(20)
    assert pairs == sorted(pairs, key=lambda p: -p.score)
    assert all(0.0 <= p.score <= 1.0 for p in pairs)
    index.remove(98)
    assert 98 not in index and all(98 not in (p.a, p.b) for p in index.pairs(100))


def test_pairs_leave_out_skipped_pairs_and_respect_the_limit() -> None:
    items = [Item(k, NEED, "Più posti al nido comunale") for k in range(5)]
    index = Index(items)
    assert len(index.pairs(3)) == 3
    assert (0, 1) not in {(p.a, p.b) for p in index.pairs(100, skip=[(1, 0)])}
    assert len(index.pairs(100, skip=[(1, 0)])) == 9


def test_a_moderator_line_extends_the_glossary() -> None:
    a = Item(1, NEED, "Il PIS risponde solo in orario d'ufficio")
    b = Item(2, PROPOSAL, "Pronto intervento sociale attivo anche di notte")
    plain = Index([a, b]).score(1, 2)
    extended = DEFAULT_GLOSSARY.extended("pis = pronto intervento sociale")
    assert Index([a, b], extended).score(1, 2) > plain


def test_many_edits_of_one_post_do_not_grow_the_index() -> None:
    index = Index([Item(k, PROPOSAL, f"Centro diurno numero {k}") for k in range(20)])
    for version in range(200):
        index.add(Item(5, PROPOSAL, f"Centro diurno riscritto {version}"))
    assert len(index) == 20
    assert index._scores.shape[0] < 40


def test_no_form_of_the_shipped_glossary_is_in_two_lines() -> None:
    """A form in two lines silently joins two concepts (SAD and ADI would meet)."""
    seen: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(similarity.GLOSSARY.splitlines()):
        for part in line.lstrip("* ").split("="):
            form = tuple(similarity.stem(w) for w in similarity.words(part))
            if form:
                assert seen.setdefault(form, number) == number, (part, line)
