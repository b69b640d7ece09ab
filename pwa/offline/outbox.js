// Fieldkit outbox: every field write waits here, in IndexedDB, until the server has it.
// One outbox for the page and the service worker (loaded with <script> and importScripts,
// after outbox-rules.js, whose pure functions make every decision); it exposes
// `self.FieldkitOutbox`. No build step.
//
// Invariants (DESIGN.md §4):
// - an item leaves the outbox only after the server answered `stored` or `duplicate` for it,
//   and is then remembered for a few minutes (the "sent" log) so a reloaded page can say so;
// - network errors, timeouts, 5xx and 429 keep the item and try again after a wait that grows
//   with how long it has been failing (outbox-rules.js: afterFailure), never with how often a
//   send was forced; every request has a deadline (AbortController);
// - one item never blocks the others: a batch the server fails on is sent again in halves
//   until the failing item is alone; that item is sent alone and last from then on, and goes
//   to "Cần xử lý" once it keeps failing while the others get through;
// - 401 keeps everything and marks the outbox "sign in again";
// - `conflict`, `invalid` and `forbidden` move the item to "Cần xử lý" with the server's
//   message, where it can be edited and resent, or discarded by the person — never silently.
(function (root) {
  "use strict";

  // The page's words (`self.FieldkitT`): app.js's on a page, outbox-rules.js's in the worker.
  const t = root.FieldkitT;

  const R = root.FieldkitOutboxRules;
  const DB_NAME = "fieldkit";
  const DB_VERSION = 1;
  const ITEMS = "outbox";
  const META = "meta";
  const channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("fieldkit-outbox") : null;
  let dbPromise = null;

  // --- IndexedDB ----------------------------------------------------------------------------
  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains(ITEMS)) {
            db.createObjectStore(ITEMS, { keyPath: "id" }).createIndex("seq", "seq");
          }
          if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }

  // Run `work(transaction)` (IndexedDB callbacks only inside) and resolve with what it
  // returned once the transaction has committed.
  async function tx(stores, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(stores, mode);
      let result;
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error("aborted"));
      result = work(transaction);
    });
  }

  function req(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function all() {
    const db = await open();
    return req(db.transaction(ITEMS).objectStore(ITEMS).index("seq").getAll());
  }

  async function get(id) {
    const db = await open();
    return req(db.transaction(ITEMS).objectStore(ITEMS).get(id));
  }

  async function getMeta(key) {
    const db = await open();
    return req(db.transaction(META).objectStore(META).get(key));
  }

  function setMeta(key, value) {
    return tx([META], "readwrite", (t) => { t.objectStore(META).put(value, key); });
  }

  // Tell every other tab and the service worker (BroadcastChannel), and this page or worker
  // itself (an event on `self`: a channel never hears its own messages), that the outbox
  // changed — each redraws its status and sets its next wake from what it reads.
  function notify(what) {
    const message = { type: "changed", what: what || "outbox" };
    if (channel) channel.postMessage(message);
    if (typeof CustomEvent !== "undefined" && root.dispatchEvent) {
      root.dispatchEvent(new CustomEvent("fieldkit-outbox", { detail: message }));
    }
  }

  // --- putting items in and taking them out -------------------------------------------------
  // Put an item in the outbox (or replace it, by id, when a "Cần xử lý" item is fixed).
  // Resolves once IndexedDB has committed it: only then may the form say it is saved.
  async function enqueue(item) {
    const now = new Date().toISOString();
    await tx([ITEMS, META], "readwrite", (t) => {
      const items = t.objectStore(ITEMS);
      const meta = t.objectStore(META);
      const getSeq = meta.get("seq");
      getSeq.onsuccess = () => {
        const seq = (getSeq.result || 0) + 1;
        meta.put(seq, "seq");
        const existing = items.get(item.id);
        existing.onsuccess = () => {
          const before = existing.result;
          items.put({
            id: item.id,
            kind: item.kind,
            payload: item.payload,
            label: item.label || "",
            householdId: item.householdId || null,
            seq: before ? before.seq : seq,
            createdAt: before ? before.createdAt : now,
            updatedAt: now,
            state: "pending",
            failures: 0,
            failingSince: null,
            lastFailureAt: null,
            nextAttemptAt: 0,
            soloFailures: 0,
            soloVerified: false,
            lastError: null,
            errorKind: null,
            errors: null,
            status: null,
          });
        };
      };
    });
    notify();
  }

  async function remove(id) {
    await tx([ITEMS], "readwrite", (t) => { t.objectStore(ITEMS).delete(id); });
    notify();
  }

  function update(id, changes) {
    return tx([ITEMS], "readwrite", (t) => {
      const store = t.objectStore(ITEMS);
      const current = store.get(id);
      current.onsuccess = () => {
        if (current.result) store.put(Object.assign(current.result, changes));
      };
    });
  }

  async function summary() {
    const [items, lastSyncAt, authNeeded, link, sent] = await Promise.all([
      all(), getMeta("lastSyncAt"), getMeta("authNeeded"), getMeta("link"), getMeta("sent"),
    ]);
    return {
      pending: items.filter((i) => i.state === "pending").length,
      attention: items.filter((i) => i.state === "attention").length,
      items: items,
      lastSyncAt: lastSyncAt || null,
      authNeeded: !!authNeeded,
      link: link || null,
      sent: R.keepSent(sent || [], Date.now()),
      sending: sending,
    };
  }

  // Items that left the outbox and that no page has told the person about yet (all of them,
  // or those of `ids`), marked as told in the same transaction: two tabs never both announce.
  function takeAnnouncements(ids) {
    return tx([META], "readwrite", (t) => {
      const meta = t.objectStore(META);
      const taken = [];
      const read = meta.get("sent");
      read.onsuccess = () => {
        const entries = R.keepSent(read.result || [], Date.now());
        entries.forEach((entry) => {
          if (!entry.announced && (!ids || ids.indexOf(entry.id) !== -1)) {
            entry.announced = true;
            taken.push(entry);
          }
        });
        meta.put(entries, "sent");
      };
      return taken;
    });
  }

  // --- sending ------------------------------------------------------------------------------
  let flushing = null;
  let sending = false;

  function setSending(on) {
    sending = on;
    if (channel) channel.postMessage({ type: "sending", on: on });
  }

  // Send what is due, in order. Safe to call from anywhere, any time: concurrent calls share
  // one run (across tabs and the service worker, by a Web Lock), and the server's UUID rule
  // makes a repeated send harmless. `force` ("Gửi ngay", opening the app, a save, `online`)
  // sends every pending item at once, whatever its wait.
  function flush(options) {
    options = options || {};
    if (flushing) {
      // A run is under way; a forced one still deserves a run of its own after it, with
      // whatever changed meanwhile (a sign-in, a server back up). The run under way ends by
      // its requests' deadline at the latest.
      if (!options.force) return flushing;
      return flushing.catch(() => {}).then(() => flush(options));
    }
    const run = () => doFlush(options);
    const locks = root.navigator && root.navigator.locks;
    flushing = (async () => {
      try {
        return await (locks ? locks.request("fieldkit-outbox", run) : run());
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  }

  async function doFlush(options) {
    const origin = options.origin || root.location.origin;
    const now = Date.now();
    const items = await all();
    const due = items.filter((i) => R.isDue(i, now, !!options.force));
    const outcome = { sent: 0, attention: 0, failed: 0, idle: false, link: null };
    if (!due.length) {
      outcome.idle = true;
      return outcome;
    }
    if (root.navigator && root.navigator.onLine === false) {
      // No network at all: nothing is tried and no failure counted; `online` sends.
      outcome.link = { state: "offline", at: now };
      await setMeta("link", outcome.link);
      notify();
      return outcome;
    }
    setSending(true);
    try {
      await send(origin, due, outcome);
    } finally {
      setSending(false);
    }
    notify(outcome.sent ? "sent" : "outbox");
    return outcome;
  }

  // One request with a deadline. Resolves, never rejects: {kind, status, data, retryAt,
  // message} where kind is outbox-rules.js classifyStatus's, or unreachable / timeout.
  async function request(url, init, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(url, Object.assign({}, init, { signal: controller.signal }));
      const text = await response.text(); // the body too must arrive before the deadline
      let data = null;
      try { data = JSON.parse(text); } catch (e) { data = null; }
      return {
        kind: R.classifyStatus(response.status),
        status: response.status,
        data: data,
        retryAt: R.retryAfterAt(response.headers.get("Retry-After"), Date.now()),
        message: data && typeof data.error === "string" ? data.error : null,
      };
    } catch (error) {
      return { kind: controller.signal.aborted ? "timeout" : "unreachable", status: null };
    } finally {
      clearTimeout(timer);
    }
  }

  // A fresh CSRF token (a page served from cache may carry a stale one), which also tells
  // whether the session is alive: {kind: "ok", token} or a failure.
  async function sessionToken(origin) {
    const answer = await request(origin + "/api/v1/session",
      { credentials: "same-origin", cache: "no-store" }, R.requestTimeoutMs(0));
    if (answer.kind === "ok") {
      // A 200 that is not ours (a captive portal, a proxy's page) reached no Fieldkit.
      if (!answer.data || typeof answer.data.csrf_token !== "string") return { kind: "unreachable", status: null };
      return { kind: "ok", token: answer.data.csrf_token };
    }
    if (answer.kind === "csrf" || answer.kind === "refused") return Object.assign(answer, { kind: "server-error" });
    return answer;
  }

  function post(run, group) {
    const body = JSON.stringify({
      items: group.map((i) => ({ id: i.id, kind: i.kind, payload: i.payload })),
    });
    return request(run.origin + "/api/v1/sync", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": run.token },
      body: body,
    }, R.requestTimeoutMs(new TextEncoder().encode(body).length));
  }

  async function send(origin, due, outcome) {
    const run = {
      origin: origin, token: null, renewed: false, successes: 0, stop: null, outcome: outcome,
      settled: new Set(), solo: [], unanswered: [],
    };
    const first = await sessionToken(origin);
    if (first.kind !== "ok") {
      run.stop = first;
    } else {
      run.token = first.token;
      for (const group of R.plan(due)) {
        if (run.stop) break;
        await sendGroup(run, group);
      }
    }
    await conclude(run, due);
  }

  async function sendGroup(run, group) {
    const answer = await post(run, group);
    if (answer.kind === "csrf" && !run.renewed) {
      // The session changed since the token was read (a sign-in in another tab): once more.
      run.renewed = true;
      const again = await sessionToken(run.origin);
      if (again.kind !== "ok") { run.stop = again; return; }
      run.token = again.token;
      return sendGroup(run, group);
    }
    if (answer.kind === "ok") {
      if (!answer.data || !Array.isArray(answer.data.results)) {
        run.stop = { kind: "unreachable", status: null }; // a 200 that is not Fieldkit's
        return;
      }
      run.successes += 1;
      await settle(run, group, answer.data.results);
      return;
    }
    if (["auth", "busy", "unreachable", "timeout"].indexOf(answer.kind) !== -1) {
      run.stop = answer; // not about these items: everything waits
      return;
    }
    // A server error, or a refusal of the whole request: find the item that causes it.
    if (group.length > 1) {
      for (const half of R.split(group)) {
        if (run.stop) return;
        await sendGroup(run, half);
      }
      return;
    }
    run.solo.push({ item: group[0], message: answer.message ? answer.message : R.failureWords(answer) });
    // Two items failing alone and nothing accepted: the server fails on everything now.
    if (!run.successes && run.solo.length >= 2) run.stop = answer;
  }

  // Apply a 200 answer: what was received leaves (into the sent log), what was refused goes
  // to "Cần xử lý", what failed on its own is tried again alone.
  async function settle(run, group, results) {
    const byId = {};
    results.forEach((r) => { if (r && typeof r.id === "string") byId[r.id] = r; });
    const now = Date.now();
    const decided = group.map((item) => ({ item: item, fate: R.itemOutcome(byId[item.id]) }));
    decided.forEach(({ item, fate }) => {
      if (fate.outcome === "solo-failure") run.solo.push({ item: item, message: fate.message || R.failureWords({ kind: "server-error" }), verified: true });
      if (fate.outcome === "unanswered") run.unanswered.push(item);
    });
    await tx([ITEMS, META], "readwrite", (t) => {
      const store = t.objectStore(ITEMS);
      const meta = t.objectStore(META);
      const sent = [];
      decided.forEach(({ item, fate }) => {
        if (fate.outcome === "sent") {
          store.delete(item.id);
          run.settled.add(item.id);
          run.outcome.sent += 1;
          sent.push({ id: item.id, kind: item.kind, label: item.label, householdId: item.householdId,
                      sentAt: now, notice: fate.notice, announced: false });
        } else if (fate.outcome === "attention") {
          run.settled.add(item.id);
          run.outcome.attention += 1;
          store.put(Object.assign(item, {
            state: "attention", status: fate.status, lastError: fate.message, errors: fate.errors,
          }));
        }
      });
      if (sent.length) {
        const read = meta.get("sent");
        read.onsuccess = () => meta.put(R.keepSent((read.result || []).concat(sent), now), "sent");
      }
      meta.put(new Date(now).toISOString(), "lastSyncAt");
      meta.put(false, "authNeeded");
    });
  }

  // After the run: the items that failed get their wait; the link's state is written down.
  async function conclude(run, due) {
    const now = Date.now();
    const verified = run.successes > 0;
    const changes = new Map();
    run.solo.forEach(({ item, message, verified: itemVerified }) => {
      const judged = R.afterSoloFailure(item, verified || itemVerified);
      if (judged.toAttention) {
        run.outcome.attention += 1;
        changes.set(item.id, Object.assign({}, item, {
          state: "attention", status: "error", lastError: R.SOLO_ATTENTION_WORDS, errors: null,
          soloFailures: judged.soloFailures, soloVerified: true, nextAttemptAt: 0,
        }));
      } else {
        run.outcome.failed += 1;
        changes.set(item.id, Object.assign({}, item,
          R.afterFailure(item, { kind: "server-error", message: message }, now, Math.random()),
          { soloFailures: judged.soloFailures, soloVerified: judged.soloVerified }));
      }
    });
    run.unanswered.forEach((item) => {
      run.outcome.failed += 1;
      changes.set(item.id, Object.assign({}, item,
        R.afterFailure(item, { kind: "server-error" }, now, Math.random())));
    });
    const stop = run.stop;
    if (stop && stop.kind !== "auth") {
      due.forEach((item) => {
        if (run.settled.has(item.id) || changes.has(item.id)) return;
        run.outcome.failed += 1;
        changes.set(item.id, Object.assign({}, item, R.afterFailure(item, stop, now, Math.random())));
      });
    }
    let link = { state: "ok", at: now };
    if (stop) link = { state: stop.kind, status: stop.status || null, at: now, retryAt: stop.retryAt || null };
    else if (run.outcome.failed) link = { state: "server-error", status: null, at: now };
    run.outcome.link = link;
    await tx([ITEMS, META], "readwrite", (t) => {
      const store = t.objectStore(ITEMS);
      changes.forEach((changed, id) => {
        // Only if nobody replaced the item meanwhile (a fix of it saved in another tab).
        const current = store.get(id);
        current.onsuccess = () => {
          if (current.result && current.result.updatedAt === changed.updatedAt) store.put(changed);
        };
      });
      const meta = t.objectStore(META);
      meta.put(link, "link");
      if (stop && stop.kind === "auth") meta.put(true, "authNeeded");
      else if (run.token) meta.put(false, "authNeeded"); // the session answered: signed in
    });
  }

  // --- the last resort for a phone whose storage is in trouble: everything waiting, as a file
  async function exportAll() {
    const items = await all();
    return JSON.stringify({ format: "fieldkit-outbox", version: 1,
                            exportedAt: new Date().toISOString(), items: items }, null, 1);
  }

  // Import items from an exported file. Items already here (same id) are kept as they are.
  async function importAll(text) {
    const data = JSON.parse(text);
    if (!data || data.format !== "fieldkit-outbox" || !Array.isArray(data.items)) {
      throw new Error(t("Tệp không phải bản sao hộp thư đi của Fieldkit."));
    }
    const known = new Set((await all()).map((i) => i.id));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const fresh = data.items.filter((i) => i && uuid.test(i.id) && i.kind && i.payload && !known.has(i.id));
    for (const item of fresh) await enqueue(item);
    return fresh.length;
  }

  root.FieldkitOutbox = {
    enqueue, flush, all, get, remove, update, summary, exportAll, importAll, takeAnnouncements,
    getMeta, setMeta, channel,
    get sending() { return sending; },
  };
})(self);
