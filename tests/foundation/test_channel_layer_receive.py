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
