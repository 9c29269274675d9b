from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        """Serves the editor's reconcile requests (``topology_editor.reconcile_hook``): jobs
        imports the editor, never the other way round, so the hook is registered from here."""
        from jobs.preview import preview_spec
        from jobs.tasks import request_reconcile
        from topology_editor import dry_run_hook, reconcile_hook

        reconcile_hook.register(request_reconcile)
        dry_run_hook.register(preview_spec)  # the rollback confirmation's dry run
