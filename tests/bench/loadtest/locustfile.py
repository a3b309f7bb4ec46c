"""Locust users for `make loadtest` (driven by tests/bench/loadtest/run.py): one class per role,
each logging in once with the demo user's password (the bench loader and the demo create them)
and then reading the role's main pages and API lists.

LOADTEST_THINK_S="1-3" is the think time between requests (seconds, uniform); "0" is a closed
loop (each user sends its next request as soon as the last one answered). Requests are named
after their URL name, so the figures are per endpoint, not per record. The figures are reset
when the last user has logged in: they are the load, not the users' start.
"""

from __future__ import annotations

import os
import random
import re

import django
from locust import HttpUser, between, constant, task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radiopharmacy.settings")
django.setup()  # for the demo users' credentials and the URL names, no database is touched

from radiopharmacy.demo.users import DEMO_USERS  # noqa: E402

PASSWORDS = {username: password for username, password, *_ in DEMO_USERS}
_started = 0  # users logged in and set up, in this locust process
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _think():
    low, _, high = os.environ.get("LOADTEST_THINK_S", "1-3").partition("-")
    if float(low) == 0 and not high:
        return constant(0)
    return between(float(low), float(high or low))


class RoleUser(HttpUser):
    abstract = True
    username = ""
    wait_time = _think()

    def on_start(self):
        page = self.client.get("/login/", name="login (GET)")
        token = CSRF_INPUT.search(page.text)
        response = self.client.post(
            "/login/",
            data={
                "username": self.username,
                "password": PASSWORDS[self.username],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/login/"},
            name="login (POST)",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"{self.username} could not log in ({response.status_code})")
        # Records to open: the latest batches, generators, bookings and doses.
        self.batches = self._ids("/api/v1/batches/?ordering=-eos_at&page_size=20")
        self.generators = self._ids("/api/v1/generators/?page_size=5")
        self.bookings = self._ids("/api/v1/bookings/?page_size=20")
        self.doses = self._ids("/api/v1/doses/?page_size=20")
        # The figures start when the last user is in: the logins (an Argon2 hash each, about a
        # quarter of a CPU second) are each user's start, not the load, and the requests queued
        # behind them would otherwise be counted as slow.
        global _started
        _started += 1
        if _started == self.environment.runner.target_user_count:
            self.environment.stats.reset_all()

    def _ids(self, url: str) -> list[int]:
        response = self.client.get(url, name="setup")
        if response.status_code != 200:
            return []
        body = response.json()
        rows = body.get("results", []) if isinstance(body, dict) else body
        return [row["id"] for row in rows]

    def get(self, url: str, name: str):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def open(self, ids: list[int], url: str, name: str):
        if ids:
            self.get(url.format(random.choice(ids)), name)

    @task(3)
    def home(self):
        self.get("/", "home")

    @task(2)
    def batch_list(self):
        self.get("/batches/", "batch-list")

    @task(3)
    def batch_detail(self):
        self.open(self.batches, "/batches/{}/", "batch-detail")

    @task(1)
    def api_batches(self):
        self.get("/api/v1/batches/", "api-batches")


class Radiopharmacist(RoleUser):
    weight = 8
    username = "radiopharmacist"

    @task(2)
    def generator_list(self):
        self.get("/generators/", "generator-list")

    @task(2)
    def generator_detail(self):
        self.open(self.generators, "/generators/{}/", "generator-detail")

    @task(2)
    def dose_list(self):
        self.get("/doses/", "dose-list")

    @task(1)
    def api_elutions(self):
        self.get("/api/v1/elutions/", "api-elutions")

    @task(1)
    def api_generators(self):
        self.get("/api/v1/generators/", "api-generators")


class QualifiedPerson(RoleUser):
    weight = 4
    username = "qp"

    @task(3)
    def awaiting_release(self):
        self.get("/release/", "qc-awaiting-release")

    @task(1)
    def released_today(self):
        self.get("/release/today/", "qc-released-today")

    @task(2)
    def release_page(self):
        self.open(self.batches, "/batches/{}/release/", "qc-release")

    @task(1)
    def oos_recalls(self):
        self.get("/oos-recalls/", "oos-recalls")

    @task(1)
    def capas(self):
        self.get("/capas/", "qc-capas")

    @task(1)
    def trends(self):
        self.get("/trends/", "qc-trends")

    @task(1)
    def api_deviations(self):
        self.get("/api/v1/deviations/", "api-deviations")


class Scheduler(RoleUser):
    weight = 5
    username = "scheduler"

    @task(3)
    def booking_list(self):
        self.get("/bookings/", "booking-list")

    @task(2)
    def booking_detail(self):
        self.open(self.bookings, "/bookings/{}/", "booking-detail")

    @task(2)
    def plan(self):
        self.get("/plan/", "plan-day")

    @task(2)
    def dose_list(self):
        self.get("/doses/", "dose-list")

    @task(1)
    def dose_detail(self):
        self.open(self.doses, "/doses/{}/", "dose-detail")

    @task(1)
    def api_bookings(self):
        self.get("/api/v1/bookings/", "api-bookings")

    @task(1)
    def api_doses(self):
        self.get("/api/v1/doses/", "api-doses")


class Auditor(RoleUser):
    weight = 3
    username = "auditor"

    @task(4)
    def audit_search(self):
        self.get("/audit/", "audit-search")

    @task(2)
    def api_audit(self):
        self.get("/api/v1/audit/", "api-audit")

    @task(1)
    def oos_recalls(self):
        self.get("/oos-recalls/", "oos-recalls")
