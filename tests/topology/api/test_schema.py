"""/api/schema/ and /api/docs/: the OpenAPI description, for signed-in users."""

import yaml
from django.test import Client


def test_the_schema_describes_every_route_and_the_error_shape(api, db):
    response = api("outsider").get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert "/api/deployments/{name}/entities/{entity}/rebalance/" in paths
    assert "/api/deployments/{name}/revisions/diff/" in paths
    move = paths["/api/deployments/{name}/move/"]["post"]
    assert {"400", "401", "403", "404", "412", "default"} <= set(move["responses"])
    assert move["responses"]["412"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "413" in paths["/api/deployments/import/"]["post"]["responses"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_docs_page_renders_for_signed_in_users(db, personas):
    client = Client()
    client.force_login(personas.outsider)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_browsable_api_renders_for_a_browser(db, personas, example):
    client = Client()
    client.force_login(personas.viewer)
    response = client.get("/api/deployments/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"word-count-demo" in response.content
