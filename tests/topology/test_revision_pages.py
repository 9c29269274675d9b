"""The dashboard's history pages (issue 18 item 4): the revisions list with who, trigger and
when (and when a revision was reapplied), the diff of two specs, and rollback behind a
confirmation that shows that diff."""

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from jobs.backends import reset_backend
from tests.topology.conftest import EXAMPLE_NAME, example_manifest
from tests.topology.helpers import manifest_with
from topology_editor import revision_history, services
from topology_editor.models import AuditEntry, Deployment, Interface, ReconcileRun, Revision
from topology_editor.revision_history import CURRENT, revision_rows, spec_diff, timeline, trigger_of
from topology_editor.services.bad_revisions import mark_revision_bad


@pytest.fixture
def second(example, personas) -> Revision:
    """The example, then historyLimit 7 saved by the editor through the editor page (UI)."""
    change = services.update_deployment(
        EXAMPLE_NAME,
        manifest_with(example_manifest(), historyLimit=7),
        actor=personas.editor,
        interface=Interface.UI,
    )
    return change.revision


def _age_audit(deployment: Deployment) -> None:
    """Spreads the audit entries one minute apart (in id order), as changes made over time are,
    the revisions' creation times with them, and all an hour back."""
    start = timezone.now() - timedelta(hours=1)
    for revision in deployment.revisions.all():
        entry = deployment.audit_entries.filter(revision=revision.name).order_by("id").first()
        index = list(deployment.audit_entries.order_by("id").values_list("pk", flat=True)).index(entry.pk)
        Revision.objects.filter(pk=revision.pk).update(created_at=start + timedelta(minutes=index))
    for i, pk in enumerate(deployment.audit_entries.order_by("id").values_list("pk", flat=True)):
        AuditEntry.objects.filter(pk=pk).update(created_at=start + timedelta(minutes=i))


@pytest.mark.parametrize(
    ("action", "interface", "trigger"),
    [
        ("update", "ui", "editor"),
        ("update", "api", "API"),
        ("create", "cli", "CLI"),
        ("move_partition", "ui", "editor"),
        ("rebalance", "api", "rebalance"),
        ("rollback", "admin", "rollback"),
        ("autoscaler", "system", "autoscaler"),
        ("autoscale", "api", "autoscaler (approved)"),
        ("drain", "ui", "drain"),
    ],
)
def test_the_trigger_names_the_action_or_else_the_interface(action, interface, trigger) -> None:
    assert trigger_of(action, interface) == trigger


def test_rows_say_who_made_each_revision_and_through_what(second, personas) -> None:
    rows = revision_rows(Deployment.objects.get())
    assert [(r.revision.number, r.created.by, r.created.trigger, r.desired) for r in rows] == [
        (2, "editor", "editor", True),
        (1, "CLI", "CLI", False),
    ]
    assert all(r.reapplied is None for r in rows)


def test_a_rolled_back_revision_keeps_its_creation_time_and_shows_its_reapplication(second, personas) -> None:
    first = Revision.objects.get(number=1)
    created = first.created_at
    services.roll_back(EXAMPLE_NAME, first.name, actor=personas.operator, interface=Interface.API)
    assert Revision.objects.get(pk=first.pk).created_at == created  # kept by the rollback
    deployment = Deployment.objects.get()
    _age_audit(deployment)

    rows = revision_rows(deployment)
    top = rows[0]
    assert (top.revision.name, top.revision.number) == (first.name, 3)
    assert top.created.at == top.revision.created_at
    assert (top.created.trigger, top.reapplied.by, top.reapplied.trigger) == ("CLI", "operator", "rollback")
    assert top.reapplied.at > top.created.at
    assert rows[1].reapplied is None


def test_entries_that_make_no_revision_desired_are_not_applications(second, personas) -> None:
    first = Revision.objects.get(number=1)
    mark_revision_bad(EXAMPLE_NAME, first.name, "broke it", actor=personas.operator, interface=Interface.API)
    rows = revision_rows(Deployment.objects.get())
    assert [r.reapplied for r in rows] == [None, None]


def test_the_diff_is_a_unified_diff_of_the_canonical_yaml_and_the_structural_changes(second) -> None:
    first = Revision.objects.get(number=1)
    diff = spec_diff(Deployment.objects.get(), first.name, CURRENT)
    assert "-  historyLimit: 5" in diff.lines
    assert "+  historyLimit: 7" in diff.lines
    assert diff.lines[:2] == [f"--- {first.name}", f"+++ {CURRENT}"]
    assert [(c["path"], c["old"], c["new"]) for c in diff.changes] == [("spec.historyLimit", 5, 7)]
    assert spec_diff(Deployment.objects.get(), second.name, CURRENT).same


