"""The UDF host: finding the user's function and answering a batch in one response."""

import pytest

from executor.samples import sum as summing
from executor.udf_host import UdfService, load_udf


class FakeState:
    """Stands in for the state sidecar's client: one `get` per batch is all the host may send."""

    def __init__(self, values: dict[int, dict[bytes, bytes]]) -> None:
        self.values, self.calls = values, 0

    def call(self, op: str, **fields):
        self.calls += 1
        assert op == "get"
        return {
            "values": {p: [self.values.get(p, {}).get(k) for k in ks] for p, ks in fields["keys"].items()}
        }


def test_the_samples_load_by_reference():
    assert load_udf("executor.samples.sum:udf") is summing.udf


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("executor.samples.sum", "must look like"),
        ("no.such.module:udf", "cannot load"),
        ("executor.samples.sum:running_total", "not an executor.sdk.Udf"),
    ],
)
def test_a_bad_reference_stops_the_host_with_a_clear_message(reference, message):
    with pytest.raises(SystemExit, match=message):
        load_udf(reference)


def test_a_batch_over_several_partitions_reads_state_once():
    state = FakeState({0: {b"a": b"10"}})
    service = UdfService(summing.udf, "executor.samples.sum:udf", state)
    response = service.handle(
        {
            "op": "process",
            "partitions": {
                0: [[b"a", b"1", 5, 0], [b"a", b"2", 6, 0]],
                1: [[b"b", b"7", 0, 0]],
            },
        }
    )
    assert state.calls == 1
    assert response["outputs"] == {0: [(b"a", b"13")], 1: [(b"b", b"7")]}
    assert response["writes"] == {0: {b"a": b"13"}, 1: {b"b": b"7"}}
    assert response["records"] == 3


def test_hello_says_whether_the_udf_keeps_state():
    assert UdfService(summing.udf, "x:y", FakeState({})).handle({"op": "hello"})["stateful"] is True
