"""Takes the README's screenshots from the live word-count sample (``./dev screenshots``).

The pictures must show what a user of ``./dev up`` sees, not a test's synthetic payloads, so this
signs in to the running dashboard as a throwaway administrator (created here, deleted at the end)
and photographs each page once its live data has arrived.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
SAMPLE = "word-count-demo"
USER = "readme-screenshots"
#: Page, file, and what shows that the page has its data (besides the websocket being open).
PAGES = (
    ("/", "deployments.png", f'#deployments tr[data-name="{SAMPLE}"]'),
    (f"/deployments/{SAMPLE}/", "editor.png", ".entity"),
    (f"/deployments/{SAMPLE}/metrics/", "metrics.png", ".js-plotly-plot"),
    (f"/deployments/{SAMPLE}/revisions/", "revisions.png", "table"),
    (f"/deployments/{SAMPLE}/topics/", "topics.png", "table"),
)
#: Seconds of live data drawn before the picture (the collector runs every 2 s).
SETTLE_MS = 6000


@contextmanager
def throwaway_admin() -> Iterator[str]:
    """A superuser for the length of the run; its password is never printed or kept."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invoker_web.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    users = get_user_model()
    password = secrets.token_urlsafe(16)
    users.objects.filter(username=USER).delete()
    users.objects.create_superuser(username=USER, email="", password=password)
    try:
        yield password
    finally:
        users.objects.filter(username=USER).delete()


def main() -> int:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{os.environ.get('INVOKER_PORT', '8000')}"
    OUT.mkdir(parents=True, exist_ok=True)
    with throwaway_admin() as password, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("INVOKER_CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", password)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(f"{base}/")
        failed = []
        for path, name, ready in PAGES:
            response = page.goto(f"{base}{path}")
            if response is None or response.status != 200:
                failed.append(f"{path}: HTTP {response.status if response else 'no answer'}")
                continue
            page.wait_for_selector(ready, timeout=30_000)
            page.wait_for_timeout(SETTLE_MS)
            page.screenshot(path=str(OUT / name), full_page=True)
            print(f"{OUT / name}")
        browser.close()
    for failure in failed:
        print(f"not taken: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
