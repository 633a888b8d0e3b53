"""The one list of what a table's moderator (or facilitator) can do.

Each action names its input (one pydantic model, read from JSON by the API and from the
form by the console), the service it runs and where each door offers it: a method and path
under `/api/tables/{code}`, a POST path under the console's `/run/{token}/{code}`. Both
routers register every action from this list (`app/routers/registered.py`), so a check or
an input rule cannot exist on one door and not on the other: the checks themselves live in
the services. A few actions are offered by one door only: conveniences of the console's
buttons (step the phase, step the spotlight, one switch by name, the table's edit form,
whose API door `PATCH /api/tables/{code}` takes a nested voting object over the same
service) and the API's paper-participant creation, which answers with an id.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from app.enums import Kind, KindField, PhaseField, ScreenModeField, VotingModeField
from app.live.broadcaster import Committed
from app.models import Table
from app.reports import access as report_access
from app.services import moderation, phases, proposals, screen, state, tables, voting
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
    joining_open: bool | None = Field(default=None, description="New participants may join.")
    max_posts: int | None = Field(default=None, description="Posts per participant, 1 to 500.")


class SwitchIn(BaseModel):
    name: str
    value: bool = False


class ScreenIn(BaseModel):
    mode: ScreenModeField
    spotlight_id: int | None = None


class NoteIn(BaseModel):
    note: str = ""


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
    mode: VotingModeField | None = Field(
        default=None, description="Left out (a locked fieldset sends nothing): it stays."
    )
    dots: int = 5
    max_per_proposal: int = 3


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

Run = Callable[..., Committed]


@dataclass(frozen=True)
class Action:
    name: str
    run: Run  # (session, table, input, **path ids) -> what the service committed
    input: type[BaseModel] = NoInput
    api: tuple[str, str] | None = None  # (method, path under /api/tables/{code})
    console: str | None = None  # POST path under /run/{token}/{code}
    answer: Callable[[Any, Session], BaseModel] = _changed
    answer_model: type[BaseModel] = Changed
    status_code: int = 200
    summary: str = ""
    console_trigger: str = ""  # an event the console's page listens for after the answer
    console_done: str = ""  # a msgid the console shows in its flash region after success


def _paper_vote(s: Session, t: Table, i: VoteIn, participant_id: int, **ids: int) -> Committed:
    person = moderation.paper_participant(s, t, participant_id)
    proposal_id = ids.get("proposal_id", i.proposal_id)
    if proposal_id is None:
        raise Invalid("Choose a proposal", field="proposal_id")
    return voting.set_vote(s, participant=person, proposal_id=proposal_id, dots=i.dots)


def _paper_ballot(s: Session, t: Table, i: BallotIn, participant_id: int) -> Committed:
    person = moderation.paper_participant(s, t, participant_id)
    return voting.set_votes(s, participant=person, votes=i.votes())


def _edit_table(s: Session, t: Table, i: TableFormIn) -> Committed:
    rules = tables.VotingRules.checked(i.mode, i.dots, i.max_per_proposal) if i.mode else None
    return tables.update_table(s, t, title=i.title, question=i.question, voting=rules)


def _paper_post(s: Session, t: Table, i: ProposalIn, participant_id: int) -> Committed:
    person = moderation.paper_participant(s, t, participant_id)
    return proposals.post_proposal(s, participant=person, kind=i.kind, title=i.title, body=i.body)


ACTIONS: tuple[Action, ...] = (
    Action(
        "set_phase",
        lambda s, t, i: phases.set_phase(s, t, i.phase),
        PhaseIn,
        api=("PUT", "/phase"),
        console="/phase",
        summary="Move the table to a phase (forward, or back a step).",
    ),
    Action(
        "step_phase",
        lambda s, t, i: phases.step_phase(s, t, i.step),
        StepIn,
        console="/phase/step",
    ),
    Action(
        "start_timer",
        lambda s, t, i: phases.start_timer(s, t, seconds=i.length(), advance=i.advance),
        TimerIn,
        api=("PUT", "/timer"),
        console="/timer/start",
        summary="Start a countdown; with `advance`, the phase moves on at zero.",
    ),
    Action(
        "extend_timer",
        lambda s, t, i: phases.extend_timer(s, t, seconds=i.seconds),
        ExtendIn,
        api=("POST", "/timer/extend"),
        console="/timer/extend",
    ),
    Action(
        "stop_timer",
        lambda s, t, i: phases.stop_timer(s, t),
        api=("DELETE", "/timer"),
        console="/timer/stop",
    ),
    Action(
        "update_settings",
        lambda s, t, i: screen.update_settings(s, t, **i.model_dump()),
        SettingsIn,
        api=("PATCH", "/settings"),
        summary="The table's switches, and the cap on posts per participant.",
    ),
    Action(
        "switch",
        lambda s, t, i: screen.update_setting(s, t, i.name, i.value),
        SwitchIn,
        console="/settings",
    ),
    Action(
        "set_screen",
        lambda s, t, i: screen.set_mode(s, t, i.mode, spotlight_id=i.spotlight_id),
        ScreenIn,
        api=("PUT", "/screen"),
        console="/screen",
        summary="What the projector shows.",
    ),
    Action(
        "step_spotlight",
        lambda s, t, i: screen.step_spotlight(s, t, i.step),
        StepIn,
        console="/screen/spotlight",
    ),
    Action(
        "spotlight",
        lambda s, t, i, proposal_id: screen.set_mode(s, t, "spotlight", spotlight_id=proposal_id),
        console="/proposals/{proposal_id}/spotlight",
    ),
    Action(
        "accept",
        lambda s, t, i, proposal_id: moderation.accept(s, t, proposal_id),
        api=("POST", "/proposals/{proposal_id}/accept"),
        console="/proposals/{proposal_id}/accept",
    ),
    Action(
        "reject",
        lambda s, t, i, proposal_id: moderation.reject(s, t, proposal_id, note=i.note),
        NoteIn,
        api=("POST", "/proposals/{proposal_id}/reject"),
        console="/proposals/{proposal_id}/reject",
    ),
    Action(
        "rephrase",
        lambda s, t, i, proposal_id: moderation.ask_rephrase(s, t, proposal_id, note=i.note),
        NoteIn,
        api=("POST", "/proposals/{proposal_id}/rephrase"),
        console="/proposals/{proposal_id}/rephrase",
    ),
    Action(
        "hide",
        lambda s, t, i, proposal_id: moderation.hide(s, t, proposal_id),
        api=("POST", "/proposals/{proposal_id}/hide"),
        console="/proposals/{proposal_id}/hide",
    ),
    Action(
        "restore",
        lambda s, t, i, proposal_id: moderation.restore(s, t, proposal_id),
        api=("POST", "/proposals/{proposal_id}/restore"),
        console="/proposals/{proposal_id}/restore",
    ),
    Action(
        "edit_text",
        lambda s, t, i, proposal_id: moderation.edit(s, t, proposal_id, title=i.title, body=i.body),
        TextIn,
        api=("PUT", "/proposals/{proposal_id}/text"),
        console="/proposals/{proposal_id}/text",
        summary="Edit a post's wording; the author's original is kept.",
    ),
    Action(
        "merge",
        lambda s, t, i: moderation.merge(
            s, t, survivor_id=i.survivor_id, merged_ids=i.proposal_ids
        ),
        MergeIn,
        api=("POST", "/merges"),
        console="/merges",
        answer=lambda r, s: MergeOut(id=r.merge_id, seq=r.seq),
        answer_model=MergeOut,
        status_code=201,
        console_trigger="tavoli:merged",
        summary="Fold duplicates into one proposal; votes move without double counting.",
    ),
    Action(
        "undo_merge",
        lambda s, t, i, merge_id: moderation.undo_merge(s, t, merge_id),
        api=("DELETE", "/merges/{merge_id}"),
        console="/merges/{merge_id}/undo",
    ),
    Action(
        "create_tag",
        lambda s, t, i: moderation.create_tag(s, t, i.name),
        TagIn,
        api=("POST", "/tags"),
        console="/tags",
        answer=lambda r, s: TagOut(id=r.tag_id, name=r.name),
        answer_model=TagOut,
        status_code=201,
    ),
    Action(
        "delete_tag",
        lambda s, t, i, tag_id: moderation.delete_tag(s, t, tag_id),
        api=("DELETE", "/tags/{tag_id}"),
        console="/tags/{tag_id}/delete",
    ),
    Action(
        "tag_proposals",
        lambda s, t, i, tag_id: moderation.set_tag(
            s, t, tag_id=tag_id, proposal_ids=i.proposal_ids, on=i.on
        ),
        TagProposalsIn,
        api=("POST", "/tags/{tag_id}/proposals"),
    ),
    Action(
        "remove_participant",
        lambda s, t, i, participant_id: moderation.remove_participant(
            s, t, participant_id, keep_ids=i.keep_ids
        ),
        RemoveIn,
        api=("DELETE", "/participants/{participant_id}"),
        console="/participants/{participant_id}/remove",
        console_trigger="tavoli:removed",
        summary="Remove someone who abuses the table: posts hidden (but those in `keep_ids`), "
        "votes withdrawn.",
    ),
    Action(
        "add_paper_participant",
        lambda s, t, i: moderation.add_paper_participant(
            s,
            t,
            name=i.name,
            category=i.category,
            organisation=i.organisation,
            named_in_minutes=i.named_in_minutes,
        ),
        PaperParticipantIn,
        api=("POST", "/paper-participants"),
        console="/paper",
        answer=lambda r, s: PaperParticipantOut(id=r.participant.id or 0, name=r.participant.name),
        answer_model=PaperParticipantOut,
        status_code=201,
    ),
    Action(
        "post_for",
        _paper_post,
        ProposalIn,
        api=("POST", "/paper-participants/{participant_id}/proposals"),
        console="/paper/{participant_id}/proposals",
        answer=lambda r, s: PostedOut(id=r.proposal.id or 0, seq=r.seq),
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
        "save_synthesis",
        lambda s, t, i: report_access.save_synthesis(
            s, t, facilitator=i.facilitator_name, synthesis=i.synthesis
        ),
        SynthesisIn,
        api=("PUT", "/synthesis"),
        console="/synthesis",
        console_done=N_("Synthesis saved at %(time)s."),
        summary="The facilitator's name and written synthesis, for the minutes.",
    ),
    Action(
        "set_joining",
        lambda s, t, i: screen.update_settings(s, t, joining_open=i.open),
        JoiningIn,
        api=("PUT", "/joining"),
        summary="Close joining once the room is in (`open: false`), or reopen it.",
    ),
    Action(
        "accept_all",
        lambda s, t, i: moderation.accept_all(s, t),
        api=("POST", "/queue/accept"),
        console="/queue/accept",
        summary="Put every post waiting for approval on the wall.",
    ),
    Action(
        "set_kind",
        lambda s, t, i, proposal_id: moderation.set_kind(s, t, proposal_id, i.kind),
        KindIn,
        api=("PUT", "/proposals/{proposal_id}/kind"),
        console="/proposals/{proposal_id}/kind",
        summary="Say whether a post is a need, a proposal or a resource.",
    ),
    Action(
        "edit_table",
        _edit_table,
        TableFormIn,
        console="/table",  # the API's door is PATCH /api/tables/{code}, over the same service
        console_done=N_("Table saved."),
    ),
)
