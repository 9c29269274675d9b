"""The deployment admin: entities and pods inline, saved whole through the services."""

import pytest
from django.contrib.admin.models import LogEntry

from tests.topology.admin.forms import post_data
from tests.topology.conftest import EXAMPLE_NAME
from topology_editor.models import AuditEntry, Deployment, Pod
from topology_editor.spec_rows import spec_from_rows


def _change_url(deployment: Deployment) -> str:
    return f"/admin/topology_editor/deployment/{deployment.pk}/change/"


@pytest.fixture
def editor_client(db, client, personas):
    client.force_login(personas.editor)
    return client


def _pod_index(response, name: str) -> int:
    pods = next(i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "pods")
    return next(i for i, form in enumerate(pods.formset.forms) if form.instance.name == name)


def test_the_change_page_shows_entities_and_pods_inline(editor_client, example):
    response = editor_client.get(_change_url(example))
    assert response.status_code == 200
    assert [i.formset.prefix for i in response.context["inline_admin_formsets"]] == ["entities", "pods"]
    assert b"splitter-2" in response.content


def test_saving_goes_through_the_services(
    editor_client, example, personas, django_capture_on_commit_callbacks, reconciles
):
    page = editor_client.get(_change_url(example))
    data = post_data(page)
    data["history_limit"] = 7
    data[f"pods-{_pod_index(page, 'splitter-1')}-partitions"] = "[2]"
    data[f"pods-{_pod_index(page, 'splitter-2')}-partitions"] = '[3, "4", 5]'

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(_change_url(example), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    spec = spec_from_rows(Deployment.objects.get())
    assert spec.history_limit == 7
    assert spec.entity("splitter").pods[2].partitions == (3, 4, 5)
    entry = AuditEntry.objects.latest("id")
    assert (entry.interface, entry.actor, entry.action) == ("admin", personas.editor, "update")
    assert LogEntry.objects.get().change_message.startswith("Saved revision word-count-demo-")
    reconciles.assert_called_once()


def test_an_invalid_spec_re_renders_the_form_with_every_problem(editor_client, example, reconciles):
    page = editor_client.get(_change_url(example))
    data = post_data(page)
    data[f"pods-{_pod_index(page, 'splitter-2')}-partitions"] = '[3, 4, "x"]'

    response = editor_client.post(_change_url(example), data)

    assert response.status_code == 200
    text = response.content.decode()
    assert "spec.statefulEntities[0].pods[2].partitions[0]: partition 3 is assigned to two pods" in text
    assert "spec.statefulEntities[0].pods[2].partitions[2]: must be a non-negative integer" in text
    assert Pod.objects.get(name="splitter-2").partitions == [4, 5]
    assert AuditEntry.objects.count() == 1


def test_a_row_level_error_is_shown_before_the_spec_is_checked(editor_client, example):
    page = editor_client.get(_change_url(example))
    data = post_data(page)
    data[f"pods-{_pod_index(page, 'splitter-2')}-partitions"] = "[3, 4"  # not JSON
    response = editor_client.post(_change_url(example), data)
    assert response.status_code == 200
    assert "Enter a valid JSON." in response.content.decode()


def test_a_form_based_on_an_older_version_saves_nothing(editor_client, example):
    page = editor_client.get(_change_url(example))
    data = {**post_data(page), "history_limit": 8, "based_on_version": 0}
    response = editor_client.post(_change_url(example), data, follow=True)
    assert "Not saved: deployment &#x27;word-count-demo&#x27; is at version 1" in response.content.decode()
    assert Deployment.objects.get().history_limit == 5


def test_a_new_deployment_with_an_entity_is_created_through_the_services(editor_client, db):
    page = editor_client.get("/admin/topology_editor/deployment/add/")
    data = {
        **post_data(page),
        "name": "fresh", "spec_version": "v1", "image_pull_policy": "IfNotPresent", "history_limit": 3,
        "image_pull_secrets": '["registry-login"]',
        "entities-TOTAL_FORMS": 1, "entities-0-position": 0, "entities-0-name": "echo",
        "entities-0-executor_image": "invoker/echo:1", "entities-0-io_image": "invoker/io-sidecar:0.1",
        "entities-0-state_image": "invoker/state-sidecar:0.1", "entities-0-io_address": "kafka:9092",
        "entities-0-input_topic": "in", "entities-0-output_topic": "out",
    }  # fmt: skip

    response = editor_client.post("/admin/topology_editor/deployment/add/", data)

    deployment = Deployment.objects.get(name="fresh")
    assert response.status_code == 302
    assert response["Location"] == "/admin/topology_editor/deployment/"
    spec = spec_from_rows(deployment)
    assert ([e.name for e in spec.entities], spec.image_pull_secrets) == (["echo"], ("registry-login",))
    assert deployment.revisions.get().number == 1
    assert LogEntry.objects.get().object_id == str(deployment.pk)


def test_an_invalid_new_deployment_is_not_created(editor_client, db):
    page = editor_client.get("/admin/topology_editor/deployment/add/")
    data = {**post_data(page), "name": "fresh", "history_limit": 0, "spec_version": "v1"}
    response = editor_client.post("/admin/topology_editor/deployment/add/", data)
    assert response.status_code == 200
    assert "spec.historyLimit: must be between 1 and 100, got 0" in response.content.decode()
    assert not Deployment.objects.exists()


def test_deleting_goes_through_the_services(
    editor_client, example, django_capture_on_commit_callbacks, reconciles
):
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(f"/admin/topology_editor/deployment/{example.pk}/delete/", {"post": "yes"})
    assert not Deployment.objects.exists()
    assert AuditEntry.objects.get(action="delete").interface == "admin"
    reconciles.assert_called_once()


def test_deleting_several_from_the_list_audits_each(editor_client, example):
    data = {"action": "delete_selected", "_selected_action": [example.pk], "post": "yes"}
    editor_client.post("/admin/topology_editor/deployment/", data)
    assert not Deployment.objects.exists()
    assert AuditEntry.objects.filter(action="delete", deployment_name=EXAMPLE_NAME).count() == 1


def test_viewers_see_the_form_but_cannot_save_it(client, personas, example):
    client.force_login(personas.viewer)
    page = client.get(_change_url(example))
    assert page.status_code == 200
    assert client.post(_change_url(example), {"history_limit": 9}).status_code == 403
    assert Deployment.objects.get().history_limit == 5
