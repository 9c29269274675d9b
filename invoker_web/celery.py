"""The Celery application: tasks live in `jobs/`, configuration comes from Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invoker_web.settings")

app = Celery("invoker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
