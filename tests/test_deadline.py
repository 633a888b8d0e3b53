"""The worker's send watchdog: a send that waits past the timeout is cut, the others never."""

import asyncio
import time

import pytest

from app.live import deadline
from app.live.deadline import SendWatch


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "PERIOD", 0.05)


def test_a_send_that_waits_too_long_is_cut_and_a_quick_one_never() -> None:
    async def scenario() -> tuple[float, int]:
        watch = SendWatch(timeout=0.3)
        quick_sends = 0

        async def quick() -> None:
            nonlocal quick_sends
            async with watch.guard() as watched:
                for _ in range(40):  # 40 sends of 20 ms: 0.8 s in all, none over the timeout
                    watched.send_started()
                    await asyncio.sleep(0.02)
                    watched.send_done()
                    quick_sends += 1

        async def stalled() -> float:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                async with watch.guard() as watched:
                    watched.send_started()
                    await asyncio.Event().wait()  # a client that never reads
            return time.monotonic() - started

        waited, _ = await asyncio.gather(stalled(), quick())
        watch.close()
        return waited, quick_sends

    waited, quick_sends = asyncio.run(scenario())
    assert 0.3 <= waited < 1.0
    assert quick_sends == 40


def test_waiting_for_the_next_push_is_not_a_send() -> None:
    async def scenario() -> bool:
        watch = SendWatch(timeout=0.1)
        async with watch.guard() as watched:
            watched.send_started()
            watched.send_done()
            await asyncio.sleep(0.4)  # a quiet table: no push for a while
        watch.close()
        return True

    assert asyncio.run(scenario())


def test_a_send_cut_in_the_turn_it_finished_is_not_cut() -> None:
    """The watchdog found the send late and scheduled its cut; the send finished before the
    cut landed: the connection goes on waiting for the next push."""

    async def scenario() -> bool:
        watch = SendWatch(timeout=0.1)
        async with watch.guard() as watched:
            watched.send_started()
            late = asyncio.get_running_loop().time()
            watched._deadline.reschedule(late)  # what the watchdog does to a late send
            watched.send_done()  # ...in the same turn as the send ends
            await asyncio.sleep(0.05)  # the next wait: no TimeoutError
        watch.close()
        return True

    assert asyncio.run(scenario())
