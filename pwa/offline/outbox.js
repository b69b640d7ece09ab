// Fieldkit outbox: every field write waits here, in IndexedDB, until the server has it.
// One module for the page and the service worker (loaded with <script> and importScripts);
// it exposes `self.FieldkitOutbox`. No build step.
//
// Invariants (DESIGN.md §4):
// - an item leaves the outbox only after the server answered `stored` or `duplicate` for it;
// - network errors, 5xx and 429 keep the item and retry later with backoff;
// - 401 keeps everything and marks the outbox "sign in again";
// - `conflict`, `invalid` and `forbidden` move the item to "Cần xử lý" with the server's
//   message, where it can be edited and resent, or discarded by the person — never silently.
(function (root) {
  "use strict";

  var DB_NAME = "fieldkit";
  var DB_VERSION = 1;
  var ITEMS = "outbox";
  var META = "meta";
  var BATCH = 25;
  var BACKOFF_MS = [2000, 5000, 15000, 30000, 60000, 120000, 300000];
  var channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel("fieldkit-outbox") : null;
  var dbPromise = null;

  // The page's words for scripts (pwa/js_words.py): the page carries, as JSON in
  // <meta name="fieldkit-words">, the translation of each Vietnamese sentence the scripts show;
  // without it (Vietnamese, or in the service worker) a sentence stays Vietnamese.
  // `%(name)s` takes a value, as in gettext.
  var words = {};
  if (typeof document !== "undefined") {
    var meta = document.querySelector('meta[name="fieldkit-words"]');
    try { words = meta ? JSON.parse(meta.content) : {}; } catch (e) { words = {}; }
  }
  function t(text, values) {
    var said = words[text] || text;
    return values ? said.replace(/%\((\w+)\)s/g, function (all, name) { return values[name]; }) : said;
  }
  root.FieldkitT = t;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          var db = request.result;
          if (!db.objectStoreNames.contains(ITEMS)) {
            var store = db.createObjectStore(ITEMS, { keyPath: "id" });
            store.createIndex("seq", "seq");
          }
          if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function tx(stores, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(stores, mode);
        var result;
        transaction.oncomplete = function () { resolve(result); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error || new Error("aborted")); };
        result = work(transaction);
      });
    });
  }

  function req(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function all() {
    return open().then(function (db) {
      return req(db.transaction(ITEMS).objectStore(ITEMS).index("seq").getAll());
    });
  }

  function getMeta(key) {
    return open().then(function (db) { return req(db.transaction(META).objectStore(META).get(key)); });
  }

  function setMeta(key, value) {
    return tx([META], "readwrite", function (t) { t.objectStore(META).put(value, key); });
  }

  function notify(what) {
    if (channel) channel.postMessage({ type: "changed", what: what || "outbox" });
  }

  // Put an item in the outbox (or replace it, by id, when a "Cần xử lý" item is fixed).
  // Resolves once IndexedDB has committed it: only then may the form say it is saved.
  function enqueue(item) {
    var now = new Date().toISOString();
    return tx([ITEMS, META], "readwrite", function (t) {
      var items = t.objectStore(ITEMS);
      var meta = t.objectStore(META);
      var getSeq = meta.get("seq");
      getSeq.onsuccess = function () {
        var seq = (getSeq.result || 0) + 1;
        meta.put(seq, "seq");
        var existing = items.get(item.id);
        existing.onsuccess = function () {
          var before = existing.result;
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
            attempts: 0,
            nextAttemptAt: 0,
            lastError: null,
            errors: null,
          });
        };
      };
    }).then(function () { notify(); });
  }

  function remove(id) {
    return tx([ITEMS], "readwrite", function (t) { t.objectStore(ITEMS).delete(id); })
      .then(function () { notify(); });
  }

  function get(id) {
    return open().then(function (db) { return req(db.transaction(ITEMS).objectStore(ITEMS).get(id)); });
  }

  function update(id, changes) {
    return tx([ITEMS], "readwrite", function (t) {
      var store = t.objectStore(ITEMS);
      var current = store.get(id);
      current.onsuccess = function () {
        if (current.result) store.put(Object.assign(current.result, changes));
      };
    });
  }

  function summary() {
    return Promise.all([all(), getMeta("lastSyncAt"), getMeta("authNeeded"),
                        getMeta("unreachable")]).then(function (r) {
      var items = r[0];
      return {
        unreachable: !!r[3],
        pending: items.filter(function (i) { return i.state === "pending"; }).length,
        attention: items.filter(function (i) { return i.state === "attention"; }).length,
        items: items,
        lastSyncAt: r[1] || null,
        authNeeded: !!r[2],
      };
    });
  }

  function csrfToken(origin) {
    // A fresh token from the server: a page served from cache may carry a stale one.
    return fetch(origin + "/api/v1/session", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) return null;
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json().then(function (body) { return body.csrf_token; });
      });
  }

  var flushing = null;

  // Send what is due, in order, in batches. Safe to call from anywhere, any time: concurrent
  // calls share one run, and the server's UUID rule makes a repeated send harmless.
  function flush(options) {
    options = options || {};
    if (flushing) {
      // A run is under way; "Gửi ngay" (force) still deserves a run of its own after it,
      // with whatever changed meanwhile (a sign-in, a server back up).
      if (!options.force) return flushing;
      return flushing.catch(function () {}).then(function () { return flush(options); });
    }
    var run = function () { return doFlush(options); };
    var locked = (root.navigator && root.navigator.locks)
      ? root.navigator.locks.request("fieldkit-outbox", run) : run();
    flushing = Promise.resolve(locked).then(function (result) {
      flushing = null;
      return result;
    }, function (error) {
      flushing = null;
      throw error;
    });
    return flushing;
  }

  function doFlush(options) {
    var origin = options.origin || root.location.origin;
    var force = !!options.force;
    var outcome = { sent: 0, attention: 0, retry: false, authNeeded: false, offline: false };
    return all().then(function (items) {
      var now = Date.now();
      var due = items.filter(function (i) {
        return i.state === "pending" && (force || !i.nextAttemptAt || i.nextAttemptAt <= now);
      });
      if (!due.length) { outcome.idle = true; return outcome; }
      return csrfToken(origin).then(function (token) {
        if (token === null) return markAuth(outcome);
        return sendBatches(origin, token, due, outcome);
      }, function () {
        outcome.offline = true;
        return backoff(due, t("Không kết nối được máy chủ")).then(function () { return outcome; });
      });
    }).then(function (result) {
      // Whether the server answered: "online" is about the phone's network, not our server.
      var known = result.idle ? Promise.resolve() : setMeta("unreachable", !!result.offline);
      return known.then(function () {
        notify();
        return result;
      });
    });
  }

  function markAuth(outcome) {
    outcome.authNeeded = true;
    return setMeta("authNeeded", true).then(function () { return outcome; });
  }

  function sendBatches(origin, token, due, outcome) {
    var batch = due.slice(0, BATCH);
    var rest = due.slice(BATCH);
    var body = JSON.stringify({
      items: batch.map(function (i) { return { id: i.id, kind: i.kind, payload: i.payload }; }),
    });
    return fetch(origin + "/api/v1/sync", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: body,
    }).then(function (response) {
      if (response.status === 401) return markAuth(outcome);
      if (response.status === 429 || response.status >= 500 || response.status === 400) {
        // 400 here is a CSRF refusal (a new session since the token was read): retry soon.
        outcome.retry = true;
        return backoff(due, t("Máy chủ đang bận (%(status)s)", { status: response.status })).then(function () { return outcome; });
      }
      if (!response.ok) {
        outcome.retry = true;
        return backoff(due, t("Máy chủ trả lời %(status)s", { status: response.status })).then(function () { return outcome; });
      }
      return response.json().then(function (answer) {
        return settle(batch, answer.results || [], outcome).then(function () {
          return Promise.all([setMeta("lastSyncAt", new Date().toISOString()), setMeta("authNeeded", false)]);
        }).then(function () {
          return rest.length ? sendBatches(origin, token, rest, outcome) : outcome;
        });
      });
    }, function () {
      outcome.offline = true;
      return backoff(due, t("Không kết nối được máy chủ")).then(function () { return outcome; });
    });
  }

  function settle(batch, results, outcome) {
    var byId = {};
    results.forEach(function (r) { byId[r.id] = r; });
    return tx([ITEMS], "readwrite", function (t) {
      var store = t.objectStore(ITEMS);
      batch.forEach(function (item) {
        var result = byId[item.id];
        if (!result) return; // not answered: stays pending, sent again next time
        if (result.status === "stored" || result.status === "duplicate") {
          store.delete(item.id);
          outcome.sent += 1;
        } else {
          outcome.attention += 1;
          store.put(Object.assign(item, {
            state: "attention",
            status: result.status,
            lastError: result.message || messageFor(result.status),
            errors: result.errors || null,
            attempts: item.attempts + 1,
          }));
        }
      });
    });
  }

  function messageFor(status) {
    if (status === "invalid") return t("Dữ liệu chưa hợp lệ — hãy sửa rồi gửi lại.");
    if (status === "conflict") return t("Mục này đã được gửi trước đó với nội dung khác.");
    if (status === "forbidden") return t("Bạn không có quyền gửi mục này.");
    return t("Máy chủ không nhận mục này.");
  }

  function backoff(items, message) {
    return tx([ITEMS], "readwrite", function (t) {
      var store = t.objectStore(ITEMS);
      items.forEach(function (item) {
        var attempts = item.attempts + 1;
        var wait = BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)];
        store.put(Object.assign(item, {
          attempts: attempts, lastError: message, nextAttemptAt: Date.now() + wait,
        }));
      });
    });
  }

  // The last resort for a phone whose storage is in trouble: everything waiting, as a file.
  function exportAll() {
    return all().then(function (items) {
      return JSON.stringify({ format: "fieldkit-outbox", version: 1,
                              exportedAt: new Date().toISOString(), items: items }, null, 1);
    });
  }

  // Import items from an exported file. Items already here (same id) are kept as they are.
  function importAll(text) {
    var data = JSON.parse(text);
    if (!data || data.format !== "fieldkit-outbox" || !Array.isArray(data.items)) {
      return Promise.reject(new Error(t("Tệp không phải bản sao hộp thư đi của Fieldkit.")));
    }
    return all().then(function (items) {
      var known = {};
      items.forEach(function (i) { known[i.id] = true; });
      var uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
      var fresh = data.items.filter(function (i) {
        return i && uuid.test(i.id) && i.kind && i.payload && !known[i.id];
      });
      return fresh.reduce(function (chain, item) {
        return chain.then(function () { return enqueue(item); });
      }, Promise.resolve()).then(function () { return fresh.length; });
    });
  }

  root.FieldkitOutbox = {
    enqueue: enqueue, flush: flush, all: all, get: get, remove: remove, update: update,
    summary: summary, exportAll: exportAll, importAll: importAll,
    getMeta: getMeta, setMeta: setMeta, channel: channel,
  };
})(self);
