"""The admin: deployments with their entities and pods inline, revisions with their spec, a
diff against the saved spec and the "Roll back to this revision" action, and the read-only
records (reconcile runs, audit entries). Every change goes through the services."""

from topology_editor.admin import deployments, records, revisions

__all__ = ["deployments", "records", "revisions"]
