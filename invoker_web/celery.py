"""The Celery application: tasks live in `jobs/`, configuration comes from Django settings.

Reconciles go to a queue of their own (``INVOKER_RECONCILE_QUEUE``, default ``reconcile``),
consumed by a worker of their own (``reconciler`` in `./dev up`, the ``-reconciler`` Deployment
in the chart): a click's reconcile never waits behind metrics collection or anything else on
the default queue, which the other worker consumes.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invoker_web.settings")

DEFAULT_QUEUE = "celery"
RECONCILE_QUEUE = os.environ.get("INVOKER_RECONCILE_QUEUE", "") or "reconcile"
#: The tasks that run reconcile passes; everything else stays on the default queue.
RECONCILE_TASKS = ("jobs.reconcile",)

app = Celery("invoker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.task_routes = {task: {"queue": RECONCILE_QUEUE} for task in RECONCILE_TASKS}
app.autodiscover_tasks()
