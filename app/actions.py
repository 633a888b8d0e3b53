"""The one list of what a table's moderator (or facilitator) can do.

Each action names its input (one pydantic model, read from JSON by the API and from the
form by the console), the service it runs and where each door offers it: a method and path
under `/api/tables/{code}`, a POST path under the console's `/run/{token}/{code}`. Both
routers register every action from this list (`app/routers/registered.py`), so a check or
an input rule cannot exist on one door and not on the other: the checks themselves live in
the services. A few actions are offered by one door only: conveniences of the console's
buttons (step the phase, step the spotlight, one switch by name, the table's edit form,
whose API door `PATCH /api/tables/{code}` takes a nested voting object over the same
service), the links of needs, proposals and resources (their API doors are under
`/api/proposals/{id}`, open to a participant's token for their own posts too) and the API's
paper-participant creation, which answers with an id.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlmodel import Session

from app.enums import (
    Kind,
    KindField,
    PhaseField,
    RankingField,
    ScreenModeField,
    TableFormatField,
    VotingModeField,
    WeightingField,
)
from app.live.broadcaster import Committed
from app.models import Table
from app.services import (
    dissent,
    duplicates,
    links,
    moderation,
    phases,
    proposals,
    questions,
    screen,
    state,
    synthesis,
    tables,
    voting,
)
from app.services.errors import Invalid
from app.templating import N_

# --- inputs ---------------------------------------------------------------------------------


class NoInput(BaseModel):
    pass


class PhaseIn(BaseModel):
    phase: PhaseField


class StepIn(BaseModel):
    step: int = Field(ge=-1, le=1, description="1: forward, -1: back.")


class TimerIn(BaseModel):
    seconds: int | None = Field(default=None, description="Length of the countdown, 1 s to 4 h.")
    minutes: float | None = Field(default=None, description="Or the length in minutes.")
    advance: bool = Field(default=False, description="Move to the next phase at zero.")

    def length(self) -> int:
        if self.seconds is not None:
            return self.seconds
        if self.minutes is not None and 0 < self.minutes <= phases.MAX_TIMER_SECONDS / 60:
            return max(1, round(self.minutes * 60))
        return 0  # refused by the service, with its message


class ExtendIn(BaseModel):
    seconds: int


class SettingsIn(BaseModel):
    premoderation: bool | None = None
    post_in_discussion: bool | None = None
    results_hidden: bool | None = None
    group_by_tag: bool | None = None
    group_by_need: bool | None = Field(
        default=None, description="Each need with the proposals that answer it (not with tags)."
    )
    joining_open: bool | None = Field(default=None, description="New participants may join.")
    max_posts: int | None = Field(default=None, description="Posts per participant, 1 to 500.")


class SwitchIn(BaseModel):
    name: str
    value: bool = False


class ScreenIn(BaseModel):
    mode: ScreenModeField
    spotlight_id: int | None = None


class WallPaceIn(BaseModel):
    seconds: int = Field(description="Seconds each page of the wall stays; 0 pauses the turning.")


class NoteIn(BaseModel):
    note: str = ""


class AnsweredIn(BaseModel):
    answered: bool = Field(description="True: answered (its support is frozen); false: open again.")
    note: str = Field(default="", description="The moderator's short note, for the minutes.")


class TextIn(BaseModel):
    title: str = ""
    body: str = ""


class MergeIn(BaseModel):
    survivor_id: int = Field(description="The proposal whose wording survives.")
    proposal_ids: list[int] = Field(description="The duplicates folded into it.")


class TagIn(BaseModel):
    name: str


class TagProposalsIn(BaseModel):
    proposal_ids: list[int]
    on: bool = True


class AnswersIn(BaseModel):
    needs: list[int] = Field(
        default_factory=list, description="The needs the proposal answers (replaces them)."
    )


class PledgeFormIn(BaseModel):
    resource: int
    proposal: int
    offer: str = ""
    organisation: str = ""


class UnpledgeFormIn(BaseModel):
    resource: int
    proposal: int


class PaperParticipantIn(BaseModel):
    name: str
    organisation: str = ""
    category: str = ""
    named_in_minutes: bool = Field(
        default=False, description="They agree to have name and organisation in the minutes."
    )


class KindIn(BaseModel):
    kind: KindField


class RemoveIn(BaseModel):
    keep_ids: list[int] = Field(
        default_factory=list,
        description="Their posts on the wall to keep there (others support them).",
    )


class ProposalIn(BaseModel):
    kind: KindField = Kind.PROPOSAL
    title: str = ""
    body: str = ""


class VoteIn(BaseModel):
    dots: int
    proposal_id: int | None = Field(
        default=None, description="Given by the path in the API, by the form in the console."
    )


class BallotIn(BaseModel):
    """A paper ballot: the proposals listed and, in the same order, the dots on each (0 or
    1 in approval mode). The console's form sends both lists, one pair per row."""

    proposal_ids: list[int] = Field(max_length=500)
    dots: list[int] = Field(max_length=500)

    def votes(self) -> dict[int, int]:
        if len(self.proposal_ids) != len(self.dots):
            raise Invalid("Give one number for each proposal", field="dots")
        return dict(zip(self.proposal_ids, self.dots, strict=True))


