"""Every page of one deployment carries the same links to the others (one template,
``pages/_deployment_nav.html``), marks the page shown, and links the logs only for those who may
read them. Before, each page listed its own subset: the topics page had no way to the revisions."""

import re

import pytest
from django.test import Client

from tests.topology.conftest import EXAMPLE_NAME

BASE = f"/deployments/{EXAMPLE_NAME}/"
PAGES = {
    "editor": BASE,
    "metrics": f"{BASE}metrics/",
    "topics": f"{BASE}topics/",
    "revisions": f"{BASE}revisions/",
    "audit": f"{BASE}audit/",
    "logs": f"{BASE}logs/",
}
LINKS = [("Editor", BASE), *((page.capitalize(), url) for page, url in list(PAGES.items())[1:])]
NAV = re.compile(r'<nav aria-label="Pages of [^"]*">(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]*)"( aria-current="page")?>([^<]*)</a>')


def nav_links(client: Client, url: str) -> list[tuple[str, str, bool]]:
    response = client.get(url)
    assert response.status_code == 200, url
    found = NAV.findall(response.content.decode())
    assert len(found) == 1, url
    return [(text, href, bool(current)) for href, current, text in LINK.findall(found[0])]


@pytest.mark.parametrize("page", PAGES)
def test_each_page_links_every_other_and_marks_itself(example, personas, page) -> None:
    client = Client()
    client.force_login(personas.editor)
    links = nav_links(client, PAGES[page])
    assert [(text, href) for text, href, _ in links] == LINKS
    assert [text for text, _, current in links if current] == [page.capitalize()]


def test_the_revision_pages_mark_revisions(example, personas) -> None:
    client = Client()
    client.force_login(personas.editor)
    links = nav_links(client, f"{BASE}revisions/diff/?to=current")
    assert [text for text, _, current in links if current] == ["Revisions"]


def test_a_viewer_is_not_shown_the_logs_link(example, personas) -> None:
    client = Client()
    client.force_login(personas.viewer)
    texts = [text for text, _, _ in nav_links(client, PAGES["metrics"])]
    assert texts == ["Editor", "Metrics", "Topics", "Revisions", "Audit"]
