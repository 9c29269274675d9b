"""Builds the orchestrator backend that settings name, once per process."""

import os
from functools import cache

from django.conf import settings

from orchestrator.reconciler.backend import Backend


def get_backend() -> Backend:
    """The configured backend of this process. Cached because a Kubernetes backend holds a
    connection pool and a watch cache fed by background threads; keyed by process id because
    neither survives a fork (a prefork worker's child must build its own)."""
    return _backend_for(os.getpid())


@cache
def _backend_for(pid: int) -> Backend:
    if settings.INVOKER_BACKEND == "kubernetes":
        from orchestrator.reconciler.kube import KubernetesBackend, load_api_client

        api = load_api_client(settings.INVOKER_KUBECONFIG, settings.INVOKER_KUBE_IN_CLUSTER)
        return KubernetesBackend(api, settings.INVOKER_NAMESPACE, settings.INVOKER_POD_PLACEMENT)
    from orchestrator.local.backend import LocalBackend

    return LocalBackend(settings.INVOKER_LOCAL_STATE_DIR, settings.INVOKER_NAMESPACE)


def reset_backend() -> None:
    """Stops this process's backend (its watches, if any) and forgets it; tests use it after
    changing the settings."""
    if _backend_for.cache_info().currsize:
        close = getattr(get_backend(), "close", None)
        if close is not None:
            close()
    _backend_for.cache_clear()
