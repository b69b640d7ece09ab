"""Unit tests of the outbox's decisions (pwa/offline/outbox-rules.js): pure functions, run in
Chromium on a blank test page (and once in a worker, as the service worker loads them). No
server, no IndexedDB, no network: each call gets its inputs, the time included."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "pwa" / "offline" / "outbox-rules.js"
README = ROOT / "README.md"
# 09:41 in Vietnam (the test browser's time zone), as ms since the epoch.
T0 = int(datetime(2026, 11, 20, 2, 41, tzinfo=UTC).timestamp() * 1000)
S = 1000
MIN = 60 * S


@pytest.fixture
def rules(page):
    page.set_content("<!doctype html><meta charset=utf-8><title>outbox rules</title>")
    page.add_script_tag(path=str(RULES))

    def call(name, *args):
        return page.evaluate(
            "([name, args]) => FieldkitOutboxRules[name](...args)", [name, list(args)]
        )

    call.page = page
    return call


def item(**fields):
    return {"id": fields.pop("id", "a"), "state": "pending", "seq": 1, **fields}


# --- deadlines -----------------------------------------------------------------------------


def test_every_request_has_a_deadline_that_grows_with_what_it_uploads(rules):
    assert rules("requestTimeoutMs", 0) == 10 * S  # the session check, an empty batch
    # One visit is ~0.6 KB as JSON; a batch of 25 (~15 KB) and the server's largest, 100.
    assert rules("requestTimeoutMs", 15_000) == 13_750
    assert rules("requestTimeoutMs", 60_000) == 25 * S
    assert rules("requestTimeoutMs", 10_000_000) == 60 * S  # never more than a minute


# --- when to try again ---------------------------------------------------------------------


def test_the_wait_grows_with_time_failing_not_with_how_often_a_send_was_forced(rules):
    current = item()
    now = T0
    for _ in range(10):  # ten forced sends failing within six seconds
        current = {
            **current,
            **rules("afterFailure", current, {"kind": "unreachable"}, now, 0.5),
        }
        now += 600
    assert current["failures"] == 10
    assert current["failingSince"] == T0
    wait = current["nextAttemptAt"] - current["lastFailureAt"]
    assert 2 * S <= wait <= 3 * S  # half of ~5.4 s of failing, at least 2 s


def test_a_long_outage_is_retried_every_ten_seconds_spread_across_phones(rules):
    assert rules("retryDelayMs", 0, 0.5) == 2 * S
    assert rules("retryDelayMs", 12 * S, 0.5) == 6 * S
    assert rules("retryDelayMs", 60 * MIN, 0.5) == 10 * S
    assert rules("retryDelayMs", 60 * MIN, 0) == 8 * S
    assert 11.9 * S < rules("retryDelayMs", 60 * MIN, 0.9999) <= 12 * S


def test_a_retry_after_is_obeyed_but_bounded(rules):
    later = rules("afterFailure", item(), {"kind": "busy", "retryAt": T0 + 90 * S}, T0, 0.5)
    assert later["nextAttemptAt"] == T0 + 90 * S
    capped = rules("afterFailure", item(), {"kind": "busy", "retryAt": T0 + 99 * MIN}, T0, 0.5)
    assert capped["nextAttemptAt"] == T0 + 10 * MIN
    assert rules("retryAfterAt", "120", T0) == T0 + 120 * S
    assert rules("retryAfterAt", "Fri, 20 Nov 2026 02:42:00 GMT", T0) == T0 + 60 * S
    assert rules("retryAfterAt", "soon", T0) is None
    assert rules("retryAfterAt", None, T0) is None


def test_an_item_is_due_after_its_wait_or_at_once_when_forced(rules):
    waiting = item(nextAttemptAt=T0 + 5 * S)
    assert not rules("isDue", waiting, T0, False)
    assert rules("isDue", waiting, T0 + 5 * S, False)
    assert rules("isDue", waiting, T0, True)  # "Gửi ngay"
    assert not rules("isDue", item(state="attention"), T0, True)


def test_the_outbox_wakes_when_the_next_item_is_due(rules):
    items = [item(nextAttemptAt=T0 + 7 * S), item(id="b", nextAttemptAt=T0 + 3 * S)]
    assert rules("nextWakeAt", items, {"state": "unreachable"}, T0) == T0 + 3 * S
    assert rules("nextWakeAt", [item(nextAttemptAt=0)], None, T0) == T0
    assert rules("nextWakeAt", [], {"state": "ok"}, T0) is None
    assert rules("nextWakeAt", items, {"state": "offline"}, T0) is None  # `online` wakes it
    # Signed out: look for a new session once a minute, not in a loop.
    assert rules("nextWakeAt", items, {"state": "auth", "at": T0}, T0) == T0 + MIN


# --- what to send --------------------------------------------------------------------------


def test_batches_go_in_order_and_an_item_that_failed_alone_goes_last_and_alone(rules):
    due = [item(id=f"i{n}", seq=n) for n in range(30)]
    due[3]["soloFailures"] = 1
    groups = rules("plan", list(reversed(due)), 25)
    assert [len(g) for g in groups] == [25, 4, 1]
    assert [i["id"] for i in groups[0]][:4] == ["i0", "i1", "i2", "i4"]
    assert groups[-1][0]["id"] == "i3"


def test_a_failing_batch_is_split_in_halves(rules):
    group = [item(id=str(n)) for n in range(5)]
    halves = rules("split", group)
    assert [[i["id"] for i in half] for half in halves] == [["0", "1", "2"], ["3", "4"]]
    assert rules("split", [item()]) == [[item()]]


# --- what an answer means ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "ok"),
        (401, "auth"),
        (429, "busy"),
        (503, "busy"),
        (500, "server-error"),
        (502, "server-error"),
        (504, "server-error"),
        (400, "csrf"),
        (413, "refused"),
        (403, "refused"),
    ],
)
def test_what_a_status_means(rules, status, kind):
    assert rules("classifyStatus", status) == kind


def test_what_each_item_result_means(rules):
    assert rules("itemOutcome", {"status": "stored"}) == {"outcome": "sent", "notice": None}
    assert rules("itemOutcome", {"status": "duplicate"})["outcome"] == "sent"
    notice = "Có vẻ trùng với lượt thăm lúc 09:41."
    assert rules("itemOutcome", {"status": "stored", "notice": notice})["notice"] == notice
    invalid = rules(
        "itemOutcome",
        {"status": "invalid", "message": "Sửa các ô", "errors": {"visited_at": "Sai"}},
    )
    assert invalid == {
        "outcome": "attention",
        "status": "invalid",
        "message": "Sửa các ô",
        "errors": {"visited_at": "Sai"},
    }
    assert rules("itemOutcome", {"status": "conflict"})["outcome"] == "attention"
    assert rules("itemOutcome", {"status": "forbidden"})["message"].startswith("Bạn không có")
    # A per-item server error: tried again alone, then "Cần xử lý".
    assert rules("itemOutcome", {"status": "error", "message": "Lỗi"})["outcome"] == (
        "solo-failure"
    )
    assert rules("itemOutcome", None) == {"outcome": "unanswered"}


def test_an_item_failing_alone_goes_to_needs_fixing_only_once_the_server_works_for_others(rules):
    once = rules("afterSoloFailure", item(), False)
    assert once == {"soloFailures": 1, "soloVerified": False, "toAttention": False}
    # The server fails on everything (no other item got through): never blamed on the item.
    twice = rules("afterSoloFailure", item(soloFailures=5), False)
    assert twice["toAttention"] is False
    proven = rules("afterSoloFailure", item(), True)
    assert proven["toAttention"] is False  # once may be bad luck
    again = rules("afterSoloFailure", item(soloFailures=1, soloVerified=True), False)
    assert again["toAttention"] is True


# --- honest words --------------------------------------------------------------------------


def test_the_status_bar_says_the_network_first_then_the_server(rules):
    failed = {"state": "server-error"}
    assert rules("linkState", failed, False, False, 3) == "offline"
    assert rules("linkState", {"state": "auth"}, True, True, 3) == "auth"
    assert rules("linkState", {"state": "ok"}, True, True, 3) == "sending"
    assert rules("linkState", None, True, True, 3) == "sending"
    # Trying again after a failure: the failure is still what is true.
    assert rules("linkState", {"state": "timeout"}, True, True, 3) == "timeout"
    assert rules("linkState", failed, True, False, 3) == "server-error"
    assert rules("linkState", {"state": "busy"}, True, False, 1) == "busy"
    # Nothing waiting: an old failure says nothing about now.
    assert rules("linkState", failed, True, False, 0) == "ok"
    assert rules("linkState", {"state": "offline"}, True, False, 2) == "ok"


def test_a_failure_is_worded_with_its_status(rules):
    assert rules("failureWords", {"kind": "server-error", "status": 502}) == (
        "Máy chủ đang lỗi (502)"
    )
    assert rules("failureWords", {"kind": "timeout"}) == "Máy chủ không trả lời"
    assert rules("hhmm", T0 + 5 * S, True) == "09:41:05"


def test_what_left_the_outbox_is_announced_by_kind_with_the_time(rules):
    one = [{"kind": "visit", "sentAt": T0}]
    assert rules("announcement", one) == "Đã gửi 1 lượt thăm lúc 09:41."
    several = [
        {"kind": "visit", "sentAt": T0 - MIN},
        {"kind": "resident", "sentAt": T0 - 2 * MIN},
        {"kind": "visit", "sentAt": T0, "notice": "Có vẻ trùng với lượt thăm lúc 09:38."},
    ]
    assert rules("announcement", several) == (
        "Đã gửi 2 lượt thăm, 1 nhân khẩu lúc 09:41. Có vẻ trùng với lượt thăm lúc 09:38."
    )
    assert rules("announcement", []) == ""


def test_the_sent_log_keeps_a_quarter_of_an_hour(rules):
    entries = [{"id": str(n), "sentAt": T0 - n * MIN} for n in range(20)]
    kept = rules("keepSent", entries, T0)
    assert [e["id"] for e in kept] == [str(n) for n in range(16)]


def test_the_confirmation_names_what_was_saved_and_what_became_of_it(rules):
    what = ("lượt thăm hộ số 12", "09:41")
    assert rules("savedWords", *what, {"sent": True}) == (
        "Đã lưu lượt thăm hộ số 12 · 09:41. Đã gửi lên xã."
    )
    assert rules("savedWords", *what, {"sent": True, "notice": "Có vẻ trùng."}).endswith(
        "Đã gửi lên xã. Có vẻ trùng."
    )
    kept = "Đã lưu trên máy: lượt thăm hộ số 12 · 09:41. "
    assert rules("savedWords", *what, {"offline": True}) == kept + "Sẽ tự gửi khi có mạng."
    assert rules("savedWords", *what, {"state": "auth"}) == (
        kept + "Đăng nhập lại để gửi — mục vẫn được giữ trên máy."
    )
    assert rules("savedWords", *what, {"state": "server-error"}) == (
        kept + "Máy chủ đang lỗi — sẽ tự gửi lại."
    )
    assert rules("savedWords", *what, {"state": "sending"}) == kept + "Đang gửi…"


# --- the module itself ---------------------------------------------------------------------


def test_the_rules_touch_no_storage_no_network_and_no_clock():
    source = RULES.read_text()
    for forbidden in ("indexedDB", "fetch(", "XMLHttpRequest", "Date.now(", "localStorage"):
        assert forbidden not in source, forbidden


def test_the_rules_load_in_a_worker_as_in_the_service_worker(rules):
    page = rules.page
    names = page.evaluate(
        """source => new Promise((resolve, reject) => {
            const blob = new Blob([source + ";postMessage(Object.keys(self.FieldkitOutboxRules))"],
                                  {type: "text/javascript"});
            const worker = new Worker(URL.createObjectURL(blob));
            worker.onmessage = (event) => resolve(event.data);
            worker.onerror = (event) => reject(new Error(event.message));
        })""",
        RULES.read_text(),
    )
    assert {"plan", "afterFailure", "classifyStatus", "linkState"} <= set(names)


def test_the_readme_says_what_each_state_of_the_phone_is_called(rules):
    words = rules.page.evaluate("Object.values(FieldkitOutboxRules.LINK_WORDS).map(w => w.text)")
    readme = README.read_text()
    table = readme[readme.index("### What the phone says") :]
    for text in words:
        assert text in table, f"README does not document {text!r}"
    assert re.search(r"\| *offline *\|", table)
