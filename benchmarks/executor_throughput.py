"""Executor throughput and latency: word-count -> sum on the real broker and Redis, beside a baseline.

    python benchmarks/executor_throughput.py            (or: ./dev bench executor_throughput)

Three measurements in one run, on the same broker and the same text:

1. baseline: ONE process doing kafka-python consume -> split -> produce (word, 1), no sidecars,
   no state, no transactions;
2. invoker: word-count pods -> a sum pod, exactly-once (transactions + Redis state), throughput
   in input words per second from the moment 10% to the moment 90% of all words are reflected
   in the committed totals (the same window is applied to the baseline's progress);
3. latency under a steady load: a probe word is produced every 50 ms and timed until its total
   appears in the committed output of sum (p50/p99), with each pod's batches over that window
   (batches/s, records per batch, mean UDF, state read and commit time per batch, from the
   pods' own metrics), which says where the latency goes;
4. idle CPU: once the load has stopped, the CPU time of each pod's three processes over a quiet
   window, beside a plain kafka-python consumer polling an empty topic over the same window.

Word-count uses the SDK's combiner (counts of equal words are merged within a batch), which is
fair because totals stay exact; for transparency the run also reports the baseline with the
same per-batch combining, and the ratio is taken against that one (the target is >= 0.8). The
sum entity writes its changelog topic as in production. `--profile DIR` samples every process of
the pods with py-spy (on PATH) during the latency run and writes collapsed stacks to DIR.

A/B in one run: `--against REV` (a git revision, e.g. HEAD, or a directory holding `executor/`
and `podcontract/`) runs a second pipeline whose pods run that code (`--code` chooses the first
pipeline's the same way, default this tree), and/or `--b-env NAME=VALUE` (repeatable) one whose
pods get those variables (e.g. INVOKER_BATCH_MAX_MS=20); the throughput runs follow each other and
the latency windows alternate A, B, A, B, so both see the same load. Env: KAFKA_BOOTSTRAP_SERVERS,
INVOKER_STATE_REDIS_URL (else REDIS_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from executor.cleanup import delete_deployment_data  # noqa: E402
from tests import localpod  # noqa: E402
from tests.localpod import LocalEntity  # noqa: E402

PARTITIONS = 6
WORDS = [f"w{i:03d}" for i in range(400)]


def make_lines(count: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(WORDS))]
    return [" ".join(rnd.choices(WORDS, weights, k=rnd.randint(1, 6))) for _ in range(count)]


def create_topics(bootstrap: str, *names: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics(names)
    finally:
        admin.close()


def produce(bootstrap: str, topic: str, lines: list[str]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024, acks="all")
    for i, line in enumerate(lines):
        producer.send(topic, value=line.encode(), partition=i % PARTITIONS)
    producer.flush()
    producer.close()


def window_rate(progress: list[tuple[float, float]], total: float) -> float:
    """Units per second between reaching 10% and 90% of `total` (skips start-up and the tail)."""
    t10 = next(t for t, done in progress if done >= 0.1 * total)
    t90 = next(t for t, done in progress if done >= 0.9 * total)
    return 0.8 * total / max(t90 - t10, 1e-9)


def baseline_worker(bootstrap: str, source: str, sink: str, lines: int, combine: bool) -> None:
    """The baseline process: consume -> split -> produce, printing its progress as JSON."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=20000)
    consumer.assign([TopicPartition(source, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=256 * 1024, acks="all")
    consumed, words, progress = 0, 0, []
    while consumed < lines:
        for records in consumer.poll(timeout_ms=500, max_records=20000).values():
            counts: Counter[str] = Counter()
            for record in records:
                split = record.value.decode().split()
                words += len(split)
                if combine:
                    counts.update(split)
                else:
                    for word in split:
                        producer.send(sink, key=word.encode(), value=b"1")
            for word, n in counts.items():
                producer.send(sink, key=word.encode(), value=str(n).encode())
            consumed += len(records)
        progress.append((time.monotonic(), consumed))
    producer.flush()
    progress.append((time.monotonic(), consumed))
    print(json.dumps({"lines_per_second": window_rate(progress, lines), "words": words, "lines": lines}))


def run_baseline(bootstrap: str, lines: list[str], combine: bool) -> float:
    """Input words per second of the baseline, run as its own process on its own topics."""
    name = f"bench-base-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, f"{name}-in", f"{name}-out")
    try:
        produce(bootstrap, f"{name}-in", lines)
        args = [sys.executable, __file__, "--baseline-worker", f"{name}-in", f"{name}-out", str(len(lines))]
        done = subprocess.run(
            args + (["--combine"] if combine else []),
            capture_output=True,
            text=True,
            env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
            timeout=600,
        )
        if done.returncode != 0:
            raise SystemExit(f"the baseline process failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        return result["lines_per_second"] * result["words"] / result["lines"]
    finally:
        delete_topics(bootstrap, [f"{name}-in", f"{name}-out"])


class Pipeline:
    """word-count pods -> one sum pod on fresh topics, plus a read_committed reader of the totals."""

    def __init__(
        self,
        bootstrap: str,
        redis_url: str,
        pods: int,
        work: Path,
        code: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``code``: a tree whose executor the pods run (default: this one); ``env``: the pods' extra
        variables."""
        self.bootstrap, self.redis_url, self.name = bootstrap, redis_url, f"bench-{uuid.uuid4().hex[:8]}"
        self.code = code
        work = work / self.name
        work.mkdir()
        self.topics = [f"{self.name}-{t}" for t in ("lines", "counts", "totals")]
        create_topics(bootstrap, *self.topics)

        def main(entity: str, source: str, sink: str) -> dict[str, object]:
            return {
                "deployment": self.name,
                "entity": entity,
                "bootstrapServers": bootstrap,
                "inputTopic": source,
                "outputTopic": sink,
                "outputPartitions": PARTITIONS,
                "stateBackend": {"kind": "redis", "url": redis_url},
            }

        self.counter = LocalEntity(
            work, main("word-count", *self.topics[:2]), "executor.samples.word_count:udf", env
        )
        self.summer = LocalEntity(work, main("sum", *self.topics[1:]), "executor.samples.sum:udf", env)
        self.pods = pods
        self.totals: dict[str, int] = {}
        self.seen_at: dict[str, float] = {}
        self._reader = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
        self._reader.assign([TopicPartition(self.topics[2], p) for p in range(PARTITIONS)])

    def start(self) -> None:
        own_root = localpod.ROOT
        localpod.ROOT = self.code or own_root  # the pods' cwd and PYTHONPATH: whose executor runs
        try:
            self.summer.assign({"summer-0": list(range(PARTITIONS))})
            self.counter.assign(
                {f"splitter-{i}": list(range(i, PARTITIONS, self.pods)) for i in range(self.pods)}
            )
        finally:
            localpod.ROOT = own_root

    def check_alive(self) -> None:
        """Stops the run with the dead process's log when a pod process exited (nothing restarts
        it here, so the run would otherwise wait out its deadline)."""
        for group in (self.counter, self.summer):
            for name, pod in group.pods.items():
                for container, proc in pod.processes.items():
                    if proc.poll() is not None:
                        log = Path(pod.work_dir) / f"{name}-{container}.log"
                        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
                        raise SystemExit(
                            f"pod {name}: its {container} process exited ({proc.returncode}):\n{tail}"
                        )

    def read(self) -> int:
        """Reads the newest totals; returns the number of words they add up to."""
        for records in self._reader.poll(timeout_ms=100).values():
            for record in records:
                word = record.key.decode()
                self.totals[word] = int(record.value)
                self.seen_at.setdefault(word, time.monotonic())
        return sum(self.totals.values())

    def stop(self) -> None:
        self._reader.close()
        self.counter.stop()
        self.summer.stop()
        delete_topics(self.bootstrap, self.topics)
        delete_deployment_data(self.name, self.bootstrap, self.redis_url)  # keys, changelogs, groups


def measure_throughput(pipe: Pipeline, lines: list[str]) -> tuple[float, bool]:
    """Preloads the text, starts the pods, follows the totals; returns (words/s, totals exact)."""
    produce(pipe.bootstrap, pipe.topics[0], lines)
    expected = Counter(word for line in lines for word in line.split())
    total = sum(expected.values())
    pipe.start()
    progress, deadline = [], time.monotonic() + 600
    while (done := pipe.read()) < total and time.monotonic() < deadline:
        progress.append((time.monotonic(), done))
        pipe.check_alive()
    progress.append((time.monotonic(), done))
    return window_rate(progress, total), pipe.totals == dict(expected)


def measure_latency(pipe: Pipeline, words_per_second: float, seconds: float) -> list[float]:
    """Steady load plus a unique probe word every 50 ms; seconds from produce to committed total."""
    producer = KafkaProducer(bootstrap_servers=pipe.bootstrap, linger_ms=1, acks="all")
    lines, sent_at, stop = make_lines(200_000, seed=11), {}, threading.Event()

    def load() -> None:
        per_tick, i, started = words_per_second / 3.5 / 20, 0, time.monotonic()
        while not stop.is_set():
            for _ in range(int(per_tick)):
                producer.send(pipe.topics[0], value=lines[i % len(lines)].encode(), partition=i % PARTITIONS)
                i += 1
            probe = f"probe{uuid.uuid4().hex[:10]}"
            sent_at[probe] = time.monotonic()
            producer.send(pipe.topics[0], value=probe.encode(), partition=i % PARTITIONS)
            stop.wait(max(0.0, started + len(sent_at) * 0.05 - time.monotonic()))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pipe.read()
    stop.set()
    thread.join()
    producer.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(p in pipe.seen_at for p in sent_at):
        pipe.read()
    producer.close()
    return [pipe.seen_at[p] - t for p, t in sent_at.items() if p in pipe.seen_at]


#: Per-batch sums of the io sidecar's histograms, read to split a batch's time into its steps.
BATCH_STEPS = {
    "invoker_batch_records": "records",
    "invoker_udf_latency_seconds": "udf",
    "invoker_state_read_seconds": "state get",
    "invoker_commit_seconds": "commit",
}


def batch_totals(pipe: Pipeline) -> dict[str, dict[str, float]]:
    """Each pod's histogram sums and the batch count, scraped from its metrics endpoint."""
    totals = {}
    for entity, group in (("word-count", pipe.counter), ("sum", pipe.summer)):
        for name, pod in group.pods.items():
            with urllib.request.urlopen(f"http://127.0.0.1:{pod.metrics_port}/metrics", timeout=5) as r:
                text = r.read().decode()
            sums: dict[str, float] = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name.removesuffix("_sum") in BATCH_STEPS and sample.name.endswith("_sum"):
                        sums[BATCH_STEPS[sample.name.removesuffix("_sum")]] = sample.value
                    if sample.name == "invoker_batch_records_count":
                        sums["batches"] = sample.value
            totals[f"{entity}/{name}"] = sums
    return totals


def batch_profile(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], seconds: float
) -> dict[str, str]:
    """Per pod over a window: batches/s, records per batch and the mean time of each step."""
    lines = {}
    for pod, end in after.items():
        start = before.get(pod, {})
        delta = {k: v - start.get(k, 0.0) for k, v in end.items()}
        batches = max(delta.get("batches", 0.0), 1.0)
        steps = ", ".join(
            f"{step} {delta.get(step, 0.0) / batches * 1000:.1f} ms"
            for step in ("udf", "state get", "commit")
        )
        lines[pod] = (
            f"{delta.get('batches', 0.0) / seconds:.1f} batches/s, "
            f"{delta.get('records', 0.0) / batches:.0f} records/batch, {steps}"
        )
    return lines


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pids: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """Fraction of one core each named group of processes used over the next `seconds`."""
    before = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    elapsed = time.monotonic() - started
    return {name: (sum(map(cpu_seconds, group)) - before[name]) / elapsed for name, group in pids.items()}


def measure_idle(variants: dict[str, Pipeline], seconds: float) -> dict[str, float]:
    """CPU share of each idle pod (its three processes) and of a plain consumer of an empty topic,
    measured over the same window, after the pods have had a few seconds to drain."""
    time.sleep(5)  # the last batches and their commits
    first = next(iter(variants.values()))
    idle_topic = f"{first.name}-idle"
    create_topics(first.bootstrap, idle_topic)
    baseline = subprocess.Popen([sys.executable, __file__, "--idle-consumer", idle_topic])
    try:
        time.sleep(3)  # past its start-up
        pods = {
            (f"{variant}: " if len(variants) > 1 else "") + f"{entity}/{name}": list(pod.pids().values())
            for variant, pipe in variants.items()
            for entity, group in (("word-count", pipe.counter), ("sum", pipe.summer))
            for name, pod in group.pods.items()
        }
        return cpu_share({**pods, "baseline": [baseline.pid]}, seconds)
    finally:
        baseline.terminate()
        baseline.wait()
        delete_topics(first.bootstrap, [idle_topic])


def idle_consumer(bootstrap: str, topic: str) -> None:
    """The idle baseline: one kafka-python consumer of an empty topic, polling as a pod would."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    while True:
        consumer.poll(timeout_ms=200)


def start_profiles(pipe: Pipeline, out: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    """py-spy samples every process of every pod for `seconds` (collapsed stacks, one file each)."""
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for group in (pipe.counter, pipe.summer):
        for name, pod in group.pods.items():
            for container, pid in pod.pids().items():
                args = ["py-spy", "record", "--format", "raw", "--nonblocking", "-r", "50"]
                args += ["-d", str(int(seconds)), "-p", str(pid), "-o", str(out / f"{name}-{container}.txt")]
                procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=150_000, help="lines of text (about 3.5 words each)")
    parser.add_argument("--pods", type=int, default=1, help="word-count pods (the sum entity has one)")
    parser.add_argument(
        "--latency-rate", type=float, default=15_000, help="input words/s during the latency run"
    )
    parser.add_argument("--latency-seconds", type=float, default=15)
    parser.add_argument("--idle-seconds", type=float, default=20, help="window of the idle CPU figure")
    parser.add_argument("--profile", type=Path, help="py-spy every pod process into DIR while under load")
    parser.add_argument("--code", metavar="REV|DIR", help="A/B: the code the first pipeline runs")
    parser.add_argument("--against", metavar="REV|DIR", help="A/B: a second pipeline runs this code")
    parser.add_argument(
        "--b-env", action="append", default=[], metavar="NAME=VALUE", help="A/B: the second pipeline's env"
    )
    parser.add_argument("--baseline-worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--idle-consumer", help=argparse.SUPPRESS)
    parser.add_argument("--combine", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    if args.baseline_worker:
        source, sink, lines = args.baseline_worker
        baseline_worker(bootstrap, source, sink, int(lines), args.combine)
        return
    if args.idle_consumer:
        idle_consumer(bootstrap, args.idle_consumer)
        return
    redis_url = os.environ.get("INVOKER_STATE_REDIS_URL") or os.environ.get(
        "REDIS_URL", "redis://127.0.0.1:16379/0"
    )
    lines = make_lines(args.lines)
    words = sum(len(line.split()) for line in lines)
    print(
        f"executor throughput: {args.lines} lines, {words} words, broker {bootstrap}, {os.cpu_count()} cores"
    )
    baseline = run_baseline(bootstrap, lines, combine=False)
    combined = run_baseline(bootstrap, lines, combine=True)
    with tempfile.TemporaryDirectory(prefix="inv-bench-", dir="/tmp") as work:
        code = resolve_code(args.code, Path(work)) if args.code else None
        variants = {"A": Pipeline(bootstrap, redis_url, args.pods, Path(work), code)}
        if args.against or args.b_env:
            code = resolve_code(args.against, Path(work)) if args.against else code
            env = dict(item.split("=", 1) for item in args.b_env)
            variants["B"] = Pipeline(bootstrap, redis_url, args.pods, Path(work), code, env)
        try:
            results = {name: measure_variant(pipe, lines) for name, pipe in variants.items()}
            alternate_latency(variants, results, args)
            idle = measure_idle(variants, args.idle_seconds)
        finally:
            for pipe in variants.values():
                pipe.stop()
    for name, result in results.items():
        if len(results) > 1:
            print(f"{name}: {describe_variant(name, args)}")
        report(baseline, combined, result["rate"], result["exact"], result["latencies"], args)
        for pod, line in result["steps"].items():
            print(f"  batches of {pod} during the latency runs: {line}")
    report_idle(idle)


def resolve_code(code: str, work: Path) -> Path:
    """A directory holding the executor to run: ``code`` itself, or git revision ``code`` exported
    (the executor and what it imports) into a directory of its own."""
    if Path(code).is_dir():
        return Path(code).resolve()
    dest = work / f"code-{code.replace('/', '_')}-{uuid.uuid4().hex[:4]}"
    dest.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", code, "executor", "podcontract"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def describe_variant(name: str, args: argparse.Namespace) -> str:
    if name == "A":
        return f"code of {args.code or 'this tree'}"
    code = args.against or args.code or "this tree"
    return f"code of {code}" + (f", env {' '.join(args.b_env)}" if args.b_env else "")


def measure_variant(pipe: Pipeline, lines: list[str]) -> dict[str, Any]:
    rate, exact = measure_throughput(pipe, lines)
    return {"rate": rate, "exact": exact, "latencies": [], "steps": {}, "windows": []}


def alternate_latency(
    variants: dict[str, Pipeline], results: dict[str, dict[str, Any]], args: argparse.Namespace
) -> None:
    """The latency windows, A then B, twice when there is a B (so both see the same load)."""
    rounds = 2 if len(variants) > 1 else 1
    for _ in range(rounds):
        for name, pipe in variants.items():
            profiles = start_profiles(pipe, args.profile, args.latency_seconds) if args.profile else []
            before, started = batch_totals(pipe), time.monotonic()
            results[name]["latencies"] += measure_latency(pipe, args.latency_rate, args.latency_seconds)
            results[name]["windows"].append((before, batch_totals(pipe), time.monotonic() - started))
            for proc in profiles:
                proc.wait()
    for result in results.values():
        result["steps"] = summed_profile(result["windows"])


def summed_profile(
    windows: list[tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], float]],
) -> dict[str, str]:
    """batch_profile over several windows: their deltas added up."""
    before: dict[str, dict[str, float]] = {}
    after: dict[str, dict[str, float]] = {}
    for start, end, _ in windows:
        for pod, values in end.items():
            for key, value in values.items():
                delta = value - start.get(pod, {}).get(key, 0.0)
                after.setdefault(pod, {})[key] = after.get(pod, {}).get(key, 0.0) + delta
    return batch_profile(before, after, sum(w[2] for w in windows))


def report(
    baseline: float,
    combined: float,
    rate: float,
    exact: bool,
    latencies: list[float],
    args: argparse.Namespace,
) -> None:
    rows = [
        ("baseline: 1 process, consume -> split -> produce (word, 1)", baseline),
        ("baseline with the same per-batch combiner (informational)", combined),
        (f"invoker: {args.pods} word-count pod(s) -> 1 sum pod, exactly-once", rate),
    ]
    for label, value in rows:
        print(f"  {label:<66} {value:>10,.0f} input words/s")
    print(
        f"  ratio invoker / combining baseline: {rate / combined:.2f} (target >= 0.8); "
        f"invoker / plain baseline: {rate / baseline:.2f}"
    )
    print(f"  totals exact after the throughput run: {'yes' if exact else 'NO'}")
    if latencies:
        print(
            f"  latency word produced -> total committed at {args.latency_rate:,.0f} words/s "
            f"({len(latencies)} probes): p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms (target p50 <= 100 ms, p99 <= 300 ms)"
        )


def report_idle(idle: dict[str, float]) -> None:
    baseline = idle.pop("baseline")
    for pod, share in idle.items():
        print(f"  idle CPU of pod {pod} (3 processes): {share * 100:.2f}% of a core (target <= 1%)")
    print(f"  idle CPU of the baseline (1 kafka-python consumer polling): {baseline * 100:.2f}% of a core")


if __name__ == "__main__":
    main()
