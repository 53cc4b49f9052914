"""Refusals and missing pages inside the site's layout, with a way back: a 403 says why
and who can; a 404 says what may have happened; the demo (DEBUG on) never shows Django's
technical 404, which lists the site's URL patterns."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_refusal_is_a_page_of_the_site_that_says_why_and_leads_home(world, client):
    client.force_login(world.coord_buc)
    answer = client.get("/lock/")
    page = answer.content.decode()
    assert answer.status_code == 403
    assert 'data-testid="error-page"' in page and 'data-testid="go-home"' in page
    assert "For the trial manager and the statisticians." in page
    assert "Sign out" in page  # the site's header, with its menu


def test_a_missing_page_is_a_page_of_the_site(world, client):
    client.force_login(world.coord_buc)
    answer = client.get("/families/999999/")
    assert answer.status_code == 404
    assert b'data-testid="error-page"' in answer.content and b"Page not found" in answer.content


def test_the_demo_shows_its_own_404_not_djangos_technical_page(world, client, settings):
    settings.DEBUG = True
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "config.errors.StyledNotFoundMiddleware"]
    client.force_login(world.coord_buc)
    answer = client.get("/no/such/page/")
    assert answer.status_code == 404
    assert b'data-testid="error-page"' in answer.content
    assert b"URLconf" not in answer.content and b"api/v1/" not in answer.content
    api = client.get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404 and api.json()["error"]


def test_the_demo_settings_use_the_styled_404():
    from config.settings import dev

    assert "config.errors.StyledNotFoundMiddleware" in dev.MIDDLEWARE
