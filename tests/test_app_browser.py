"""The real app in headless Chromium: generate and play a video, click a patch in the Attention tab, run a probe,
play a game (place a ball by clicking, play, kick it)."""

import os
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python package) is not installed")

from tiny import build_tiny_model_dir, serve  # noqa: E402

from playground.ui.screenshots import RED_CENTROID, click_at, roll_a_ball, set_slider  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module (the sync API allows one Playwright per thread)."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory, text_encoder):
    demo, url, _ = serve(build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model-browser"), text_encoder))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(45_000)
    page.goto(url)
    page.get_by_role("tab", name="Generate").click()  # the app opens on Play; most tests start on Generate
    yield page
    page.close()
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


def test_enter_in_the_prompt_box_generates_and_shows_what_enrichment_added(page):
    page.get_by_role("tab", name="Generate").click()
    old = page.locator("#gen-video video").get_attribute("src")
    page.locator("#gen-prompt textarea").fill("a red ball rolls to the left")
    page.locator("#gen-prompt textarea").press("Enter")
    new_video(page, old)
    assert page.locator("#gen-prompt textarea").input_value() == "a red ball rolls to the left"  # no newline
    spans = page.locator("#gen-spans").inner_text()
    assert "added by enrichment" in spans and "checkered" in spans
    assert "behind" not in page.locator("#gen-enriched textarea").input_value()


def test_an_untrained_size_is_labelled(page):
    page.get_by_role("tab", name="Generate").click()
    note = page.locator("#gen-size-note")
    assert "trained" in note.inner_text() and "Untrained" not in note.inner_text()
    page.locator("#gen-resolution input").fill("48x48")
    page.locator("#gen-resolution input").press("Enter")
    page.wait_for_function("document.querySelector('#gen-size-note').innerText.includes('Untrained')")
    assert "48x48 was never trained" in note.inner_text()
    page.locator("#gen-resolution input").fill("32x32")
    page.locator("#gen-resolution input").press("Enter")
    page.wait_for_function("!document.querySelector('#gen-size-note').innerText.includes('Untrained')")


def new_video(page, before):
    """Wait for the Generate tab's video to be one other than `before` (a finished run)."""
    page.wait_for_function("b => { const v = document.querySelector('#gen-video video'); "
                           "return v && v.getAttribute('src') && v.getAttribute('src') !== b; }", arg=before)
    return page.locator("#gen-video video").get_attribute("src")


def test_an_error_leaves_the_previous_video_in_place_and_is_shown_beside_its_button(page):
    page.get_by_role("tab", name="Generate").click()
    old = page.locator("#gen-video video").get_attribute("src") if page.locator("#gen-video video").count() else None
    page.locator("#gen-button").click()
    src = new_video(page, old)
    page.locator("#gen-resolution input").fill("33x32")
    page.locator("#gen-resolution input").press("Enter")
    page.locator("#gen-button").click()
    page.wait_for_function("document.querySelector('#gen-status').innerText.includes('Error')")
    assert "multiples of 4" in page.locator("#gen-status").inner_text()
    assert page.locator("#gen-video video").get_attribute("src") == src
    assert page.locator("#gen-video").get_by_text("Error", exact=True).count() == 0  # no error badge over it
    page.locator("#gen-resolution input").fill("32x32")
    page.locator("#gen-resolution input").press("Enter")


def test_branch_shows_whole_strips_and_a_new_scene_clears_them(page):
    page.get_by_role("tab", name="World Sim").click()
    page.locator("#ws-branch").click()
    page.wait_for_selector("#ws-futures img")
    page.wait_for_function("document.querySelector('#ws-futures img').complete")
    fit = page.evaluate("""() => {
        const img = document.querySelector('#ws-futures img');
        const r = img.getBoundingClientRect();
        return {fit: getComputedStyle(img).objectFit, shown: r.width / r.height,
                natural: img.naturalWidth / img.naturalHeight, w: r.width};
    }""")
    assert fit["fit"] != "cover" and abs(fit["shown"] / fit["natural"] - 1) < 0.03  # nothing cropped
    assert fit["w"] > 600  # a whole strip per row, wide enough to see its frames
    assert "futures" in page.locator("#ws-branch-status").inner_text()
    page.get_by_role("button", name="Draw a random scene").click()
    page.wait_for_function("document.querySelector('#ws-branch-status').innerText.includes('cleared')")
    assert page.locator("#ws-futures img").count() == 0
    assert "cleared" not in page.locator("#ws-ext-status").inner_text()  # Extend had nothing to clear


def test_a_game_set_up_by_clicks_plays_and_takes_a_kick(page):
    page.get_by_role("tab", name="Play").click()
    roll_a_ball(page, (0.45, 0.75), (0.85, 0.75))  # a red ball placed on the floor and aimed by two clicks
    page.locator("#play-start").click()
    page.wait_for_function("document.querySelector('#play-status').innerText.includes('Started')")
    page.locator("#play-play").click()
    page.wait_for_function("document.querySelector('#play-status').innerText.includes('(done)')")
    page.wait_for_selector("#play-video video[src]")
    page.wait_for_function("document.querySelector('#play-truth img') && document.querySelector('#play-truth img').complete")
    ball = page.evaluate(RED_CENTROID, ["#play-truth img", 0, 1])
    assert ball is not None and ball["n"] > 4  # the truth still shows the red ball
    before = page.locator("#play-truth img").get_attribute("src")
    page.get_by_role("radio", name="kick").check()
    click_at(page, "#play-truth img", ball["x"], ball["y"])
    page.wait_for_function("document.querySelector('#play-status').innerText.includes('kicked ball 0 (red)')")
    page.locator("#play-step").click()
    page.wait_for_function("b => document.querySelector('#play-truth img').getAttribute('src') !== b", arg=before)
    page.wait_for_function("document.querySelector('#play-scores').innerText.includes('kick_response')")


SHIPPED = Path(__file__).resolve().parent.parent / "models" / "worldsim-s"


@pytest.fixture(scope="module")
def shipped_page(browser):
    demo, url, _ = serve(str(SHIPPED))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(90_000)
    page.goto(url)
    yield page
    page.close()
    demo.close()


def _live_balls(page):
    """The red ball in the model's and the truth's last frame of the live view (model | truth, 8 px gap), in px of
    the 8x view."""
    page.wait_for_function("document.querySelector('#play-live img') && document.querySelector('#play-live img').complete")
    w, h = page.evaluate("s => [document.querySelector(s).naturalWidth, document.querySelector(s).naturalHeight]",
                         "#play-live img")
    half = (w - 8) / 2 / w
    out = []
    for lo, hi in ((0, half), (1 - half, 1)):
        c = page.evaluate(RED_CENTROID, ["#play-live img", lo, hi])
        out.append(None if c is None else np.array([c["x"] * w - lo * w, c["y"] * h]))
    return out


def _turn(a, b) -> float:
    """Degrees between two image directions."""
    cos = float(np.dot(a, b)) / max(1e-9, float(np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


def test_the_shipped_model_turns_a_kicked_ball_as_the_truth_does(shipped_page):
    """A ball placed and aimed by clicks rolls right for 8 frames; kicked away from the camera, the truth's ball
    turns over the next 4, and so does the model's, the truth's way - both read from the streamed live view."""
    page = shipped_page
    roll_a_ball(page, (0.35, 0.72), (0.6, 0.72), speed=0.5)  # slow enough that no wall turns the truth's ball
    page.locator("#play-start").click()
    page.wait_for_function("document.querySelector('#play-status').innerText.includes('Started')")
    start = _live_balls(page)
    page.locator("#play-play").click()
    page.wait_for_function("document.querySelector('#play-status').innerText.includes('(done)')")
    before = _live_balls(page)
    set_slider(page, "#play-kick-angle", 90)  # away from the camera
    set_slider(page, "#play-chunks", 4)
    page.get_by_role("radio", name="kick").check()
    ball = page.evaluate(RED_CENTROID, ["#play-truth img", 0, 1])
    click_at(page, "#play-truth img", ball["x"], ball["y"])
    page.wait_for_function("document.querySelector('#play-status').innerText.includes('kicked ball 0 (red)')")
    played = page.locator("#play-status").inner_text()
    page.locator("#play-play").click()
    page.wait_for_function("p => document.querySelector('#play-status').innerText.includes('(done)') && "
                           "document.querySelector('#play-status').innerText !== p", arg=played)
    after = _live_balls(page)
    (m0, t0), (m1, t1), (m2, t2) = start, before, after
    assert t0 is not None and t1 is not None and t2 is not None
    assert _turn(t1 - t0, np.array([1.0, 0.0])) < 20  # the truth rolled right ...
    assert _turn(t2 - t1, t1 - t0) > 30  # ... and the kick turned it
    assert m0 is not None and m1 is not None and _turn(m1 - m0, t1 - t0) < 30  # the model rolled the same way ...
    turned = m2 is not None and _turn(m2 - m1, m1 - m0) > 20 and _turn(m2 - m1, t2 - t1) < 45
    if not turned:  # ... and turns the truth's way: the goal, not yet reached (then this test simply passes)
        pytest.xfail("the shipped model answers kicks only roughly (python runs/worldsim-v2/kick_check.py counts how "
                     "often its ball turns the truth's way); here: "
                     + ("its ball was lost" if m2 is None else f"it turned {_turn(m2 - m1, m1 - m0):.0f} degrees"))
