"""Output routing: a key always goes to the partition Java's default partitioner would choose."""

import pytest

from executor.kafka_clients import OutputRouter

# Kafka's own test vectors for Utils.murmur2 (clients/src/test/.../UtilsTest.java).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "hash_"), JAVA_MURMUR2.items())
@pytest.mark.parametrize("partitions", [1, 6, 7, 64])
def test_keys_route_like_the_java_default_partitioner(key, hash_, partitions):
    assert OutputRouter(partitions)(key, 0) == (hash_ & 0x7FFFFFFF) % partitions


def test_records_without_key_keep_their_input_partitioning():
    assert [OutputRouter(4)(None, p) for p in range(6)] == [0, 1, 2, 3, 0, 1]
