"""/docs and /redoc load every script, style and icon from the service itself: they work air-gapped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cxloop.services import SERVICES
from tests.conftest import TEST_SETTINGS, client_for

OFFLINE = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"  # the docs never touch the database


class AssetLinks(HTMLParser):
    """Collects every src= and href= of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]


def assets(page: str) -> list[str]:
    parser = AssetLinks()
    parser.feed(page)
    # Swagger UI is given the document's and the OAuth redirect's URLs in its inline script
    parser.urls += re.findall(r"""(?:url|oauth2RedirectUrl)['"]?:\s*['"]([^'"]+)['"]""", page)
    return parser.urls


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_names_only_assets_the_service_serves(service: str, page: str) -> None:
    spec = SERVICES[service]
    app = spec.build(type(spec.settings())(**TEST_SETTINGS, database_url=OFFLINE))
    async with client_for(app, "svc") as client:
        html = await client.get(page)
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert not re.search(r"https?://", html.text), "the page names an external URL"
        urls = set(assets(html.text))
        assert "/openapi.json" in urls
        assert any(u.endswith(".js") for u in urls)
        for url in urls:
            assert url.startswith("/"), url
            answer = await client.get(url)
            assert answer.status_code == 200, url
            assert len(answer.content) > 1000 or url.endswith("oauth2-redirect"), url
        if page == "/docs":
            assert {"/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"} <= urls
            css = await client.get("/docs-assets/swagger-ui.css")
            assert css.headers["content-type"].startswith("text/css")
        else:
            assert "/docs-assets/redoc.standalone.js" in urls
    await app.state.db.dispose()
