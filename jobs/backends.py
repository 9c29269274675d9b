"""Builds the orchestrator backend that settings name, once per process."""

from functools import cache

from django.conf import settings

from orchestrator.backend import Backend


@cache
def get_backend() -> Backend:
    """The configured backend; cached because a Kubernetes client holds a connection pool."""
    if settings.INVOKER_BACKEND == "kubernetes":
        from orchestrator.kube import KubernetesBackend, load_api_client

        api = load_api_client(settings.INVOKER_KUBECONFIG, settings.INVOKER_KUBE_IN_CLUSTER)
        return KubernetesBackend(api, settings.INVOKER_NAMESPACE)
    from orchestrator.local.backend import LocalBackend

    return LocalBackend(settings.INVOKER_LOCAL_STATE_DIR, settings.INVOKER_NAMESPACE)