def test_the_revisions_page_lists_the_history_for_a_viewer(client, second, personas) -> None:
    client.force_login(personas.viewer)
    response = client.get(reverse("pages:revisions", args=[EXAMPLE_NAME]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(second.name) < html.index(Revision.objects.get(number=1).name)
    assert '<td data-col="trigger">editor</td>' in html
    assert "Roll back…" not in html  # viewers may not roll back


def test_the_diff_page_names_what_it_cannot_find(client, second, personas) -> None:
    client.force_login(personas.viewer)
    url = reverse("pages:revision-diff", args=[EXAMPLE_NAME])
    response = client.get(url, {"from": "nope-0"})
    assert response.status_code == 400
    assert "has no revision &#x27;nope-0&#x27;" in response.content.decode()
    opened = client.get(url)  # on the last change
    assert (opened.status_code, opened.context["diff"].old_label) == (
        200,
        Revision.objects.get(number=1).name,
    )
    ok = client.get(url, {"from": second.name, "to": Revision.objects.get(number=1).name})
    assert ok.status_code == 200
    assert "+  historyLimit: 5" in ok.content.decode()


def test_rollback_needs_the_operator_role_even_to_see_the_confirmation(client, second, personas) -> None:
    first = Revision.objects.get(number=1)
    url = reverse("pages:revision-rollback", args=[EXAMPLE_NAME, first.name])
    for persona in ("viewer", "editor"):
        client.force_login(personas[persona])
        assert client.get(url).status_code == 403
        assert client.post(url, {"resource_version": "2"}).status_code == 403
    assert Revision.objects.get(number=2) == second


def test_the_confirmation_shows_the_diff_and_posting_it_rolls_back(
    client, second, personas, reconciles
) -> None:
    first = Revision.objects.get(number=1)
    client.force_login(personas.operator)
    url = reverse("pages:revision-rollback", args=[EXAMPLE_NAME, first.name])
    page = client.get(url).content.decode()
    assert "-  historyLimit: 7" in page
    assert "+  historyLimit: 5" in page
    response = client.post(url, {"resource_version": "2"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("pages:revisions", args=[EXAMPLE_NAME])
    assert f"Rolled back to {first.name}, now revision #3." in response.content.decode()
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.interface, entry.actor) == ("rollback", "ui", personas.operator)


@pytest.mark.parametrize("version", ["1", "", "x"])
def test_a_stale_or_missing_version_rolls_nothing_back(client, second, personas, version) -> None:
    first = Revision.objects.get(number=1)
    client.force_login(personas.operator)
    response = client.post(
        reverse("pages:revision-rollback", args=[EXAMPLE_NAME, first.name]), {"resource_version": version}
    )
    assert response.status_code == 409
    assert "Not rolled back" in response.content.decode()
    assert Revision.objects.get(name=first.name).number == 1
    assert Deployment.objects.get().resource_version == 2


def _run(deployment: Deployment, result: str, minutes_ago: int) -> ReconcileRun:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return ReconcileRun.objects.create(
        deployment=deployment, revision="r", trigger="a change", started_at=started, result=result
    )


def test_the_timeline_merges_changes_and_reconciles_newest_first_and_filters_them(second, personas) -> None:
    deployment = Deployment.objects.get()
    _age_audit(deployment)  # the create 60 min ago, the update 59 min ago
    _run(deployment, "error", 30)
    _run(deployment, "success", 70)
    everything = timeline(deployment, {})
    assert [(i.kind, i.entry.action if i.entry else i.run.result) for i in everything] == [
        ("reconcile", "error"),
        ("change", "update"),
        ("change", "create"),
        ("reconcile", "success"),
    ]
    assert [i.entry.actor_name for i in timeline(deployment, {"actor": "EDIT"})] == ["editor"]
    assert [i.entry.action for i in timeline(deployment, {"interface": "cli"})] == ["create"]
    assert [i.run.result for i in timeline(deployment, {"result": "error"})] == ["error"]
    assert [i.kind for i in timeline(deployment, {"kind": "reconcile"})] == ["reconcile", "reconcile"]
    assert timeline(deployment, {"kind": "reconcile", "action": "update"}) == []


def test_the_timeline_goes_back_only_as_far_as_both_kinds_are_complete(second, personas, monkeypatch) -> None:
    deployment = Deployment.objects.get()
    _age_audit(deployment)  # the changes an hour back
    for minutes_ago in (1, 2, 3):  # the newest runs, all after the changes
        _run(deployment, "success", minutes_ago)
    _run(deployment, "error", 70)
    monkeypatch.setattr(revision_history, "TIMELINE_LIMIT", 3)
    # Three runs fill the limit; an hour-old change beside them would read as a time with no run.
    assert [i.kind for i in timeline(deployment, {})] == ["reconcile"] * 3
    assert len(timeline(deployment, {"kind": "change"})) == 2  # one kind alone: nothing to line up


def test_the_audit_page_shows_the_filtered_timeline_with_each_changes_fields(
    client, second, personas
) -> None:
    client.force_login(personas.viewer)
    response = client.get(reverse("pages:audit", args=[EXAMPLE_NAME]), {"action": "update"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-kind="change"') == 1
    assert "<code>spec.historyLimit</code>" in html
    assert 'data-action="create"' not in html


@pytest.fixture
def local_backend(settings, tmp_path) -> Iterator[None]:
    settings.INVOKER_BACKEND = "local"
    settings.INVOKER_LOCAL_STATE_DIR = tmp_path / "local-runtime"
    reset_backend()
    yield
    reset_backend()


def test_the_confirmation_shows_what_a_dry_run_reconcile_would_change_field_by_field(
    client, example, personas, local_backend, reconciles
) -> None:
    manifest = example_manifest()
    first_pod, second_pod = manifest["spec"]["statefulEntities"][0]["pods"][:2]
    moved = second_pod["partitions"].pop()
    first_pod["partitions"].append(moved)
    services.update_deployment(EXAMPLE_NAME, manifest, actor=personas.editor, interface=Interface.UI)
    call_command("reconcile", EXAMPLE_NAME, stdout=StringIO())  # what runs now: the move
    first = Revision.objects.get(number=1)

    client.force_login(personas.operator)
    page = client.get(reverse("pages:revision-rollback", args=[EXAMPLE_NAME, first.name]))
    plan = page.context["plan"]
    assert page.context["plan_error"] == ""
    assert "update ConfigMap/word-count-demo.splitter" in plan
    assert any(
        line.startswith("  ConfigMap word-count-demo.splitter: splitter-0.json partitions") for line in plan
    )
    assert Revision.objects.get(number=1) == first  # nothing rolled back, nothing reconciled
