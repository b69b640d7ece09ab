// Fieldkit outbox rules: the outbox's decisions as plain functions of their inputs — what to
// send next, what an answer means, when to try again, what to tell the person. No IndexedDB,
// no fetch, no clock (the time is an argument), so they are tested alone (tests/e2e/
// test_outbox_rules.py runs them in Chromium). Loaded before outbox.js by the page (app.js adds
// both) and by the service worker (importScripts); exposes `self.FieldkitOutboxRules`. No build step.
(function (root) {
  "use strict";

  // --- the page's language --------------------------------------------------------------------
  // The rules make the outbox's words, each already in the page's language, so no caller has to
  // remember to translate and no rule takes a `t` argument. On a page, app.js (its first script)
  // has defined `FieldkitT` from the page's words (pwa/js_words.py). In the service worker and
  // the rules' own tests there is no page: every sentence stays Vietnamese, the source, with its
  // `%(name)s` filled as gettext does. Words the service worker stores (an item's last error)
  // are thus Vietnamese; app.js passes them through t() again when it shows them, which
  // translates every one that carries no value.
  const t = root.FieldkitT || ((text, values) =>
    values ? text.replace(/%\((\w+)\)s/g, (all, name) => values[name]) : text);
  root.FieldkitT = t;

  // Items per sync request. The server takes up to 100 (fieldkit.sync.MAX_ITEMS); 25 keeps one
  // request small enough to get through a weak 3G link before it drops, and a dropped or
  // refused request costs little to send again.
  const BATCH_SIZE = 25;

  // --- how long to wait for the server ------------------------------------------------------
  // Every request has a deadline (AbortController in outbox.js); past it the request counts as
  // "server unreachable" and is tried again. Chosen for the reference device — a cheap phone
  // on 3G inside a house — not for the office:
  // - BASE_TIMEOUT_MS covers what does not depend on size: DNS, TCP and TLS handshakes at a 3G
  //   round trip of 300–600 ms (4–6 round trips, ~3 s), the server's work for a batch (a few
  //   ms per item, more when it is busy) and a margin: 10 s. It is also the whole deadline of
  //   the small requests (the session check).
  // - plus the upload at SLOW_UPLOAD_BYTES_PER_S, 4 KB/s (32 kbit/s: a 3G uplink at one bar,
  //   where phones still hold a connection). A visit item weighs 0.45 KB as JSON with one
  //   assistance line and ~0.7 KB with two and a note (measured), so a batch of 25 (~17 KB)
  //   gets ~14 s and the server's largest batch of 100 (~67 KB) ~27 s.
  // - never more than MAX_TIMEOUT_MS: a request still unanswered after a minute is hung, and
  //   "Gửi ngay" must be able to give up and try again within the time a person waits.
  // A hung server is thus noticed after 10–25 s, while a slow but working link is not cut off.
  const BASE_TIMEOUT_MS = 10000;
  const SLOW_UPLOAD_BYTES_PER_S = 4000;
  const MAX_TIMEOUT_MS = 60000;

  function requestTimeoutMs(bodyBytes) {
    const upload = Math.ceil(((bodyBytes || 0) / SLOW_UPLOAD_BYTES_PER_S) * 1000);
    return Math.min(MAX_TIMEOUT_MS, BASE_TIMEOUT_MS + upload);
  }

  // --- when to try again --------------------------------------------------------------------
  // By time, not by count: the wait after a failure is half of how long the item has been
  // failing without a break (since its first failure of the streak), between 2 s and 10 s,
  // spread ±20 % so a commune's phones do not all knock at once. However often a send is
  // forced (page open, save, `online`), the wait grows no faster than time. So a six-second
  // outage is retried every 2–3 s and drains within seconds of the server's return, and even
  // after hours a phone left open is back within ~12 s. The price is one small request (the
  // session check, ~1 KB) per phone every ~10 s while its server is down and it has something
  // to send — nothing at all while the phone itself is offline (it waits for `online`).
  const MIN_RETRY_MS = 2000;
  const MAX_RETRY_MS = 10000;
  const BUSY_MAX_WAIT_MS = 10 * 60 * 1000; // a Retry-After is obeyed up to this
  const AUTH_RECHECK_MS = 60000; // signed out: look again for a new session this often
  // An item that the server failed on alone (5xx), at least once while other items were
  // accepted, goes to "Cần xử lý" on its second such failure: it would never get through.
  const SOLO_FAILURES_FOR_ATTENTION = 2;
  // Items that left the outbox are remembered this long, to be announced after a reload.
  const SENT_KEEP_MS = 15 * 60 * 1000;
  const SENT_KEEP_MAX = 50;

  function retryDelayMs(streakMs, spread) {
    const base = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, (streakMs || 0) / 2));
    // `spread` in [0, 1): 0.8–1.2 times the base.
    return Math.round(base * (0.8 + 0.4 * (spread === undefined ? 0.5 : spread)));
  }

  // The item's bookkeeping after a failure of kind `failure.kind` at `now`.
  function afterFailure(item, failure, now, spread) {
    const first = item.failingSince || now;
    let next = now + retryDelayMs(now - first, spread);
    if (failure.retryAt) next = Math.max(next, Math.min(failure.retryAt, now + BUSY_MAX_WAIT_MS));
    return {
      failingSince: first,
      lastFailureAt: now,
      failures: (item.failures || 0) + 1,
      nextAttemptAt: next,
      lastError: failure.message || failureWords(failure),
      errorKind: failure.kind,
    };
  }

  function isDue(item, now, force) {
    return item.state === "pending" && (force || !item.nextAttemptAt || item.nextAttemptAt <= now);
  }

  // When the outbox should look again on its own (ms since epoch), or null to wait for an
  // event (`online`, a save, a sign-in). `link` is the last known state of the way to the server.
  function nextWakeAt(items, link, now) {
    if (link && link.state === "auth") return (link.at || now) + AUTH_RECHECK_MS;
    if (link && link.state === "offline") return null;
    const pending = items.filter((i) => i.state === "pending");
    if (!pending.length) return null;
    return Math.max(now, Math.min(...pending.map((i) => i.nextAttemptAt || now)));
  }

  // --- what to send -------------------------------------------------------------------------
  // Items never failed alone go first, in order, in batches; each suspect (an item the server
  // failed on when sent alone) goes after them, alone, so it can never hold the others back.
  function plan(due, batchSize) {
    const size = batchSize || BATCH_SIZE;
    const bySeq = due.slice().sort((a, b) => (a.seq || 0) - (b.seq || 0));
    const healthy = bySeq.filter((i) => !i.soloFailures);
    const suspects = bySeq.filter((i) => i.soloFailures);
    const groups = [];
    for (let start = 0; start < healthy.length; start += size) {
      groups.push(healthy.slice(start, start + size));
    }
    return groups.concat(suspects.map((i) => [i]));
  }

  // A batch the server failed on is sent again in halves, to find the item that makes it fail.
  function split(group) {
    const middle = Math.ceil(group.length / 2);
    return [group.slice(0, middle), group.slice(middle)].filter((half) => half.length);
  }

  // --- what an answer means -----------------------------------------------------------------
  // Kinds: ok · auth (signed out) · busy (429, 503) · server-error (other 5xx) · csrf (a 400:
  // the token went stale since it was read — a fresh one is tried once) · refused (another
  // 4xx: this request will never be accepted as it is) · unreachable (no answer at all) ·
  // timeout (no answer in time) · offline (the phone has no network).
  function classifyStatus(status) {
    if (status >= 200 && status < 300) return "ok";
    if (status === 401) return "auth";
    if (status === 429 || status === 503) return "busy";
    if (status >= 500) return "server-error";
    if (status === 400) return "csrf";
    return "refused";
  }

  // Retry-After: seconds or an HTTP date → ms since epoch, or null.
  function retryAfterAt(header, now) {
    if (header === null || header === undefined || header === "") return null;
    const text = String(header).trim();
    if (/^\d+$/.test(text)) return now + Math.min(Number(text) * 1000, BUSY_MAX_WAIT_MS);
    const when = Date.parse(text);
    return Number.isNaN(when) ? null : Math.min(Math.max(when, now), now + BUSY_MAX_WAIT_MS);
  }

  // One item's result in a 200 answer → what becomes of the item.
  function itemOutcome(result) {
    if (!result) return { outcome: "unanswered" };
    if (result.status === "stored" || result.status === "duplicate") {
      return { outcome: "sent", notice: result.notice || null };
    }
    if (result.status === "conflict" || result.status === "invalid" || result.status === "forbidden") {
      return {
        outcome: "attention",
        status: result.status,
        message: result.message || refusalWords(result.status),
        errors: result.errors || null,
      };
    }
    // A status this phone does not know (a per-item server error): the server answered for
    // the others, so this one failed on its own — tried again alone, then "Cần xử lý".
    return { outcome: "solo-failure", message: result.message || null };
  }

  function refusalWords(status) {
    if (status === "invalid") return t("Dữ liệu chưa hợp lệ — hãy sửa rồi gửi lại.");
    if (status === "conflict") return t("Mục này đã được gửi trước đó với nội dung khác.");
    if (status === "forbidden") return t("Bạn không có quyền gửi mục này.");
    return t("Máy chủ không nhận mục này.");
  }

  // After the server failed on an item sent alone. `verified`: in the same run the server
  // accepted something else, so it is working — the fault is this item's.
  function afterSoloFailure(item, verified) {
    const soloFailures = (item.soloFailures || 0) + 1;
    const proven = !!(item.soloVerified || verified);
    return {
      soloFailures: soloFailures,
      soloVerified: proven,
      toAttention: proven && soloFailures >= SOLO_FAILURES_FOR_ATTENTION,
    };
  }

  const SOLO_ATTENTION_WORDS = t("Máy chủ gặp lỗi mỗi lần nhận mục này, dù các mục khác vẫn gửi được. Mục vẫn được giữ trên máy: hãy báo cán bộ xã, hoặc mở ra sửa rồi gửi lại.");

  // --- honest words -------------------------------------------------------------------------
  // The status bar's words for each state of the way to the server (README: "What the phone
  // says"). `tone`: ok, busy (working on it) or warn.
  const LINK_WORDS = {
    ok: { text: t("Trực tuyến"), tone: "ok" },
    sending: { text: t("Đang gửi…"), tone: "busy" },
    offline: { text: t("Ngoại tuyến — sẽ gửi khi có mạng"), tone: "warn" },
    unreachable: { text: t("Không kết nối được máy chủ — sẽ tự thử lại"), tone: "warn" },
    timeout: { text: t("Máy chủ không trả lời — sẽ tự thử lại"), tone: "warn" },
    "server-error": { text: t("Máy chủ đang lỗi — sẽ tự thử lại"), tone: "warn" },
    busy: { text: t("Máy chủ đang bận — sẽ tự thử lại"), tone: "warn" },
    auth: { text: t("Đăng nhập lại để gửi — các mục vẫn giữ trên máy"), tone: "warn" },
  };

  // Which of LINK_WORDS the status bar shows: the phone's network first, then a session to
  // renew, then what the server did last time — while a send is under way after a failure,
  // that failure is still the latest truth ("… — sẽ tự thử lại" is what is happening);
  // "Đang gửi…" only when nothing went wrong before it.
  function linkState(link, online, sending, pending) {
    if (!online) return "offline";
    if (link && link.state === "auth") return "auth";
    const failed = !!(link && LINK_WORDS[link.state] && ["ok", "offline", "sending"].indexOf(link.state) === -1);
    if (sending && !failed) return "sending";
    // With nothing waiting, an old failure says nothing about now.
    if (!pending || !failed) return "ok";
    return link.state;
  }

  // What went wrong with an item's last try, as the outbox page shows it beside the item.
  const FAILURE_WORDS = {
    unreachable: t("Không kết nối được máy chủ"),
    timeout: t("Máy chủ không trả lời"),
    "server-error": t("Máy chủ đang lỗi"),
    busy: t("Máy chủ đang bận"),
    offline: t("Máy đang ngoại tuyến"),
    auth: t("Cần đăng nhập lại"),
  };

  function failureWords(failure) {
    const words = FAILURE_WORDS[failure.kind] || FAILURE_WORDS["server-error"];
    return failure.status ? words + " (" + failure.status + ")" : words;
  }

  // "09:41", or "09:41:05" with seconds (a retry a few seconds away).
  function hhmm(ms, seconds) {
    const d = new Date(ms);
    const two = (n) => String(n).padStart(2, "0");
    return two(d.getHours()) + ":" + two(d.getMinutes()) + (seconds ? ":" + two(d.getSeconds()) : "");
  }

  // Kinds as counted in a sentence ("Đã gửi 2 lượt thăm, 1 nhân khẩu lúc 09:41").
  const KIND_WORDS = {
    visit: t("lượt thăm"),
    resident: t("nhân khẩu"),
    household: t("hộ mới"),
    household_edit: t("thông tin hộ đã sửa"),
    consent: t("ghi nhận đồng ý"),
    revision: t("bản sửa"),
  };

  // "2 lượt thăm": a number with its kind, one sentence each so a language can put the number
  // where it goes.
  function counted(kind, n) {
    const v = { n: n };
    if (kind === "visit") return t("%(n)s lượt thăm", v);
    if (kind === "resident") return t("%(n)s nhân khẩu", v);
    if (kind === "household") return t("%(n)s hộ mới", v);
    if (kind === "household_edit") return t("%(n)s thông tin hộ đã sửa", v);
    if (kind === "consent") return t("%(n)s ghi nhận đồng ý", v);
    if (kind === "revision") return t("%(n)s bản sửa", v);
    return t("%(n)s mục", v);
  }

  // The sentence for items that left the outbox: counts by kind, the time of the last one,
  // then anything the server asked the person to know (a possible duplicate).
  function announcement(entries) {
    if (!entries.length) return "";
    const counts = {};
    entries.forEach((e) => { counts[e.kind] = (counts[e.kind] || 0) + 1; });
    const parts = Object.keys(counts).map((kind) => counted(kind, counts[kind]));
    const last = Math.max(...entries.map((e) => e.sentAt));
    const notices = entries.map((e) => e.notice).filter(Boolean);
    return [t("Đã gửi %(what)s lúc %(time)s.", { what: parts.join(", "), time: hhmm(last) })].concat(notices).join(" ");
  }

  // The sent log kept: recent enough, newest last, bounded.
  function keepSent(entries, now) {
    return entries.filter((e) => now - e.sentAt <= SENT_KEEP_MS).slice(-SENT_KEEP_MAX);
  }

  // What the form says once the outbox has the item. `subject` names what was saved
  // ("lượt thăm hộ số 12"), `when` its time ("09:41"); `fate` is what became of it:
  // {sent, notice} or {attention} or the link state after trying ({state} / {offline}).
  function savedWords(subject, when, fate) {
    const what = subject + (when ? " · " + when : "");
    if (fate.sent) return [t("Đã lưu %(what)s. Đã gửi lên xã.", { what: what })].concat(fate.notice ? [fate.notice] : []).join(" ");
    const state = fate.offline ? "offline" : fate.state;
    return t("Đã lưu trên máy: %(what)s.", { what: what }) + " " + (KEPT_WORDS[state] || KEPT_WORDS.sending);
  }

  const KEPT_WORDS = {
    offline: t("Sẽ tự gửi khi có mạng."),
    sending: t("Đang gửi…"),
    unreachable: t("Chưa kết nối được máy chủ — sẽ tự gửi khi kết nối lại."),
    timeout: t("Máy chủ chưa trả lời — sẽ tự gửi lại."),
    "server-error": t("Máy chủ đang lỗi — sẽ tự gửi lại."),
    busy: t("Máy chủ đang bận — sẽ tự gửi lại."),
    auth: t("Đăng nhập lại để gửi — mục vẫn được giữ trên máy."),
  };

  root.FieldkitOutboxRules = {
    BATCH_SIZE, BASE_TIMEOUT_MS, MAX_TIMEOUT_MS, MIN_RETRY_MS, MAX_RETRY_MS, SENT_KEEP_MS,
    SOLO_FAILURES_FOR_ATTENTION, SOLO_ATTENTION_WORDS, LINK_WORDS, KIND_WORDS,
    requestTimeoutMs, retryDelayMs, afterFailure, isDue, nextWakeAt, plan, split,
    classifyStatus, retryAfterAt, itemOutcome, refusalWords, afterSoloFailure,
    linkState, failureWords, announcement, keepSent, savedWords, hhmm, counted, t,
  };
})(typeof self !== "undefined" ? self : globalThis);
