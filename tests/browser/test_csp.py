"""The Content-Security-Policy in a real Chromium: the pages load, draw and stream under it with
no violation, and nothing is fetched from anywhere but the server itself (no CDN)."""

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, publish
from tests.browser.payloads import payload

#: Records every violation the page reports, from before its first script runs.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


class Watched:
    """A page with its CSP violations, console errors and the origins it requested."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        self.origins: set[str] = set()
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: self.origins.add("{0.scheme}://{0.netloc}".format(urlsplit(r.url))))

    def check(self, server: Server) -> None:
        violations = self.page.evaluate("window.cspViolations")
        assert violations == [], violations
        assert not [text for text in self.console if "Content Security Policy" in text], self.console
        assert self.origins <= {server.url, server.url.replace("http", "ws", 1)}, self.origins


@pytest.fixture
def watched(login) -> Callable[[str], Watched]:
    def open_as(persona: str) -> Watched:
        page = login(persona)
        return Watched(page)

    return open_as


def test_the_editor_works_under_the_policy(watched, example, server: Server) -> None:
    example("csp-editor")
    view = watched("editor")
    page = view.page
    page.goto(f"{server.url}/deployments/csp-editor/")
    entity = page.locator('.entity[data-name="splitter"]')
    expect(entity).to_be_visible()
    entity.click()  # the side panel
    expect(page.locator("#panel h2")).to_have_text("Entity")
    page.click("#tab-yaml")
    expect(page.locator("#yaml")).to_have_value(re.compile("statefulEntities"))
    page.click("#tab-graph")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")  # the websocket is allowed
    view.check(server)
    # No inline code; the one inline element is the spec's field list, a JSON data block that
    # the browser never runs (json_script), which the editor parses.
    inline = "script:not([src]):not([type='application/json'])"
    assert page.evaluate(f'() => document.querySelectorAll("{inline}").length') == 0
    fields = page.evaluate("() => JSON.parse(document.getElementById('spec-fields').textContent)")
    assert fields["entity"]


def test_the_metrics_page_draws_and_streams_under_the_policy(watched, example, server: Server) -> None:
    example("csp-metrics")
    view = watched("viewer")
    page = view.page
    page.goto(f"{server.url}/deployments/csp-metrics/metrics/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    for tick in range(1, 30):
        publish(payload("csp-metrics", tick))
        if page.evaluate("window.invokerMetrics.received.count") >= 3:
            break
        page.wait_for_timeout(200)
    assert page.evaluate("window.invokerMetrics.received.count") >= 3
    expect(page.locator("#chart-records .main-svg").first).to_be_visible()  # Plotly drew
    page.locator("#chart-records .main-svg").first.hover()  # its hover layer and mode bar
    rules = page.evaluate("document.getElementById('plotly.js-style-global').sheet.cssRules.length")
    assert rules > 20, "Plotly's own rules (mode bar, hover labels) are missing"
    view.check(server)


def test_the_list_login_and_api_docs_pages_work_under_the_policy(watched, example, server: Server) -> None:
    example("csp-listed")
    view = watched("owner")
    page = view.page
    page.goto(f"{server.url}/")
    expect(page.locator('#deployments tr[data-name="csp-listed"]')).to_be_visible()
    page.goto(f"{server.url}/api/docs/")
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("Invoker API")  # Swagger UI ran
    page.goto(f"{server.url}/admin/topology_editor/deployment/")
    expect(page.locator("#result_list")).to_be_visible()
    page.goto(f"{server.url}/api/deployments/")  # the browsable API
    expect(page.locator(".response-info")).to_contain_text("csp-listed")
    view.check(server)


def test_the_sign_in_pages_work_under_the_policy(browser, server: Server) -> None:
    context = browser.new_context()
    try:
        view = Watched(context.new_page())
        for path in ("/accounts/login/", "/admin/login/", "/api/auth/login/"):
            view.page.goto(f"{server.url}{path}")
            expect(view.page.locator("input[name=password]")).to_be_visible()
        view.page.fill("input[name=username]", "viewer")
        view.page.fill("input[name=password]", "viewer-password")
        view.page.click("[type=submit]")  # form-action 'self': the form may post
        view.page.wait_for_load_state()
        view.check(server)
    finally:
        context.close()
