"""The channel layer's receive on this process's channels (invoker_web/channel_layer.py), on the
real Redis: one reader per event loop hands each message to every waiting receive, so a frame to
many sockets costs no task per socket, and nothing is lost or reordered on the way."""

import asyncio
import uuid

from invoker_web.channel_layer import PooledRedisChannelLayer
from tests.loops import run_loop

SOCKETS = 100


def layer(redis_url: str) -> PooledRedisChannelLayer:
    # A prefix of the test's own: nothing another test left in the Redis database is read.
    return PooledRedisChannelLayer(hosts=[{"address": redis_url}], prefix=f"test-{uuid.uuid4().hex[:8]}")


async def group_of(channels_layer: PooledRedisChannelLayer, count: int) -> tuple[str, list[str]]:
    group = f"g{uuid.uuid4().hex[:8]}"
    channels = [await channels_layer.new_channel() for _ in range(count)]
    for channel in channels:
        await channels_layer.group_add(group, channel)
    return group, channels


def test_a_group_message_reaches_every_waiting_receive_with_one_task_for_all(redis_url: str) -> None:
    async def scenario() -> tuple[int, list[dict]]:
        channels_layer = layer(redis_url)
        group, channels = await group_of(channels_layer, SOCKETS)
        waiting = [asyncio.ensure_future(channels_layer.receive(c)) for c in channels]
        await asyncio.sleep(0.2)  # every receive waits, and the reader reads
        tasks = len(asyncio.all_tasks())
        await channels_layer.group_send(group, {"type": "m", "n": 1})
        received = await asyncio.wait_for(asyncio.gather(*waiting), 10)
        await channels_layer.flush()
        await channels_layer.close_pools()
        return tasks, received

    tasks, received = run_loop(scenario())
    # This coroutine, one task per receive and one reader: channels_redis' own receive had two
    # more tasks per waiting receive (a lock acquire and a queue get).
    assert tasks == 1 + SOCKETS + 1
    assert received == [{"type": "m", "n": 1}] * SOCKETS


def test_messages_sent_between_receives_wait_for_the_next_receive_in_order(redis_url: str) -> None:
    async def scenario() -> list[list[int]]:
        channels_layer = layer(redis_url)
        group, channels = await group_of(channels_layer, 3)
        first = [asyncio.ensure_future(channels_layer.receive(c)) for c in channels]
        for n in range(1, 6):
            await channels_layer.group_send(group, {"type": "m", "n": n})
        got = [[m["n"]] for m in await asyncio.wait_for(asyncio.gather(*first), 10)]
        for seen, channel in zip(got, channels, strict=True):
            while len(seen) < 5:
                seen.append((await asyncio.wait_for(channels_layer.receive(channel), 10))["n"])
        await channels_layer.flush()
        await channels_layer.close_pools()
        return got

    assert run_loop(scenario()) == [[1, 2, 3, 4, 5]] * 3


def test_the_last_receive_cancelled_stops_the_reader_and_a_later_receive_gets_what_follows(
    redis_url: str,
) -> None:
    async def scenario() -> tuple[int, dict]:
        channels_layer = layer(redis_url)
        group, [channel] = await group_of(channels_layer, 1)
        waiting = asyncio.ensure_future(channels_layer.receive(channel))
        await asyncio.sleep(0.2)
        waiting.cancel()
        await asyncio.sleep(0.2)
        left = len(asyncio.all_tasks())  # the reader is gone: only this coroutine runs
        await channels_layer.group_send(group, {"type": "m", "n": 2})
        later = await asyncio.wait_for(channels_layer.receive(channel), 10)
        await channels_layer.flush()
        await channels_layer.close_pools()
        return left, later

    left, later = run_loop(scenario())
    assert left == 1
    assert later == {"type": "m", "n": 2}


