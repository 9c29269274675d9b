"""Celery tasks travel through the real Redis broker to a separate worker process and back."""

import os
import uuid

from django.conf import settings

from jobs.tasks import ping


def test_a_task_round_trips_through_redis_to_a_worker_process(celery_worker_process) -> None:
    token = uuid.uuid4().hex
    result = ping.apply_async(args=[token], queue=celery_worker_process.queue).get(timeout=30)
    assert result["token"] == token
    assert result["pid"] == celery_worker_process.process.pid
    assert result["pid"] != os.getpid()
    assert settings.CELERY_BROKER_URL.startswith("redis://")
