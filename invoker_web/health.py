"""Liveness and readiness endpoints, open to anonymous callers (probes carry no session).

Readiness checks every dependency concurrently, each with its own deadline, so that one slow
service cannot hide the state of the others, and names each failing one with its error.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kafka.admin import KafkaAdminClient


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis() -> None:
    timeout = settings.READINESS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def check_kafka() -> None:
    timeout_ms = int(settings.READINESS_TIMEOUT_SECONDS * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
        client_id="invoker-readyz",
    )
    try:
        admin.describe_cluster()
    finally:
        admin.close()


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "kafka": check_kafka,
}


def _timed(check: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        connections.close_all()
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def run_checks() -> dict[str, dict[str, object]]:
    deadline = settings.READINESS_TIMEOUT_SECONDS + 1.0
    with ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz") as pool:
        futures = {name: pool.submit(_timed, check) for name, check in CHECKS.items()}
        results = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=deadline)
            except FutureTimeout:
                results[name] = {"ok": False, "error": f"no answer within {deadline:.1f}s"}
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    ready = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
