import pytest
from django.contrib.auth import get_user_model

from audit.events import EventType
from core.channels import Channel
from core.errors import NotPermitted, TrialError
from sites.accounts import account_create

from ..helpers import last_event


def create(world, **kw):
    fields = dict(username="new.person", email="new@example.test", password="a-Long-enough-pass-42")
    fields.update(kw)
    return account_create(
        actor=kw.pop("actor", world.manager),
        channel=Channel.API,
        trial=world.trial,
        **{k: v for k, v in fields.items() if k != "actor"},
    )


def test_manager_creates_an_account_and_no_password_reaches_the_ledger(world):
    user = create(world)
    assert user.check_password("a-Long-enough-pass-42")
    event = last_event()
    assert event.event_type == EventType.ACCOUNT_CREATED
    assert "password" not in event.changes and "a-Long-enough-pass-42" not in str(event.changes)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "password123456"}, "password"),
        ({"password": "12345678901234"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"username": "MANAGER"}, "username"),
        ({"username": ""}, "username"),
    ],
)
@pytest.mark.requirement("ACC-1")
def test_bad_account_details_are_refused_naming_the_field(world, fields, field):
    before = get_user_model().objects.count()
    with pytest.raises(TrialError) as refused:
        create(world, **fields)
    assert refused.value.field == field
    assert get_user_model().objects.count() == before


def test_a_coordinator_cannot_create_accounts(world):
    with pytest.raises(NotPermitted):
        create(world, actor=world.coord_buc)
