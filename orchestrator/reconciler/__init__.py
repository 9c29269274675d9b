"""The operator: the reconcile phases and the backends they write through (Kubernetes, or the
local runtime's files), the topics on the broker, and the status they derive. Only jobs and
the web's operator views import it; the editor never does.
"""
