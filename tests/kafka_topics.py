"""Reading topics back from the real broker in the topic tests (their ``suffix`` and ``admin``
fixtures are in tests/conftest.py)."""

from kafka.admin import KafkaAdminClient

from tests.polling import wait_until


def partitions(admin: KafkaAdminClient, *topics: str) -> dict[str, int | None]:
    """topic → its partition count, None when it does not exist."""
    return {
        t["name"]: (len(t["partitions"]) if t["error_code"] == 0 else None)
        for t in admin.describe_topics(topics)
    }


def settles_to(admin: KafkaAdminClient, expected: dict[str, int | None]) -> None:
    """Waits until the brokers' metadata shows ``expected`` (it lags the controller briefly)."""
    wait_until(lambda: partitions(admin, *expected) == expected, 10, f"topics to show {expected}")
