"""Each role's home page (its work list) at a phone's width and a desk's: nothing scrolls
sideways (a wide table scrolls inside its own box), and a screenshot of each is saved under
var/screenshots/ for people to look at (CI keeps them)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..crf.conftest import randomised
from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
ROLES = ["coord.buc", "assessor.buc", "pi.buc", "monitor.buc", "manager", "stats.blind"]
WIDTHS = [390, 1280]


def overflow(page) -> int:
    """How far the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_every_roles_home_page_fits_a_phone_and_a_desk(live_world, chromium, live_server):
    world = live_world
    randomised(world, "BUC", days_ago=190)  # forms due, queries, casebooks to sign
    SHOTS.mkdir(parents=True, exist_ok=True)
    wide = []
    for width in WIDTHS:
        for username in ROLES:
            context = chromium.new_context(
                base_url=live_server.url, viewport={"width": width, "height": 900}
            )
            page = context.new_page()
            page.set_default_timeout(10_000)
            sign_in(page, username, PASSWORD)
            expect(page.get_by_test_id("worklist")).to_be_visible()
            page.screenshot(path=str(SHOTS / f"home-{username}-{width}.png"), full_page=True)
            if overflow(page) > 0:
                wide.append(f"{username} at {width} px: {overflow(page)} px too wide")
            context.close()
    assert not wide, wide