class JoiningIn(BaseModel):
    open: bool = Field(description="False closes joining; true reopens it.")


class TableFormIn(BaseModel):
    """The console's form: flat fields, as the organiser's page sends them (the API's
    `PATCH /api/tables/{code}` takes the voting method as one nested object)."""

    title: str | None = None
    question: str | None = None
    format: TableFormatField | None = Field(
        default=None, description="Only until the table opens (409 after)."
    )
    mode: VotingModeField | None = Field(
        default=None, description="Left out (a locked fieldset sends nothing): it stays."
    )
    dots: int = 5
    max_per_proposal: int = 3
    weighting: WeightingField | None = Field(
        default=None, description="The fair counting rule; left out (a locked fieldset): it stays."
    )


class RankingIn(BaseModel):
    ranking: RankingField = Field(
        description="What the results view shows and the minutes adopt: tally (by votes), "
        "bridging (by consensus across categories) or weighted (by the counting rule)."
    )


class PairIn(BaseModel):
    a: int = Field(description="A post on the wall.")
    b: int = Field(description="Another post on the wall.")


class SynthesisIn(BaseModel):
    facilitator_name: str = ""
    synthesis: str = ""


# --- answers of the API ----------------------------------------------------------------------


class Changed(BaseModel):
    seq: int = Field(description="The table's sequence number after the change.")


class MergeOut(BaseModel):
    id: int
    seq: int


class TagOut(BaseModel):
    id: int
    name: str


class PostedOut(BaseModel):
    """A post typed in for a paper participant: its id, as a phone's own post answers."""

    id: int
    seq: int


class PaperParticipantOut(BaseModel):
    id: int
    name: str


def _changed(result: Committed, session: Session) -> BaseModel:
    seq = result.seq if result.seq is not None else state.current_seq(session, result.table_id)
    return Changed(seq=seq)


# --- the list ----------------------------------------------------------------------------------

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=Committed)


@dataclass(frozen=True)
class Ids:
    """The ids an action's path names (`{proposal_id}`…), each read by its own name, so a
    misspelt one fails the type check; one its path does not name is a KeyError (every
    action runs through both doors in the tests)."""

    given: Mapping[str, int] = field(default_factory=dict)

    @property
    def proposal(self) -> int:
        return self.given["proposal_id"]

    @property
    def merge(self) -> int:
        return self.given["merge_id"]

    @property
    def tag(self) -> int:
        return self.given["tag_id"]

    @property
    def participant(self) -> int:
        return self.given["participant_id"]

    @property
    def dissent(self) -> int:
        return self.given["dissent_id"]


@dataclass(frozen=True)
class Action(Generic[In, Out]):
    """One action, typed by its input model and its service's result: `run` reads `In`'s
    fields as they are declared (a misspelt field fails mypy --strict), and `answer` reads
    `Out`'s."""

    name: str
    run: Callable[[Session, Table, In, Ids], Out]
    input: type[In]
    api: tuple[str, str] | None = None  # (method, path under /api/tables/{code})
    console: str | None = None  # POST path under /run/{token}/{code}
    answer: Callable[[Out, Session], BaseModel] | None = None  # JSON; None: `Changed`
    answer_model: type[BaseModel] = Changed
    status_code: int = 200
    summary: str = ""
    console_trigger: str = ""  # an event the console's page listens for after the answer
    console_done: str = ""  # a msgid the console shows in its flash region after success

    def answered(self, result: Out, session: Session) -> BaseModel:
        return (
            self.answer(result, session) if self.answer is not None else _changed(result, session)
        )


