"""Feeds the word-count sample: produces lines of text to a Kafka topic at a steady rate.

Run: python examples/feed_lines.py [--bootstrap 127.0.0.1:9092] [--topic lines] [--rate 200]
`./dev up` starts it so the sample has live input and the charts have something to show.
"""

from __future__ import annotations

import argparse
import random
import signal
import time

from kafka import KafkaProducer

WORDS = [
    *("stream", "state", "pod", "partition", "topic", "entity", "kafka"),
    *("redis", "invoker", "word", "count", "sum", "total", "event"),
]


def lines(seed: int = 7):
    rng = random.Random(seed)
    while True:
        yield " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="lines")
    parser.add_argument("--rate", type=float, default=200.0, help="lines per second")
    args = parser.parse_args()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=20, acks="all")
    interval, next_at = 1.0 / args.rate, time.monotonic()
    for i, line in enumerate(lines()):
        if stopping:
            break
        producer.send(args.topic, key=str(i).encode(), value=line.encode())
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    producer.flush()
    producer.close()


if __name__ == "__main__":
    main()
