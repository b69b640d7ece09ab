"""Simulated volunteers for benchmarks/bench_load.py (locust, headless). Each one signs in
through its own one-time link, then, pausing 5–15 s between actions like a person at a door:
opens the household list, a household page, the follow-ups; prepares the day offline (the
offline pack, then a few of its pages, as app.js does); and syncs visits (batches of 5 with
assistance lines, as the outbox sends them).

The links and each volunteer's households and residents come from the JSON file named by
FIELDKIT_LOAD_PEOPLE (written by bench_load.py).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

PEOPLE = json.loads(open(os.environ["FIELDKIT_LOAD_PEOPLE"]).read())  # noqa: SIM115
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
VIETNAM = timezone(timedelta(hours=7))
SERVICES = ["vneid_level1", "vneid_activate", "dvcqg_login", "payment_account", "health_book"]
_next = iter(range(len(PEOPLE)))


class Volunteer(FastHttpUser):
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.person = PEOPLE[next(_next) % len(PEOPLE)]
        self.households = {int(k): v for k, v in self.person["households"].items()}
        self.rng = random.Random(self.person["token"])
        self.csrf = None
        self.redeemed = False
        # A person whose sign-in was shed (503) taps again after a moment: up to 5 tries. A
        # link is redeemed once; after that only the home page is asked again.
        for _ in range(5):
            if self._sign_in():
                return
            time.sleep(5)

    def _sign_in(self) -> bool:
        token = self.person["token"]
        if not self.redeemed:
            with self.client.get(f"/signin/{token}", name="sign-in", catch_response=True) as page:
                found = CSRF.search(page.text or "") if page.status_code == 200 else None
                if not found:
                    page.failure(f"no sign-in page ({page.status_code})")
                    return False
            with self.client.post(
                f"/signin/{token}",
                data={"csrf_token": found.group(1)},
                name="sign-in",
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                if answer.status_code != 303:
                    answer.failure(f"HTTP {answer.status_code}")
                    return False
            self.redeemed = True
        with self.client.get("/households", name="page: households", catch_response=True) as home:
            found = CSRF.search(home.text or "") if home.status_code == 200 else None
            if not found:
                home.failure(f"not signed in ({home.status_code})")
                return False
            self.csrf = found.group(1)
        return True

    def _ready(self) -> bool:
        """Signed in, or signed in now; a phone that is not never sends anything."""
        return self.csrf is not None or (self.redeemed and self._sign_in())

    @task(3)
    def household_list(self) -> None:
        self.client.get("/households", name="page: households")

    @task(6)
    def household_page(self) -> None:
        household = self.rng.choice(list(self.households))
        self.client.get(f"/households/{household}", name="page: household")

    @task(1)
    def follow_ups(self) -> None:
        self.client.get("/follow-ups", name="page: follow-ups")

    @task(1)
    def prepare_offline(self) -> None:
        if not self._ready():
            return
        with self.client.get(
            "/api/v1/offline-pack", name="offline: pack", catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")
                return
            pages = answer.json()["pages"]
        for page in self.rng.sample(pages, min(5, len(pages))):
            self.client.get(page["url"], name="offline: page", headers={"X-Fieldkit-Prepare": "1"})

    @task(6)
    def sync_visits(self) -> None:
        if not self._ready():  # never got signed in: the phone keeps its visits
            return
        items = []
        now = datetime.now(UTC).astimezone(VIETNAM)
        for _ in range(5):
            household = self.rng.choice(list(self.households))
            residents = self.households[household]
            item_id = str(uuid.uuid4())
            lines = [
                {"resident_id": self.rng.choice(residents), "service_code": code, "result": "done"}
                for code in self.rng.sample(SERVICES, self.rng.randint(1, 2))
            ]
            items.append(
                {
                    "id": item_id,
                    "kind": "visit",
                    "payload": {
                        "household_id": household,
                        "visited_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
                        "outcome": "met",
                        "lines": lines,
                    },
                }
            )
        with self.client.post(
            "/api/v1/sync",
            json={"items": items},
            headers={"X-CSRF-Token": self.csrf},
            name="sync: 5 visits",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}")
            elif {r["status"] for r in answer.json()["results"]} != {"stored"}:
                answer.failure(f"not stored: {answer.text[:300]}")
