"""The REST API (DRF) under ``/api/``: thin views over :mod:`topology_editor.services`.

Routes (roles: viewer reads, editor changes specs, operator also rebalances and rolls back;
superusers may do everything; every route needs a login, by session or ``Authorization:
Token <key>``):

- ``deployments/``: GET (viewer), POST a manifest (editor)
- ``deployments/import/``: POST YAML, a multipart ``file`` or JSON; creates or updates (editor)
- ``deployments/{name}/``: GET (viewer); PUT, PATCH, DELETE (editor)
- ``deployments/{name}/export/``: GET the YAML (JSON with ``Accept: application/json``) (viewer)
- ``deployments/{name}/move/``: POST ``{entity, partition, to_pod}`` (editor)
- ``deployments/{name}/status/``, ``.../audit/``: GET (viewer)
- ``deployments/{name}/entities/`` and ``.../{entity}/``: GET (viewer); POST, PUT, PATCH, DELETE (editor)
- ``.../entities/{entity}/pods/`` and ``.../pods/{pod}/``: the same for pods
- ``.../entities/{entity}/rebalance/``: POST ``{dry_run, removed}`` (operator)
- ``.../entities/{entity}/rebalance/load/``: POST ``{dry_run, removed, metric, window_seconds, target}``,
  by measured load (operator; docs/rebalance.md)
- ``deployments/{name}/revisions/``, ``.../{revision}/``, ``.../diff/?from=&to=``: GET (viewer)
- ``deployments/{name}/revisions/{revision}/rollback/``: POST (operator)
- ``schema/``, ``docs/``: GET (any signed-in user)

Decisions the issue left open:

- Deployments are their custom resource: ``GET`` returns the manifest with
  ``metadata.resourceVersion``, ``metadata.annotations["invoker.io/revision"]`` and the
  ``status`` block, and what was read can be ``PUT`` back unchanged. Manifests keep the
  resource's camelCase; the API's own objects are snake_case. A deployment cannot be renamed.
- ``PATCH`` is a JSON merge patch (RFC 7386) of the manifest, an entity or a pod. Entity and
  pod writes store the whole resulting spec, so errors name full spec paths; renaming an
  entity or pod by ``PUT`` is allowed.
- Optimistic concurrency is optional: a write without ``If-Match`` (or a version in the body)
  is unconditional, as in Kubernetes. A dry-run rebalance checks the version too.
- A write that changes nothing answers 200 with ``changed: false`` and records nothing.
- Changes made with a browser session are audited as interface ``ui``, with a token as ``api``.
- Lists are paginated (``?page=``, ``?page_size=`` up to 500), entities and pods included.
- A deployment named ``import`` cannot be addressed at ``deployments/import/`` (the route is
  the importer's); its other routes work.

Errors: see :mod:`topology_editor.api.errors`.
"""
