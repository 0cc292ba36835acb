"""The built site in a real browser: every page, offline, in headless Chromium.

Run after ``make book`` (``make site-test`` does both in order). The site is served
from ``_build/html`` on localhost; every request to another host is refused, so a
page that needs the network (a CDN, a font service) fails here.
"""

import functools
import http.server
import importlib
import json
import pkgutil
import threading
import types
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import playwright.sync_api as playwright
import pytest

import coursepkg

pytestmark = pytest.mark.integration

SITE = Path("_build/html")
ARTIFACTS = Path("_build/test-artifacts")
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every page but index.html, which only redirects to the intro (tested on its own).
PAGES = sorted(
    str(path.relative_to(SITE))
    for path in SITE.rglob("*.html")
    if not path.relative_to(SITE).parts[0].startswith(("_", ".")) and path.name != "index.html"
)
CHAPTERS = [page for page in PAGES if page.startswith("notebooks/")]

# Text of math that MathJax did not typeset, outside code.
_RAW_MATH = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, code, script, style, mjx-container, .MathJax")) continue;
    const text = node.textContent;
    const raw_tex = ["$$", "\\\\[", "\\\\begin{"].some((mark) => text.includes(mark));
    if (raw_tex) raw.push(text.trim().slice(0, 80));
  }
  return raw;
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail("no built site in _build/html: run `make book` first (make site-test does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page that records console errors and refuses every non-local request."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors, page.failed = [], []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))

    def local_only(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            page.failed.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.on(
        "response",
        lambda response: response.status >= 400 and page.failed.append(response.url),
    )
    yield page
    context.close()


def _open(page, server, path):
    """Load a page and wait until MathJax, if the page uses it, has typeset it."""
    page.goto(urljoin(server, path), wait_until="load")
    try:
        page.wait_for_function(
            "() => !window.MathJax || window.MathJax.startup !== undefined", timeout=15_000
        )
    except playwright.TimeoutError:
        page.errors.append("MathJax did not load")
        return
    page.evaluate("() => window.MathJax && window.MathJax.startup.promise")


def test_the_site_has_every_chapter():
    assert len(CHAPTERS) == len(list(Path("notebooks").glob("[0-9][0-9]_*.md"))) > 0


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_with_its_images_links_and_math(page, server, path):
    _open(page, server, path)
    assert page.errors == [], f"console errors: {page.errors}"
    assert page.failed == [], f"failed or refused requests: {page.failed}"
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == [], f"images that did not load: {broken}"
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    for href in hrefs:
        url = urlparse(href)
        if url.hostname != "127.0.0.1" or url.path.endswith("/search.html"):
            continue
        target = SITE / unquote(url.path).lstrip("/")
        if target.is_dir():
            target /= "index.html"
        assert target.is_file(), f"{path}: the link {href} leads nowhere"
    assert page.evaluate(_RAW_MATH) == [], "math left untypeset"


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_has_figures_objectives_and_exercises(page, server, path):
    _open(page, server, path)
    assert page.locator("img").count() >= 1, "a chapter without figures"
    assert page.locator(".admonition.tip").first.inner_text().strip(), "no objectives box"
    assert "Run time" in page.locator(".admonition.tip").first.inner_text()
    assert page.locator(".exercise").count() >= 3, "exercise blocks did not render"
    assert page.locator(".solution").count() >= 3, "solution blocks did not render"
    assert page.locator("mjx-container").count() >= 1, "no typeset math"
    assert page.locator('a[href^="../book/references.html#"]').count() >= 1, "no citation"
    notebook = page.locator('a[href$=".ipynb"]')
    assert notebook.count() == 1, "no download of the chapter as a notebook"
    assert (SITE / Path(path).parent / notebook.get_attribute("href")).is_file()


def test_chapters_are_numbered_and_linked_in_reading_order(page, server):
    for number, path in enumerate(CHAPTERS, start=1):
        _open(page, server, path)
        assert page.locator("h1 .section-number").first.inner_text().strip() == f"{number}."
        previous = page.locator("a.left-prev").get_attribute("href")
        following = page.locator("a.right-next").get_attribute("href")
        if number > 1:
            assert previous == Path(CHAPTERS[number - 2]).name
        if number < len(CHAPTERS):
            assert following == Path(CHAPTERS[number]).name
        assert page.locator(".dropdown-launch-buttons, [aria-label*='Launch']").count() == 0, (
            "a launch button without a repository to launch from"
        )


# Each documented object of the API page: its id and the links of its "Taught in" line.
_API_ENTRIES = """() => Object.fromEntries(
  [...document.querySelectorAll("dl.py > dt[id]")].map((dt) => {
  const line = [...dt.nextElementSibling.children].find(
    (child) => child.tagName === "P" && child.textContent.startsWith("Taught in:"));
  return [dt.id, line ? [...line.querySelectorAll("a")].map((a) => a.getAttribute("href")) : []];
}))"""


def _public_names():
    """``module.name`` of every name in the ``__all__`` of coursepkg's modules."""
    names = set()
    for info in pkgutil.walk_packages(coursepkg.__path__, "coursepkg."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            defined_here = getattr(value, "__module__", None) == info.name
            if defined_here or not (callable(value) or isinstance(value, types.ModuleType)):
                names.add(f"{info.name}.{name}")  # not a re-export, nor a submodule
    return names


def test_the_api_reference_documents_every_public_name_with_the_pages_teaching_it(page, server):
    _open(page, server, "book/api.html")
    entries = page.evaluate(_API_ENTRIES)
    public = _public_names()
    assert len(public) > 100
    assert not public - set(entries), f"undocumented: {sorted(public - set(entries))}"
    for name in public:
        links = entries[name]
        assert links, f"{name} links to no page that teaches it"
        for link in links:
            target = (SITE / "book" / link.split("#")[0]).resolve()
            assert target.is_file() and target.parent.name in ("notebooks", "book"), link
    assert public == {name for name, links in entries.items() if links}


def test_the_status_page_times_every_chapter_and_states_the_budgets(page, server):
    _open(page, server, "book/status.html")
    rows = page.locator("table").first.locator("tbody tr")  # myst-nb's execution table
    assert rows.count() == len(CHAPTERS)
    for number, path in enumerate(CHAPTERS):
        cells = rows.nth(number).locator("td")
        assert cells.nth(0).locator("a").get_attribute("href").endswith(Path(path).name)
        assert float(cells.nth(3).inner_text()) > 0  # Run Time (s)
        assert cells.nth(4).inner_text() == "✅"
    text = page.locator("main").inner_text()
    budgets = json.loads(Path("benchmarks/budgets.json").read_text(encoding="utf-8"))
    for key, value in budgets.items():
        if key.endswith("_s"):
            assert f"{value} s" in text, f"the page does not state {key} of budgets.json"
    assert f"{budgets['fit_ratio']} times" in text


def test_the_home_page_redirects_to_the_intro(page, server):
    page.goto(server, wait_until="load")
    page.wait_for_url("**/book/intro.html", timeout=10_000)
    assert page.title().startswith("Regularization in Neural Networks")


def test_search_finds_the_dropout_chapter(page, server):
    _open(page, server, "search.html?q=dropout")
    results = page.locator("#search-results li a")
    results.first.wait_for(timeout=20_000)
    links = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("03_dropout" in link for link in links), links


def test_screenshots_of_the_intro_and_a_chapter(page, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path, name in (("book/intro.html", "intro.png"), (CHAPTERS[0], "chapter.png")):
        _open(page, server, path)
        page.screenshot(path=str(ARTIFACTS / name), full_page=False)
        assert (ARTIFACTS / name).stat().st_size > 10_000
