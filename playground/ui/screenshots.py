"""Screenshots of every tab of the real app (a game played on the Play tab, then a generated clip):
`python -m playground.ui.screenshots --model models/worldsim-s --out assets/screenshots`.
Needs Debian's /usr/bin/chromium and the playwright python package."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from ..paths import DEFAULT_MODEL_DIR, SCREENSHOTS_DIR

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


# page.evaluate(RED_CENTROID, [selector, lo, hi]): the centroid of the red pixels between the fractions lo and hi of
# an image's width, in its own pixels (fractions of its width and height); null without any
RED_CENTROID = """([sel, lo, hi]) => {
    const img = document.querySelector(sel);
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0, sx = 0, sy = 0;
    for (let i = 0; i < d.length; i += 4) {
        const p = i / 4, x = p % c.width;
        if (x < lo * c.width || x >= hi * c.width) continue;
        if (d[i] > 150 && d[i + 1] < 90 && d[i + 2] < 90) { n++; sx += x; sy += Math.floor(p / c.width); }
    }
    return n ? {x: sx / n / c.width, y: sy / n / c.height, n: n} : null;
}"""


def click_at(page, sel: str, fx: float, fy: float) -> None:
    """Click the point (fx, fy) of the image's own pixels (fractions), wherever object-fit puts them in the box."""
    img = page.locator(sel)
    box = img.bounding_box()
    nw, nh = page.evaluate("s => [document.querySelector(s).naturalWidth, document.querySelector(s).naturalHeight]",
                           sel)
    k = min(box["width"] / nw, box["height"] / nh)
    ox, oy = (box["width"] - nw * k) / 2, (box["height"] - nh * k) / 2
    img.click(position={"x": ox + nw * k * fx, "y": oy + nh * k * fy})


def set_slider(page, slider: str, value) -> None:
    """Type a value into a gradio Slider's number box (its elem_id's selector)."""
    page.locator(f"{slider} input[type=number]").fill(str(value))
    page.locator(f"{slider} input[type=number]").press("Enter")


def roll_a_ball(page, at: tuple[float, float], to: tuple[float, float], speed: float | None = None) -> None:
    """On the Play tab: an empty floor, a red ball placed by a click at `at` and aimed by a click at `to`
    (fractions of the editor image), at `speed` (the slider's value when None)."""
    page.locator("#play-new-scene").wait_for()
    page.get_by_label("Start from").click()
    page.get_by_role("option", name="empty floor").click()
    page.locator("#play-new-scene").click()
    page.wait_for_function("document.querySelector('#play-edit-status').innerText.includes('0 balls')")
    click_at(page, "#play-editor img", *at)
    page.wait_for_function("document.querySelector('#play-edit-status').innerText.includes('Placed a red ball')")
    if speed is not None:
        set_slider(page, "#play-speed", speed)
    page.get_by_role("radio", name="aim the last ball").check()
    click_at(page, "#play-editor img", *to)
    page.wait_for_function("document.querySelector('#play-edit-status').innerText.includes('rolls at')")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--out", default=str(SCREENSHOTS_DIR))
    ap.add_argument("--prompt", default="a red ball rolls to the left")
    args = ap.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from playwright.sync_api import sync_playwright

    from .app import build_demo, launch_kwargs
    from .session import AppContext

    ctx = AppContext.load(args.model)
    demo = build_demo(ctx)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                allowed_paths=[str(ctx.out_dir)], **launch_kwargs())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(120_000)
        page.goto(f"http://127.0.0.1:{port}/")
        # Play (the first tab): a ball placed and aimed by two clicks, played, kicked, played on
        roll_a_ball(page, (0.35, 0.72), (0.6, 0.72), speed=0.5)
        page.locator("#play-start").click()
        page.wait_for_function("document.querySelector('#play-status').innerText.includes('Started')")
        page.locator("#play-play").click()
        page.wait_for_function("document.querySelector('#play-status').innerText.includes('(done)')")
        page.wait_for_function("document.querySelector('#play-truth img') && "
                               "document.querySelector('#play-truth img').complete")
        ball = page.evaluate(RED_CENTROID, ["#play-truth img", 0, 1])
        if ball is not None:  # kick it away from the camera, then play on
            set_slider(page, "#play-kick-angle", 90)
            page.get_by_role("radio", name="kick").check()
            click_at(page, "#play-truth img", ball["x"], ball["y"])
            page.wait_for_function("document.querySelector('#play-status').innerText.includes('kicked ball 0')")
            page.locator("#play-play").click()
            page.wait_for_function("document.querySelector('#play-status').innerText.includes('(done)')")
        page.wait_for_selector("#play-video video[src]")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "play.png"), full_page=True)

        # Generate from text alone: the enriched prompt shows what enrichment added to the user's words.
        page.get_by_role("tab", name="Generate").click()
        page.locator("#gen-prompt textarea").fill(args.prompt)
        page.locator("#gen-prompt textarea").press("Enter")  # Enter generates
        page.wait_for_selector("#gen-video video[src]")
        page.wait_for_function("document.querySelector('#gen-status').innerText.includes('Done')")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "generate.png"), full_page=True)

        page.get_by_role("tab", name="World Sim").click()
        page.locator("#ws-run").click()
        page.wait_for_selector("#ws-video video[src]")
        page.locator("#ws-branch").click()  # whole strips of three futures, one row per seed
        page.wait_for_selector("#ws-futures img")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "worldsim.png"), full_page=True)

        page.get_by_role("tab", name="Patches").click()
        page.wait_for_selector("#patch-grid img")
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "patches.png"), full_page=True)

        # the World Sim run is now the session's result; attention and latents show it
        page.get_by_role("tab", name="Attention").click()
        page.wait_for_selector("#attn-main img")
        img = page.locator("#attn-main img")
        box = img.bounding_box()
        before = page.locator("#attn-info").inner_text()
        img.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
        page.wait_for_function("b => document.querySelector('#attn-info').innerText !== b", arg=before)
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "attention.png"), full_page=True)

        page.get_by_role("tab", name="Latents").click()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(out / "latents.png"), full_page=True)

        page.get_by_role("tab", name="Probes").click()
        page.locator("#probe-button").click()
        page.wait_for_function("document.querySelector('#probe-table') && "
                               "document.querySelector('#probe-table').innerText.includes('vel_err')")
        page.get_by_text("What the metrics mean (and the blank cells)").click()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(out / "probes.png"), full_page=True)
        browser.close()
    demo.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