def _set_phase(s: Session, t: Table, i: PhaseIn, ids: Ids) -> Committed:
    return phases.set_phase(s, t, i.phase)


def _step_phase(s: Session, t: Table, i: StepIn, ids: Ids) -> Committed:
    return phases.step_phase(s, t, i.step)


def _start_timer(s: Session, t: Table, i: TimerIn, ids: Ids) -> Committed:
    return phases.start_timer(s, t, seconds=i.length(), advance=i.advance)


def _extend_timer(s: Session, t: Table, i: ExtendIn, ids: Ids) -> Committed:
    return phases.extend_timer(s, t, seconds=i.seconds)


def _stop_timer(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return phases.stop_timer(s, t)


def _update_settings(s: Session, t: Table, i: SettingsIn, ids: Ids) -> Committed:
    return screen.update_settings(
        s,
        t,
        premoderation=i.premoderation,
        post_in_discussion=i.post_in_discussion,
        results_hidden=i.results_hidden,
        group_by_tag=i.group_by_tag,
        group_by_need=i.group_by_need,
        joining_open=i.joining_open,
        max_posts=i.max_posts,
    )


def _switch(s: Session, t: Table, i: SwitchIn, ids: Ids) -> Committed:
    return screen.update_setting(s, t, i.name, i.value)


def _set_screen(s: Session, t: Table, i: ScreenIn, ids: Ids) -> Committed:
    return screen.set_mode(s, t, i.mode, spotlight_id=i.spotlight_id)


def _step_spotlight(s: Session, t: Table, i: StepIn, ids: Ids) -> Committed:
    return screen.step_spotlight(s, t, i.step)


def _spotlight(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return screen.set_mode(s, t, "spotlight", spotlight_id=ids.proposal)


def _wall_pace(s: Session, t: Table, i: WallPaceIn, ids: Ids) -> Committed:
    return screen.set_wall_pace(s, t, i.seconds)


def _turn_wall(s: Session, t: Table, i: StepIn, ids: Ids) -> Committed:
    return screen.turn_wall(s, t, i.step)


def _accept(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return moderation.accept(s, t, ids.proposal)


def _reject(s: Session, t: Table, i: NoteIn, ids: Ids) -> Committed:
    return moderation.reject(s, t, ids.proposal, note=i.note)


def _rephrase(s: Session, t: Table, i: NoteIn, ids: Ids) -> Committed:
    return moderation.ask_rephrase(s, t, ids.proposal, note=i.note)


def _hide(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return moderation.hide(s, t, ids.proposal)


def _restore(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return moderation.restore(s, t, ids.proposal)


def _edit_text(s: Session, t: Table, i: TextIn, ids: Ids) -> Committed:
    return moderation.edit(s, t, ids.proposal, title=i.title, body=i.body)


def _merge(s: Session, t: Table, i: MergeIn, ids: Ids) -> moderation.Merged:
    return moderation.merge(s, t, survivor_id=i.survivor_id, merged_ids=i.proposal_ids)


def _merge_answer(r: moderation.Merged, s: Session) -> MergeOut:
    return MergeOut(id=r.merge_id, seq=r.seq)


def _answered(s: Session, t: Table, i: AnsweredIn, ids: Ids) -> Committed:
    return questions.set_answered(s, t, ids.proposal, answered=i.answered, note=i.note)


def _undo_merge(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return moderation.undo_merge(s, t, ids.merge)


def _create_tag(s: Session, t: Table, i: TagIn, ids: Ids) -> moderation.TagCreated:
    return moderation.create_tag(s, t, i.name)


def _tag_answer(r: moderation.TagCreated, s: Session) -> TagOut:
    return TagOut(id=r.tag_id, name=r.name)


def _delete_tag(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return moderation.delete_tag(s, t, ids.tag)


def _tag_proposals(s: Session, t: Table, i: TagProposalsIn, ids: Ids) -> Committed:
    return moderation.set_tag(s, t, tag_id=ids.tag, proposal_ids=i.proposal_ids, on=i.on)


def _remove_participant(s: Session, t: Table, i: RemoveIn, ids: Ids) -> Committed:
    return moderation.remove_participant(s, t, ids.participant, keep_ids=i.keep_ids)


def _add_paper_participant(
    s: Session, t: Table, i: PaperParticipantIn, ids: Ids
) -> moderation.PaperAdded:
    return moderation.add_paper_participant(
        s,
        t,
        name=i.name,
        category=i.category,
        organisation=i.organisation,
        named_in_minutes=i.named_in_minutes,
    )


def _paper_participant_answer(r: moderation.PaperAdded, s: Session) -> PaperParticipantOut:
    return PaperParticipantOut(id=r.participant.id or 0, name=r.participant.name)


def _paper_post(s: Session, t: Table, i: ProposalIn, ids: Ids) -> proposals.Posted:
    person = moderation.paper_participant(s, t, ids.participant)
    return proposals.post_proposal(s, participant=person, kind=i.kind, title=i.title, body=i.body)


def _posted_answer(r: proposals.Posted, s: Session) -> PostedOut:
    return PostedOut(id=r.proposal.id or 0, seq=r.seq)


def _paper_vote(s: Session, t: Table, i: VoteIn, ids: Ids) -> Committed:
    person = moderation.paper_participant(s, t, ids.participant)
    proposal_id = ids.given.get("proposal_id", i.proposal_id)  # the API's path, or the form
    if proposal_id is None:
        raise Invalid("Choose a proposal", field="proposal_id")
    return voting.set_vote(s, participant=person, proposal_id=proposal_id, dots=i.dots)


def _paper_ballot(s: Session, t: Table, i: BallotIn, ids: Ids) -> Committed:
    person = moderation.paper_participant(s, t, ids.participant)
    return voting.set_votes(s, participant=person, votes=i.votes())


def _accept_reason(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return dissent.accept_reason(s, t, ids.dissent)


def _reject_reason(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return dissent.reject_reason(s, t, ids.dissent)


def _dismiss_pair(s: Session, t: Table, i: PairIn, ids: Ids) -> Committed:
    return duplicates.dismiss(s, t, i.a, i.b)


def _save_synthesis(s: Session, t: Table, i: SynthesisIn, ids: Ids) -> Committed:
    return synthesis.save_synthesis(s, t, facilitator=i.facilitator_name, synthesis=i.synthesis)


def _set_joining(s: Session, t: Table, i: JoiningIn, ids: Ids) -> Committed:
    return screen.update_settings(s, t, joining_open=i.open)


def _accept_all(s: Session, t: Table, i: NoInput, ids: Ids) -> Committed:
    return moderation.accept_all(s, t)


def _set_kind(s: Session, t: Table, i: KindIn, ids: Ids) -> Committed:
    return moderation.set_kind(s, t, ids.proposal, i.kind)


def _answer_needs(s: Session, t: Table, i: AnswersIn, ids: Ids) -> Committed:
    return links.set_answers(s, t, proposal_id=ids.proposal, need_ids=i.needs, by=None)


def _pledge(s: Session, t: Table, i: PledgeFormIn, ids: Ids) -> Committed:
    return links.pledge(
        s,
        t,
        proposal_id=i.proposal,
        resource_id=i.resource,
        offer=i.offer,
        organisation=i.organisation,
        by=None,
    )


def _unpledge(s: Session, t: Table, i: UnpledgeFormIn, ids: Ids) -> Committed:
    return links.unpledge(s, t, proposal_id=i.proposal, resource_id=i.resource, by=None)


def _edit_table(s: Session, t: Table, i: TableFormIn, ids: Ids) -> Committed:
    rules = tables.VotingRules.checked(i.mode, i.dots, i.max_per_proposal) if i.mode else None
    return tables.update_table(
        s,
        t,
        title=i.title,
        question=i.question,
        voting=rules,
        weighting=i.weighting,
        format=i.format,
    )


def _set_ranking(s: Session, t: Table, i: RankingIn, ids: Ids) -> Committed:
    return screen.set_ranking(s, t, i.ranking)


# Built without a declared type, so mypy infers each action's `In` and `Out` from its own
# function and model (under `tuple[Action[Any, Any], ...]` it would take them as Any and pass
# a function written for another input model).
_LISTED = (
    Action(
        "set_phase",
        _set_phase,
        PhaseIn,
        api=("PUT", "/phase"),
        console="/phase",
        summary="Move the table to a phase (forward, or back a step).",
    ),
    Action("step_phase", _step_phase, StepIn, console="/phase/step"),
    Action(
        "start_timer",
        _start_timer,
        TimerIn,
        api=("PUT", "/timer"),
        console="/timer/start",
        summary="Start a countdown; with `advance`, the phase moves on at zero.",
    ),
    Action(
        "extend_timer",
        _extend_timer,
        ExtendIn,
        api=("POST", "/timer/extend"),
        console="/timer/extend",
    ),
    Action("stop_timer", _stop_timer, NoInput, api=("DELETE", "/timer"), console="/timer/stop"),
    Action(
        "update_settings",
        _update_settings,
        SettingsIn,
        api=("PATCH", "/settings"),
        summary="The table's switches, and the cap on posts per participant.",
    ),
    Action("switch", _switch, SwitchIn, console="/settings"),
    Action(
        "set_screen",
        _set_screen,
        ScreenIn,
        api=("PUT", "/screen"),
        console="/screen",
        summary="What the projector shows.",
    ),
    Action(
        "set_ranking",
        _set_ranking,
        RankingIn,
        api=("PUT", "/ranking"),
        console="/ranking",
        console_done=N_("Ranking chosen: the results view shows it, the minutes adopt it."),
        summary="Choose the ranking the results view shows and the minutes adopt (while "
        "voting or once closed); logged in the table's timeline.",
    ),
    Action("step_spotlight", _step_spotlight, StepIn, console="/screen/spotlight"),
    Action(
        "wall_pace",
        _wall_pace,
        WallPaceIn,
        api=("PUT", "/wall/pace"),
        console="/wall/pace",
        summary="How long each page of the projector's wall stays (0: paused).",
    ),
    Action(
        "turn_wall",
        _turn_wall,
        StepIn,
        api=("POST", "/wall/turn"),
        console="/wall/turn",
        summary="Turn the projector's wall one page forward (1) or back (-1).",
    ),
    Action("spotlight", _spotlight, NoInput, console="/proposals/{proposal_id}/spotlight"),
    Action(
        "accept",
        _accept,
        NoInput,
        api=("POST", "/proposals/{proposal_id}/accept"),
        console="/proposals/{proposal_id}/accept",
    ),
    Action(
        "reject",
        _reject,
        NoteIn,
        api=("POST", "/proposals/{proposal_id}/reject"),
        console="/proposals/{proposal_id}/reject",
    ),
    Action(
        "rephrase",
        _rephrase,
        NoteIn,
        api=("POST", "/proposals/{proposal_id}/rephrase"),
        console="/proposals/{proposal_id}/rephrase",
    ),
    Action(
        "accept_reason",
        _accept_reason,
        NoInput,
        api=("POST", "/dissent/{dissent_id}/accept"),
        console="/dissent/{dissent_id}/accept",
        summary="Let a dissent's reason into the console's list and the minutes.",
    ),
    Action(
        "reject_reason",
        _reject_reason,
        NoInput,
        api=("POST", "/dissent/{dissent_id}/reject"),
        console="/dissent/{dissent_id}/reject",
        summary="Keep a dissent's reason out of the minutes; the dissent still counts.",
    ),
    Action(
        "hide",
        _hide,
        NoInput,
        api=("POST", "/proposals/{proposal_id}/hide"),
        console="/proposals/{proposal_id}/hide",
    ),
    Action(
        "restore",
        _restore,
        NoInput,
        api=("POST", "/proposals/{proposal_id}/restore"),
        console="/proposals/{proposal_id}/restore",
    ),
    Action(
        "edit_text",
        _edit_text,
        TextIn,
        api=("PUT", "/proposals/{proposal_id}/text"),
        console="/proposals/{proposal_id}/text",
        summary="Edit a post's wording; the author's original is kept.",
    ),
    Action(
        "merge",
        _merge,
        MergeIn,
        api=("POST", "/merges"),
        console="/merges",
        answer=_merge_answer,
        answer_model=MergeOut,
        status_code=201,
        console_trigger="tavoli:merged",
        summary="Fold duplicates into one proposal; votes move without double counting.",
    ),
    Action(
        "answered",
        _answered,
        AnsweredIn,
        api=("PUT", "/proposals/{proposal_id}/answered"),
        console="/proposals/{proposal_id}/answered",
        summary="Questions and answers: mark a question answered, with a short note for the "
        "minutes (its support is frozen), or open again.",
    ),
    Action(
        "undo_merge",
        _undo_merge,
        NoInput,
        api=("DELETE", "/merges/{merge_id}"),
        console="/merges/{merge_id}/undo",
    ),
    Action(
        "create_tag",
        _create_tag,
        TagIn,
        api=("POST", "/tags"),
        console="/tags",
        answer=_tag_answer,
        answer_model=TagOut,
        status_code=201,
    ),
    Action(
        "delete_tag",
        _delete_tag,
        NoInput,
        api=("DELETE", "/tags/{tag_id}"),
        console="/tags/{tag_id}/delete",
    ),
    Action(
        "tag_proposals",
        _tag_proposals,
        TagProposalsIn,
        api=("POST", "/tags/{tag_id}/proposals"),
    ),
    Action(
        "remove_participant",
        _remove_participant,
        RemoveIn,
        api=("DELETE", "/participants/{participant_id}"),
        console="/participants/{participant_id}/remove",
        console_trigger="tavoli:removed",
        summary="Remove someone who abuses the table: posts hidden (but those in `keep_ids`), "
        "votes withdrawn.",
    ),
    Action(
        "add_paper_participant",
        _add_paper_participant,
        PaperParticipantIn,
        api=("POST", "/paper-participants"),
        console="/paper",
        answer=_paper_participant_answer,
        answer_model=PaperParticipantOut,
        status_code=201,
    ),
    Action(
        "post_for",
        _paper_post,
        ProposalIn,
        api=("POST", "/paper-participants/{participant_id}/proposals"),
        console="/paper/{participant_id}/proposals",
        answer=_posted_answer,
        answer_model=PostedOut,
        status_code=201,
        console_done=N_("Post recorded for them."),
    ),
    Action(
        "vote_for",
        _paper_vote,
        VoteIn,
        api=("PUT", "/paper-participants/{participant_id}/votes/{proposal_id}"),
        console="/paper/{participant_id}/votes",
        console_done=N_("Vote recorded: it is listed under their name."),
    ),
    Action(
        "ballot_for",
        _paper_ballot,
        BallotIn,
        api=("PUT", "/paper-participants/{participant_id}/votes"),
        console="/paper/{participant_id}/ballot",
        console_done=N_("Votes recorded: they are listed under their name."),
        summary="Type in a paper ballot: several votes of one person, all or none.",
    ),
    Action(
        "dismiss_duplicates",
        _dismiss_pair,
        PairIn,
        api=("POST", "/duplicates/dismiss"),
        console="/duplicates/dismiss",
        summary="Two posts suggested as duplicates are not: never suggest them again.",
    ),
    Action(
        "save_synthesis",
        _save_synthesis,
        SynthesisIn,
        api=("PUT", "/synthesis"),
        console="/synthesis",
        console_done=N_("Synthesis saved at %(time)s."),
        summary="The facilitator's name and written synthesis, for the minutes.",
    ),
    Action(
        "set_joining",
        _set_joining,
        JoiningIn,
        api=("PUT", "/joining"),
        summary="Close joining once the room is in (`open: false`), or reopen it.",
    ),
    Action(
        "accept_all",
        _accept_all,
        NoInput,
        api=("POST", "/queue/accept"),
        console="/queue/accept",
        summary="Put every post waiting for approval on the wall.",
    ),
    Action(
        "set_kind",
        _set_kind,
        KindIn,
        api=("PUT", "/proposals/{proposal_id}/kind"),
        console="/proposals/{proposal_id}/kind",
        summary="Say whether a post is a need, a proposal or a resource.",
    ),
    # Links: the API's doors are PUT/DELETE /api/proposals/{id}/answers and …/pledges
    # (app/routers/api.py), which a participant's token opens too, over the same services.
    Action(
        "answer_needs",
        _answer_needs,
        AnswersIn,
        console="/proposals/{proposal_id}/answers",
        console_done=N_("Links to needs saved."),
        console_trigger="tavoli:linked",
    ),
    Action(
        "pledge",
        _pledge,
        PledgeFormIn,
        console="/pledges",
        console_done=N_("Pledge saved."),
        console_trigger="tavoli:linked",
    ),
    Action(
        "unpledge",
        _unpledge,
        UnpledgeFormIn,
        console="/pledges/delete",
        console_done=N_("Pledge withdrawn."),
        console_trigger="tavoli:linked",
    ),
    Action(
        "edit_table",
        _edit_table,
        TableFormIn,
        console="/table",  # the API's door is PATCH /api/tables/{code}, over the same service
        console_done=N_("Table saved."),
    ),
)
ACTIONS: tuple[Action[Any, Any], ...] = _LISTED
