"""The HTML viewer in a real headless Chromium: loads cleanly, colours follow the chosen unit."""
import re

import numpy as np
import pytest

from rnnkit.inspect.viewer import page_data, render

from chromium import Browser, install

TEXT = 'He said "no".\nShe said "yes",\nand left.\n'
SPANS = "Array.from(document.querySelectorAll('#text span'), s => getComputedStyle(s).backgroundColor)"


@pytest.fixture(scope="session")
def browser():
    reason = install()
    if reason:
        pytest.skip(reason)
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    rng = np.random.default_rng(0)
    T = len(TEXT)
    layers = {f"l{k}": {"h": np.tanh(rng.normal(size=(T, 5))), "c": 3 * rng.normal(size=(T, 5))} for k in range(2)}
    path = tmp_path_factory.mktemp("viewer") / "viewer.html"
    path.write_text(render("test page", page_data(TEXT, layers, top=3)), encoding="utf-8")
    return path, layers


def expected_colours(values: np.ndarray) -> list[tuple[str, float]]:
    """(hue, alpha) each character should have: red above 0, blue below, alpha |v| / scale."""
    scale = max(1.0, np.abs(values).max())
    q = np.round(values / scale * 127) / 127
    return [("red" if v >= 0 else "blue", abs(v)) for v in q]


def seen_colours(browser: Browser) -> list[tuple[str, float]]:
    out = []
    for css in browser.evaluate(SPANS):
        r, _, b, *a = map(float, re.findall(r"[\d.]+", css))
        out.append(("red" if r > b else "blue", a[0] if a else 1.0))
    return out


def assert_showing(browser: Browser, values: np.ndarray) -> None:
    seen, expected = seen_colours(browser), expected_colours(values)
    assert len(seen) == len(TEXT)
    for (hue, alpha), (want_hue, want_alpha) in zip(seen, expected):
        assert alpha == pytest.approx(want_alpha, abs=0.01)
        assert hue == want_hue or want_alpha < 0.01


def test_page_loads_without_errors_or_requests_and_colours_unit_0(browser, page):
    path, layers = page
    browser.open(path)
    assert browser.problems() == []
    assert browser.evaluate("document.querySelector('#text').textContent") == TEXT.replace("\n", "\u21b5\n")
    assert_showing(browser, layers["l0"]["h"][:, 0])


def test_choosing_another_unit_state_and_layer_recolours(browser, page, tmp_path):
    path, layers = page
    browser.open(path)
    before = browser.evaluate(SPANS)
    browser.click("#next")
    assert browser.evaluate("document.querySelector('#unit').value") == "1"
    assert browser.evaluate(SPANS) != before
    assert_showing(browser, layers["l0"]["h"][:, 1])
    browser.evaluate("const s = document.querySelector('#state'); s.value = 'c'; s.dispatchEvent(new Event('change'))")
    assert_showing(browser, layers["l0"]["c"][:, 1])
    browser.evaluate("const l = document.querySelector('#layer'); l.value = 'l1'; l.dispatchEvent(new Event('change'))")
    assert browser.evaluate("document.querySelector('#state').value") == "c"  # the state is kept
    assert_showing(browser, layers["l1"]["c"][:, 1])
    browser.click("#units button")  # the unit most correlated with the first feature
    unit = int(browser.evaluate("document.querySelector('#unit').value"))
    assert browser.evaluate("document.querySelector('#units button').textContent").startswith(f"{unit} ")
    assert_showing(browser, layers["l1"]["c"][:, unit])
    assert browser.problems() == []
    browser.screenshot(tmp_path / "viewer.png")
    assert (tmp_path / "viewer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "viewer.png").stat().st_size > 10_000


def test_the_checks_see_errors_and_requests(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<link rel="icon" href="data:,"><img src="http://127.0.0.1:9/x.png">'
                   '<script>console.error("boom"); missing();</script>')
    browser.open(bad)
    found = browser.problems()
    assert any("console.error" in p and "boom" in p for p in found)
    assert any(p.startswith("exception:") and "missing" in p for p in found)
    assert any(p == "request: http://127.0.0.1:9/x.png" for p in found)


def test_a_link_names_the_layer_state_and_unit(browser, page):
    path, layers = page
    browser.open(path, "layer=l1&state=c&unit=3")
    assert [browser.evaluate(f"document.querySelector('#{k}').value") for k in ("layer", "state", "unit")] == ["l1", "c", "3"]
    assert_showing(browser, layers["l1"]["c"][:, 3])
    browser.open(path, "layer=l9&state=q&unit=99")  # what does not exist falls back to what does
    assert [browser.evaluate(f"document.querySelector('#{k}').value") for k in ("layer", "state", "unit")] == ["l0", "h", "4"]
    assert browser.problems() == []
