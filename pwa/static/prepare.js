// Fieldkit: the day's pages kept on the phone (DESIGN.md §4.1, §8). The phone tells the server
// which page versions it holds and receives what changed as one compressed response per chunk
// of ~150 households (POST /api/v1/offline-pack, pwa/offline_pack.py), every page whole with
// its URL and version. Each chunk is stored as it arrives, page by page, as ordinary responses
// in Cache Storage — where the service worker answers navigations from when offline — so a
// dropped connection resumes where it stopped. No page is fetched one by one.
//
// app.js calls FieldkitPrepare.run(soon, refreshStatus) after the page has loaded and after
// each sync. The status bar shows progress ("Đang chuẩn bị ngoại tuyến: 240/621 hộ") and says
// "Sẵn sàng ngoại tuyến: N hộ · cập nhật HH:MM" only once everything is stored. Before a large
// pack the phone checks its free space (navigator.storage.estimate) and says plainly when it
// is short; nothing is ever removed from the outbox (IndexedDB) to make room.
(function () {
  "use strict";
  // The page's words for scripts (pwa/js_words.py, pwa/offline/outbox.js).
  var t = window.FieldkitT || function (text) { return text; };

  var PAGES_CACHE = "fieldkit-pages";
  var PACK_URL = "/api/v1/offline-pack";
  var PREPARE_EVERY_MS = 60 * 60 * 1000;
  var RETRY_MS = [5000, 20000, 60000];
  // Room left for the outbox and the rest of the app once the pack is stored.
  var RESERVE_BYTES = 5 * 1024 * 1024;
  var ROWS_START = "<!--rows-->\n";
  var ROWS_END = "<!--/rows-->";
  var ROW_ID = /href="\/households\/(\d+)"/;

  var Outbox = window.FieldkitOutbox;
  var running = false;
  var failures = 0;
  var retryTimer = null;
  var lastStatus = function () {};

  // Not room enough: `need` bytes (the pages and room kept for the outbox), `free` left.
  function StorageShort(need, free, households) {
    this.need = need;
    this.free = free;
    this.households = households;
  }

  function megabytes(bytes) {
    if (bytes < 1024 * 1024) return t("dưới 1 MB");
    return Math.round(bytes / (1024 * 1024)).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "vi-VN") + " MB";
  }

  // A short heading, then what to do, in plain weight: a wall of bold text is not read.
  function storageBanner(short) {
    var banner = document.querySelector("[data-storage-short]");
    if (!banner) return;
    banner.hidden = !short;
    if (!short) return;
    var heading = document.createElement("strong");
    heading.textContent = t("Máy còn ít chỗ trống");
    var advice = document.createElement("span");
    advice.textContent = t("Cần khoảng %(need)s để giữ %(what)s dùng khi không có mạng, máy chỉ còn %(free)s. Hãy xóa bớt ảnh, video hoặc ứng dụng không dùng rồi mở lại Fieldkit. Những gì chờ gửi vẫn được giữ nguyên.", {
      need: megabytes(short.need),
      what: short.households ? t("%(count)s hộ", { count: short.households }) : t("các trang"),
      free: megabytes(short.free) });
    banner.replaceChildren(heading, advice);
  }

  function csrfToken(fresh) {
    if (!fresh) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      return Promise.resolve(meta ? meta.content : "");
    }
    return fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (session) { return session.csrf_token || ""; });
  }

  // The versions sent up are ~25 KB of JSON for 600 households; gzip makes them ~6 KB.
  function requestBody(request) {
    var text = JSON.stringify(request);
    if (!window.CompressionStream || text.length < 2048) return Promise.resolve({ body: text, gzip: false });
    var stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
    return new Response(stream).arrayBuffer().then(function (body) { return { body: body, gzip: true }; });
  }

  // The answer's headers, once they have come (its pages follow).
  function askForChunk(request, signal, retriedToken) {
    return Promise.all([requestBody(request), csrfToken(retriedToken)]).then(function (r) {
      var headers = { "Content-Type": "application/json", "Accept": "application/json",
                      "X-CSRF-Token": r[1] };
      if (r[0].gzip) headers["Content-Encoding"] = "gzip";
      return fetch(PACK_URL, { method: "POST", credentials: "same-origin", cache: "no-store",
                               headers: headers, body: r[0].body, signal: signal });
    }).then(function (response) {
      // A page kept from another session carries a stale CSRF token: ask once for a fresh one.
      if (response.status === 400 && !retriedToken) return askForChunk(request, signal, true);
      if (!response.ok) {
        var refused = new Error("HTTP " + response.status);
        refused.status = response.status;
        throw refused;
      }
      return response;
    });
  }

  function rowsOf(text) {
    var start = text.indexOf(ROWS_START);
    var end = start < 0 ? -1 : text.indexOf(ROWS_END, start);
    if (end < 0) return null;
    var rows = {};
    text.slice(start + ROWS_START.length, end).split("\n").forEach(function (line) {
      var found = ROW_ID.exec(line);
      if (found) rows[found[1]] = line;
    });
    return rows;
  }

  // The list as the server has it now: its new frame, the rows that changed, and the rows the
  // phone already holds, in the server's order. False when the phone's copy cannot serve.
  function patchPage(cache, page, headers) {
    return cache.match(page.url).then(function (cached) {
      return cached ? cached.text() : null;
    }).then(function (text) {
      var held = text === null ? null : rowsOf(text);
      if (!held) return false;
      var patch = page.patch;
      var lines = [];
      for (var i = 0; i < patch.order.length; i++) {
        var id = String(patch.order[i]);
        var line = Object.prototype.hasOwnProperty.call(patch.rows, id) ? patch.rows[id] : held[id];
        if (line === undefined) return false;
        lines.push(line + "\n");
      }
      var html = patch.head + lines.join("") + patch.tail;
      return cache.put(new Request(page.url), new Response(html, { headers: headers })).then(function () {
        return true;
      });
    });
  }

  // One chunk into Cache Storage, then its versions into the outbox's meta store: a page is
  // only ever counted as held once it is stored.
  function store(cache, pack, versions) {
    var whole = true;
    var drops = (pack.drop || []).map(function (url) {
      delete versions[url];
      return cache.delete(url);
    });
    var puts = pack.pages.map(function (page) {
      var stored = page.patch
        ? patchPage(cache, page, pack.headers)
        : cache.put(new Request(page.url), new Response(page.html, { headers: pack.headers })).then(function () { return true; });
      return stored.then(function (ok) {
        if (ok) versions[page.url] = page.version;
        else { delete versions[page.url]; whole = false; }
      });
    });
    return Promise.all(drops.concat(puts)).then(function () {
      return Outbox.setMeta("pageVersions", versions);
    }).then(function () { return whole; });
  }

  // Room for `need` bytes of pages, and RESERVE_BYTES left for the outbox and the app.
  // Resolves when there is (or the browser cannot say); rejects with StorageShort if not.
  function enoughRoom(need, households) {
    if (!need || !navigator.storage || !navigator.storage.estimate) return Promise.resolve();
    return navigator.storage.estimate().then(function (estimate) {
      if (!estimate.quota) return;
      var free = Math.max(0, estimate.quota - (estimate.usage || 0));
      // Cache Storage keeps each page with its headers and some bookkeeping: a quarter more.
      var wanted = need * 1.25 + RESERVE_BYTES;
      if (wanted > free) throw new StorageShort(wanted, free, households);
    });
  }

  function progress(pack, waiting) {
    if (pack.households === null || pack.households === undefined) return Outbox.setMeta("preparing", null);
    return Outbox.setMeta("preparing", t("%(ready)s/%(count)s hộ", { ready: pack.ready, count: pack.households }) +
                          (waiting ? t(" · chờ mạng để tiếp tục") : ""));
  }

  // The pages the phone holds: the versions it noted, for pages still in Cache Storage (the
  // browser may have cleared it, and the service worker puts in pages opened online).
  function held(cache, versions) {
    return cache.keys().then(function (requests) {
      var present = {};
      requests.forEach(function (request) { present[new URL(request.url).pathname] = true; });
      var have = {};
      Object.keys(versions).forEach(function (url) { if (present[url]) have[url] = versions[url]; });
      return have;
    });
  }

  function workerReady() {
    if (!("serviceWorker" in navigator)) return Promise.reject(new Error("no service worker"));
    return navigator.serviceWorker.ready;
  }

  function prepare(onStatus) {
    var versions;
    var cache;
    var last = null;
    var checked = false;
    var incomplete = false;
    var askedWhole = false;
    var stop = window.AbortController ? new AbortController() : null;

    function ask(after) {
      return held(cache, versions).then(function (have) {
        var request = after === null ? { have: have } : { have: have, after: after };
        return askForChunk(request, stop && stop.signal);
      });
    }

    // One chunk: read it, check the room before the first, store it. The next chunk is asked
    // for as soon as this one's headers name it, so the server makes it while this one comes.
    function take(asked) {
      return asked.then(function (response) {
        var after = response.headers.get("Fieldkit-Pack-Next");
        var upcoming = after ? ask(Number(after)) : null;
        if (upcoming) upcoming.catch(function () { /* seen when its turn comes */ });
        return response.json().then(function (pack) {
          last = pack;
          var room = checked ? Promise.resolve() : enoughRoom(pack.need_bytes, pack.households);
          checked = true;
          return room.then(function () { return store(cache, pack, versions); });
        }).then(function (whole) {
          incomplete = incomplete || !whole;
          storageBanner(null);
          return progress(last, false).then(onStatus).then(function () {
            if (upcoming) return take(upcoming);
            if (last.next !== null && last.next !== undefined) return take(ask(last.next));
            // A page that could not be patched (the list) is asked for whole, once.
            if (incomplete && !askedWhole) {
              askedWhole = true;
              return take(ask(null));
            }
          });
        });
      });
    }

    return Promise.all([caches.open(PAGES_CACHE), Outbox.getMeta("pageVersions")]).then(function (r) {
      cache = r[0];
      versions = r[1] || {};
      return Outbox.setMeta("prepareUnfinished", true);
    }).then(function () {
      return take(ask(null));
    }).then(workerReady).then(function () {
      // "Ready offline" only once everything is stored and the worker that answers offline
      // is active.
      return Promise.all([Outbox.setMeta("readyCount", last.households),
                          Outbox.setMeta("readyAt", new Date().toISOString()),
                          Outbox.setMeta("storageShort", null),
                          Outbox.setMeta("prepareUnfinished", false),
                          Outbox.setMeta("preparing", null)]);
    }, function (error) {
      if (stop) stop.abort();
      if (error instanceof StorageShort) {
        storageBanner(error);
        // Remembered, so the next pages check the room before asking for anything again.
        return Promise.all([Outbox.setMeta("preparing", null),
                            Outbox.setMeta("storageShort", { need: (error.need - RESERVE_BYTES) / 1.25,
                                                             households: error.households })])
          .then(function () { throw error; });
      }
      return (last ? progress(last, true) : Outbox.setMeta("preparing", null)).then(function () { throw error; });
    });
  }

  function due() {
    return Promise.all([Outbox.getMeta("readyAt"), Outbox.getMeta("prepareUnfinished")]).then(function (m) {
      return !m[0] || m[1] || Date.now() - new Date(m[0]).getTime() > PREPARE_EVERY_MS;
    });
  }

  // Prepares the day's pages now (`soon`: whatever the time since the last time, as after a
  // sync) or when due. Resolves when done or given up for now; tries again after a failure,
  // and when the network comes back.
  function run(soon, onStatus) {
    lastStatus = onStatus || lastStatus;
    if (running || !Outbox || !window.caches || !navigator.onLine) return Promise.resolve(false);
    running = true;
    clearTimeout(retryTimer);
    return (soon ? Promise.resolve(true) : due()).then(function (go) {
      if (!go) return false;
      // Short of room last time: nothing is asked for until there is room.
      return Outbox.getMeta("storageShort").then(function (short) {
        return short ? enoughRoom(short.need, short.households) : null;
      }).then(function () {
        return prepare(lastStatus);
      }).then(function () { failures = 0; return true; });
    }).catch(function (error) {
      if (error instanceof StorageShort) {
        storageBanner(error);
        return false;
      }
      failures += 1;
      // Signed out or refused: the status bar asks to sign in again; trying changes nothing.
      var refused = error && error.status >= 400 && error.status < 500 && error.status !== 408 &&
        error.status !== 429;
      if (navigator.onLine && !refused) {
        retryTimer = setTimeout(function () { run(true); }, RETRY_MS[Math.min(failures, RETRY_MS.length) - 1]);
      }
      return false;
    }).then(function (done) {
      running = false;
      return Promise.resolve(lastStatus()).then(function () { return done; });
    });
  }

  window.addEventListener("online", function () {
    if (!Outbox) return;
    Outbox.getMeta("prepareUnfinished").then(function (unfinished) { if (unfinished) run(true); });
  });

  window.FieldkitPrepare = { run: run };
})();