def test_a_shortcut_takes_the_idle_channels_it_can_and_the_rest_get_the_message(redis_url: str) -> None:
    offered: list[list[str]] = []

    async def scenario() -> tuple[list[str], list[dict], list[dict]]:
        channels_layer = layer(redis_url)
        group, channels = await group_of(channels_layer, 4)
        handled, left = channels[:2], channels[2:]

        async def shortcut(idle: list[str], message: dict) -> list[str]:
            offered.append(sorted(idle))
            await asyncio.sleep(0)  # a shortcut may wait (a session read) before it writes
            return [c for c in idle if c not in handled]

        channels_layer.add_shortcut("fast", shortcut)
        channels_layer.add_shortcut("fast", shortcut)  # the same one again changes nothing
        skipped = [asyncio.ensure_future(channels_layer.receive(c)) for c in handled]
        woken = [asyncio.ensure_future(channels_layer.receive(c)) for c in left]
        await asyncio.sleep(0.2)
        await channels_layer.group_send(group, {"type": "fast", "n": 1})
        await channels_layer.group_send(group, {"type": "slow", "n": 2})  # no shortcut: everyone
        got_left = await asyncio.wait_for(asyncio.gather(*woken), 10)
        got_handled = await asyncio.wait_for(asyncio.gather(*skipped), 10)
        await channels_layer.flush()
        await channels_layer.close_pools()
        return channels, got_handled, got_left

    channels, got_handled, got_left = run_loop(scenario())
    assert offered == [sorted(channels)]
    assert got_left == [{"type": "fast", "n": 1}] * 2
    assert got_handled == [{"type": "slow", "n": 2}] * 2  # the shortcut's message never reached them


def test_a_shortcut_is_offered_only_waiting_sockets_and_a_failing_one_loses_nothing(redis_url: str) -> None:
    offered: list[list[str]] = []

    async def scenario() -> tuple[str, list[list[int]]]:
        channels_layer = layer(redis_url)
        group, [busy, waits] = await group_of(channels_layer, 2)

        async def shortcut(waiting: list[str], message: dict) -> list[str]:
            offered.append(waiting)
            raise RuntimeError("a bug in the shortcut")

        channels_layer.add_shortcut("fast", shortcut)
        first = [asyncio.ensure_future(channels_layer.receive(c)) for c in (busy, waits)]
        await asyncio.sleep(0.2)
        await channels_layer.group_send(group, {"type": "slow", "n": 1})
        got = [[m["n"]] for m in await asyncio.wait_for(asyncio.gather(*first), 10)]
        # busy is between two receives (a consumer handling its last message); waits waits.
        waiting = asyncio.ensure_future(channels_layer.receive(waits))
        await asyncio.sleep(0.2)
        await channels_layer.group_send(group, {"type": "fast", "n": 2})
        await channels_layer.group_send(group, {"type": "slow", "n": 3})
        got[1].append((await asyncio.wait_for(waiting, 10))["n"])  # the shortcut failed: the usual way
        for seen, channel in ((got[0], busy), (got[1], waits)):
            while len(seen) < 3:
                seen.append((await asyncio.wait_for(channels_layer.receive(channel), 10))["n"])
        await channels_layer.flush()
        await channels_layer.close_pools()
        return waits, got

    waits, got = run_loop(scenario())
    assert got == [[1, 2, 3], [1, 2, 3]]
    assert offered == [[waits]]  # busy had no receive waiting: its n=2 was queued behind nothing


def test_what_arrives_for_a_cancelled_receive_is_dropped_not_kept(redis_url: str) -> None:
    async def scenario() -> tuple[dict, dict[str, object]]:
        channels_layer = layer(redis_url)
        group, [gone, stays] = await group_of(channels_layer, 2)
        leaving = asyncio.ensure_future(channels_layer.receive(gone))
        staying = asyncio.ensure_future(channels_layer.receive(stays))
        await asyncio.sleep(0.2)
        leaving.cancel()  # the socket went; it is still in the group until its consumer leaves it
        await asyncio.sleep(0.1)
        await channels_layer.group_send(group, {"type": "m", "n": 1})
        got = await asyncio.wait_for(staying, 10)
        receiver = channels_layer._receivers[asyncio.get_running_loop()]
        buffers = dict(receiver.buffers)
        await channels_layer.flush()
        await channels_layer.close_pools()
        return got, buffers

    got, buffers = run_loop(scenario())
    assert got == {"type": "m", "n": 1}
    assert buffers == {}
