"""The trial manager invites a user on the pages; the user sets a password from the emailed
link (read from the test's mail outbox) and signs in, landing on their work list."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from ..factories import PASSWORD
from .conftest import sign_in

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a long new passphrase 7Q"


def test_the_manager_invites_a_user_who_sets_a_password_and_signs_in(live_world, browser_page):
    page = browser_page
    sign_in(page, "manager", PASSWORD)
    page.goto("/people/")
    page.get_by_role("link", name="Invite them by email").click()
    page.get_by_label("Username").fill("nia.coord")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Email").fill("nia.coord@nhs.example")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Invitation sent to nia.coord@nhs.example")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/password/set/\S+/)", message.body).group(1)
    page.goto(link)
    page.locator("#id_password").fill(NEW_PASSWORD)
    page.locator("#id_password_again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_text("Your password is set")).to_be_visible()
    sign_in(page, "nia.coord", NEW_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Nia")
    page.goto(link)
    expect(page.get_by_test_id("link-expired")).to_be_visible()
