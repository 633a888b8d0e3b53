"""The list of actions is type-checked: a misspelt input field, a service run with another
action's input model or a misspelt result field fails `mypy --strict`, as it would fail a
moderator's click at run time. (With lambdas typed `Callable[..., Committed]` all three
passed.) Each planted mistake is checked through mypy's `--shadow-file`, so the source
stays as it is."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
ACTIONS = ROOT / "app" / "actions.py"

PLANTED = {
    "a misspelt input field": (
        "moderation.reject(s, t, ids.proposal, note=i.note)",
        "moderation.reject(s, t, ids.proposal, note=i.notee)",
        '"NoteIn" has no attribute "notee"',
    ),
    "another action's input model": (
        '"reject",\n        _reject,\n        NoteIn,',
        '"reject",\n        _reject,\n        TextIn,',
        'incompatible type "Callable[[Session, Table, NoteIn, Ids], Committed]"',
    ),
    "a misspelt result field": (
        "MergeOut(id=r.merge_id, seq=r.seq)",
        "MergeOut(id=r.merge_idd, seq=r.seq)",
        '"Merged" has no attribute "merge_idd"',
    ),
}


@pytest.mark.parametrize("mistake", list(PLANTED))
def test_a_mistake_in_the_list_of_actions_fails_the_type_check(
    mistake: str, tmp_path: Path
) -> None:
    good, bad, error = PLANTED[mistake]
    source = ACTIONS.read_text()
    assert good in source, "the planted line is gone: plant the mistake in today's code"
    shadow = tmp_path / "actions.py"
    shadow.write_text(source.replace(good, bad))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--shadow-file", str(ACTIONS), str(shadow)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert error in done.stdout
