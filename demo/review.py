"""The monitor's work in the demo: queries raised over the months (open ones of every age,
some answered, some closed), source-data verification of the key forms at BUC and OXF, and
one casebook signed at BUC. Through the services; then each query is dated when it was
raised, as if the trial had run for months (the services date what they write now)."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from core.channels import Channel
from crf.entry import response_verify
from crf.models import Query, QueryMessage, Response
from crf.queries import query_answer, query_close, query_raise
from crf.signatures import casebook_sign
from trial.models import Trial

from .families import coordinator_of
from .timeline import Timeline

CH = Channel.COMMAND
# (days ago raised, what became of it): open ones of every age, some answered, some closed.
QUERIES = [
    (2, "open"),
    (5, "closed"),
    (9, "open"),
    (16, "answered"),
    (23, "open"),
    (35, "answered"),
    (48, "open"),
    (64, "closed"),
    (90, "open"),
    (120, "closed"),
    (150, "open"),
]
QUESTIONS = {
    "core10": ("item_4", "Please check item 4 against the paper questionnaire."),
    "psi4sf": ("item_12", "Item 12 differs from the paper copy: please check it."),
    "legal_status": ("status", "Does this match the child protection conference minutes?"),
}
KEY_FORMS = ("demographics", "legal_status")


def seed_review(trial: Trial, users: dict, timeline: Timeline, log, *, pi_password: str) -> None:
    monitor = users["monitor"]
    responses = Response.objects.filter(
        family__trial=trial,
        family__site__code__in=("BUC", "OXF"),
        form__in=QUESTIONS,
        status="complete",
    ).select_related("family__site")
    raised: dict[int, int] = {}
    used: set[int] = set()
    for n, (age, fate) in enumerate(QUERIES):
        on = timeline.today - timedelta(days=age)
        response = next(
            (
                r
                for r in responses.filter(dated_on__lte=on).order_by("-dated_on", "id")[n % 3 :]
                if r.family_id not in used
            ),
            None,
        )
        if response is None:
            continue
        used.add(response.family_id)
        field, text = QUESTIONS[response.form]
        query = query_raise(response=response, field=field, text=text, actor=monitor, channel=CH)
        raised[query.pk] = age
        if fate in ("answered", "closed"):
            coordinator = users[coordinator_of(response.family.site.code)]
            query_answer(
                query=query,
                text="Checked against the source: the entry is right.",
                actor=coordinator,
                channel=CH,
            )
        if fate == "closed":
            query_close(query=query, actor=monitor, channel=CH, text="Thank you.")
    _dated(raised, timeline)
    verified = _verify(trial, monitor, used)
    signed = _sign(trial, users, used, pi_password)
    log(
        f"Review: {len(raised)} queries raised, {verified} forms verified"
        + (f"; casebook {signed} signed." if signed else ".")
    )


def _dated(raised: dict[int, int], timeline: Timeline) -> None:
    """Each query and its thread dated when it was raised (the answer and the close a few
    days later); an automatic out-of-window query on the day its form was entered."""
    for query in Query.objects.filter(automatic=True).select_related("response"):
        age = (timeline.today - query.response.dated_on).days
        raised.setdefault(query.pk, max(age, 0))
    for pk, age in raised.items():
        when = timezone.make_aware(datetime.combine(timeline.today, time(10))) - timedelta(days=age)
        closed = when + timedelta(days=min(age, 4))
        Query.objects.filter(pk=pk).update(raised_at=when)
        Query.objects.filter(pk=pk, closed_at__isnull=False).update(closed_at=closed)
        Query.history.filter(id=pk).update(raised_at=when)
        QueryMessage.objects.filter(query_id=pk, kind="raised").update(at=when)
        QueryMessage.objects.filter(query_id=pk).exclude(kind="raised").update(
            at=when + timedelta(days=min(age, 2))
        )


def _verify(trial: Trial, monitor, queried: set[int]) -> int:
    """The key forms of the first families at BUC and OXF, as a monitoring visit would."""
    done = 0
    for response in (
        Response.objects.filter(
            family__trial=trial,
            family__site__code__in=("BUC", "OXF"),
            form__in=KEY_FORMS,
            status="complete",
        )
        .exclude(family_id__in=queried)
        .order_by("family__site_id", "family__sequence", "id")
    ):
        if response.family.sequence <= 8 and not response.queries.exists():
            response_verify(response=response, actor=monitor, channel=CH)
            done += 1
    return done


def _sign(trial: Trial, users: dict, queried: set[int], pi_password: str) -> str:
    family = (
        trial.families.filter(site__code="BUC", allocations__isnull=False)
        .exclude(pk__in=queried)
        .exclude(responses__status="draft")
        .exclude(queries__status__in=("open", "answered"))
        .order_by("id")
        .first()
    )
    if family is None:
        return ""
    casebook_sign(
        family=family,
        actor=users["pi.buc"],
        password=pi_password,
        meaning="reviewed",
        channel=CH,
    )
    return family.identifier
