"""/api/docs/: Swagger UI from the pinned drf-spectacular-sidecar package, served by the app itself
(no CDN: the page works offline and loads nothing it did not vet), with no inline script."""

import re

from django.test import Client


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_api_docs_load_only_files_of_this_server(db, client: Client, personas) -> None:
    client.force_login(personas.viewer)
    response = client.get("/api/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    references = _references(html)
    assert references, html
    for url in references:
        assert url.startswith("/"), f"{url} is not on this server"
        assert not url.startswith("//"), f"{url} is not on this server"
        assert client.get(url).status_code == 200, url
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in url for url in references)
    assert "<script>" not in html, "an inline script the CSP would refuse"
    assert "<style>" not in html, "an inline style the CSP would refuse"


def test_the_docs_start_up_script_names_no_other_site(db, client: Client, personas) -> None:
    client.force_login(personas.viewer)
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert not re.search(r"https?://", script.content.decode())
