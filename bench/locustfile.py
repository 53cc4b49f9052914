"""The load scenario of bench/scale.py: each role's everyday work against one site.

Every user signs in as one load site's member (a session for the pages, an API token for
the API) and acts on that site's families, named in SCALE_FIXTURES (written by scale.py).
Requests are named by route, ids as [id], so locust's report groups by page and endpoint.
The work list's requests are tagged "worklist", so a run can leave them out
(`--exclude-tags worklist`) and time the rest without queueing behind them.

    SCALE_FIXTURES=fixtures.json .venv/bin/locust -f bench/locustfile.py --host URL
"""

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, tag, task

DATA = json.loads(open(os.environ["SCALE_FIXTURES"]).read())  # noqa: SIM115
SITES = list(DATA["sites"])
_turns = itertools.count()
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class SiteUser(HttpUser):
    abstract = True
    # Time to read a page before the next: people, not a flood (one core per gunicorn
    # worker is all the machine has).
    wait_time = between(2.0, 8.0)
    prefix = ""

    def on_start(self) -> None:
        self.code = SITES[next(_turns) % len(SITES)]
        self.site = DATA["sites"][self.code]
        username = f"{self.prefix}.{self.code}"
        login = self.client.get("/accounts/login/", name="GET /accounts/login/")
        token = CSRF.search(login.text)
        self.client.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": DATA["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="POST /accounts/login/",
            # Not on to the work list it redirects to: a user's first page is a task's.
            allow_redirects=False,
        )
        answer = self.client.post(
            "/api/v1/auth/token/",
            json={"username": username, "password": DATA["password"]},
            name="POST /api/v1/auth/token/",
        )
        self.api = {"Authorization": f"Token {answer.json().get('token', '')}"}

    def family(self) -> int:
        return random.choice(self.site["families"])

    def page(self, path: str, name: str) -> None:
        self.client.get(path, name=f"GET {name}")

    def api_get(self, path: str, name: str) -> None:
        self.client.get(path, headers=self.api, name=f"GET {name}")

    def correct_form(self) -> None:
        """A change to an entered outcome form, with its reason."""
        family, response = random.choice(self.site["outcomes"])
        self.client.patch(
            f"/api/v1/families/{family}/responses/{response}/",
            json={
                "values": {"item_1": random.randrange(5)},
                "reason": "Transcription error corrected",
            },
            headers=self.api,
            name="PATCH /api/v1/families/[id]/responses/[id]/",
        )


class Coordinator(SiteUser):
    """Opens the work list and a family, enters a form left to enter (when the site has none
    left, corrects an entered one with a reason)."""

    weight = 8
    prefix = "coord"

    @tag("worklist")
    @task(3)
    def work_list(self) -> None:
        self.page("/", "/ (work list)")

    @task(3)
    def family_page(self) -> None:
        self.page(f"/families/{self.family()}/", "/families/[id]/")

    @tag("worklist")
    @task(1)
    def work_list_api(self) -> None:
        self.api_get("/api/v1/worklist/", "/api/v1/worklist/")

    @task(2)
    def enter_form(self) -> None:
        if not self.site["gaps"]:
            self.correct_form()
            return
        family, visit, form = self.site["gaps"].pop()
        self.client.post(
            f"/api/v1/families/{family}/responses/",
            json={"form": form, "visit": visit, "values": DATA["values"][form]},
            headers=self.api,
            name="POST /api/v1/families/[id]/responses/",
        )


class Assessor(SiteUser):
    """Opens the work list and a family's forms, corrects an outcome form with a reason."""

    weight = 4
    prefix = "assessor"

    @tag("worklist")
    @task(2)
    def work_list(self) -> None:
        self.page("/", "/ (work list)")

    @task(2)
    def responses(self) -> None:
        family, _ = random.choice(self.site["outcomes"])
        self.api_get(
            f"/api/v1/families/{family}/responses/?form=core10",
            "/api/v1/families/[id]/responses/?form=",
        )

    @task(2)
    def enter_outcome(self) -> None:
        self.correct_form()


class Monitor(SiteUser):
    """Reads the audit trail (page and API, all and one family's) and a casebook."""

    weight = 4
    prefix = "monitor"

    @task(3)
    def audit_trail(self) -> None:
        self.page("/audit/", "/audit/")

    @task(1)
    def audit_trail_family(self) -> None:
        identifier = self.site.get("identifiers", {}).get(str(self.family()), "")
        self.page(f"/audit/?family={identifier}", "/audit/?family=")

    @task(2)
    def audit_api(self) -> None:
        self.api_get("/api/v1/audit/events/", "/api/v1/audit/events/")

    @task(2)
    def casebook(self) -> None:
        self.page(f"/families/{self.family()}/casebook/", "/families/[id]/casebook/")


class Investigator(SiteUser):
    """Opens their work list (the casebooks to sign) and a casebook, and signs one ready to
    sign with their password."""

    weight = 4
    prefix = "pi"

    @tag("worklist")
    @task(1)
    def work_list(self) -> None:
        self.page("/", "/ (PI's work list)")

    @task(3)
    def casebook(self) -> None:
        family = random.choice(self.site["signable"] or self.site["families"])
        self.page(f"/families/{family}/casebook/", "/families/[id]/casebook/")

    @task(1)
    def sign(self) -> None:
        if not self.site["signable"]:
            return
        self.client.post(
            f"/api/v1/families/{random.choice(self.site['signable'])}/signatures/",
            json={"password": DATA["password"], "meaning": "approved"},
            headers=self.api,
            name="POST /api/v1/families/[id]/signatures/",
        )
