"""A family ready to be locked: randomised today (no follow-up window open yet), every form
complete and source-verified, no open query, its casebook signed by the PI."""

from core.channels import Channel
from crf.entry import response_verify
from crf.models import Query, QueryStatus
from crf.queries import query_close
from crf.signatures import casebook_sign
from tests.crf.conftest import randomised
from tests.factories import PASSWORD


def ready_family(world, code: str = "BUC"):
    family = randomised(world, code)
    monitor = world.monitor_buc
    for query in Query.objects.filter(family=family).exclude(status=QueryStatus.CLOSED):
        query_close(query=query, actor=monitor, channel=Channel.COMMAND, text="Checked.")
    for response in family.responses.filter(status="complete"):
        response_verify(response=response, actor=monitor, channel=Channel.COMMAND)
    casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="approved",
        channel=Channel.COMMAND,
    )
    return family
