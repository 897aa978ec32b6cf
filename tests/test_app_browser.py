"""The real app in headless Chromium: generate and play a video, click a patch in the Attention tab, run a probe."""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python package) is not installed")

from test_app_api import build_tiny_model_dir, serve  # noqa: E402


@pytest.fixture(scope="module")
def page(tmp_path_factory, text_encoder):
    demo, url, _ = serve(build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model-browser"), text_encoder))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(45_000)
        page.goto(url)
        yield page
        browser.close()
    demo.close()


def test_generate_plays_a_video(page):
    page.locator("#gen-prompt textarea").fill("a red ball rolls")
    page.locator("#gen-button").click()
    page.wait_for_selector("#gen-video video[src]")
    page.wait_for_function("document.querySelector('#gen-video video').readyState >= 2")
    played = page.evaluate("""async () => {
        const v = document.querySelector('#gen-video video');
        v.muted = true;
        const t0 = v.currentTime;
        await v.play();
        await new Promise(r => setTimeout(r, 600));
        return {ok: true, advanced: v.currentTime > t0, ready: v.readyState};
    }""")
    assert played["ok"] and played["advanced"] and played["ready"] >= 2
    assert "ball" in page.locator("#gen-enriched textarea").input_value()


def test_clicking_a_patch_updates_the_attention_view(page):
    page.get_by_role("tab", name="Attention").click()
    page.wait_for_selector("#attn-main img")
    before = page.locator("#attn-info").inner_text()
    img = page.locator("#attn-main img")
    box = img.bounding_box()
    img.click(position={"x": box["width"] * 0.37, "y": box["height"] * 0.3})
    page.wait_for_function("b => document.querySelector('#attn-info').innerText !== b", arg=before)
    assert "query_token" in page.locator("#attn-info").inner_text()
    assert "softmax" in page.locator("#attn-arithmetic").inner_text()


def test_running_a_probe_shows_its_table(page):
    page.get_by_role("tab", name="Probes").click()
    page.locator("#probe-button").click()
    page.wait_for_function("document.querySelector('#probe-table') && "
                           "document.querySelector('#probe-table').innerText.includes('vel_err')")
    text = page.locator("#probe-table").inner_text()
    assert "inertia" in text and "const_velocity" in text
