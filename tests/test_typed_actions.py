"""The list of actions is type-checked: a misspelt input field, a service run with another
action's input model or a misspelt result field fails `mypy --strict`, as it would fail a
moderator's click at run time. (With lambdas typed `Callable[..., Committed]` all three
passed.) Each planted mistake is checked through mypy's `--shadow-file`, so the source
stays as it is."""

import subprocess
import sys
from pathlib import Path

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


def test_each_mistake_in_the_list_of_actions_fails_the_type_check(tmp_path: Path) -> None:
    """The three mistakes planted in one copy and checked by one mypy run (each one apart
    cost a run of its own, up to 12 s cold): mypy reports every error of the file, so each one must
    be among them."""
    source = ACTIONS.read_text()
    for mistake, (good, bad, _error) in PLANTED.items():
        assert source.count(good) == 1, f"{mistake}: plant the mistake in today's code"
        source = source.replace(good, bad)
    shadow = tmp_path / "actions.py"
    shadow.write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--shadow-file", str(ACTIONS), str(shadow)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    missed = [mistake for mistake, (*_, error) in PLANTED.items() if error not in done.stdout]
    assert not missed, f"not caught: {missed}\n{done.stdout}"
