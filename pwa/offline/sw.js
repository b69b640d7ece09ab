// Fieldkit service worker. Served at /sw.js (so it controls the whole site) by
// pwa/routes/offline.py, which fills in the version and the app shell's URLs.
//
// - the app shell is precached per version; old caches are removed on activate;
// - navigations: network first; the saved copy when the network fails, the server answers
//   5xx (a proxy's 502/503/504 included) or takes longer than NAV_TIMEOUT_MS; then the
//   Vietnamese offline page. A saved copy is marked (<body data-saved-copy=…>) so the page
//   says it is showing what was kept on the phone, and why;
// - static files (versioned URLs) cache first;
// - a new version waits until the person taps "Tải lại" (no silent swap mid-form);
// - Background Sync and messages flush the outbox (pwa/offline/outbox.js);
// - push: shows the notification sent by `fieldkit push-worker`; a tap opens its page.
"use strict";

var VERSION = "__VERSION__";
var SHELL = __SHELL__;
var SHELL_CACHE = "fieldkit-shell-" + VERSION;
var PAGES_CACHE = "fieldkit-pages";
var STATIC_CACHE = "fieldkit-static";
// A page of ours is ~10 KB compressed: 1–3 s on 3G. Past 5 s, with a saved copy on the phone,
// the person is better served by it (the fresh page still goes to the cache when it arrives).
var NAV_TIMEOUT_MS = 5000;
// With no saved copy there is nothing better to show: the network gets this long in all.
var NAV_NO_COPY_LIMIT_MS = 30000;

importScripts(__OUTBOX_RULES__, __OUTBOX__);

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("fieldkit-shell-") === 0 && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "skip-waiting") self.skipWaiting();
  if (data.type === "flush") event.waitUntil(self.FieldkitOutbox.flush({ origin: self.location.origin }));
});

self.addEventListener("sync", function (event) {
  if (event.tag === "fieldkit-outbox") {
    event.waitUntil(self.FieldkitOutbox.flush({ origin: self.location.origin }).then(function (r) {
      // Rejecting asks the browser to try this sync again later.
      if (r.failed || (r.link && r.link.state !== "ok")) throw new Error("outbox not delivered yet");
    }));
  }
});

function within(promise, ms) {
  // {response} or {error} from the promise, or {timeout: true} after `ms`.
  return Promise.race([
    promise.then(function (response) { return { response: response }; },
                 function (error) { return { error: error }; }),
    new Promise(function (resolve) { setTimeout(function () { resolve({ timeout: true }); }, ms); }),
  ]);
}

// Pages with people's details that the field does not need offline stay off the phone.
var NEVER_CACHED = ["/signin", "/members", "/account", "/audit", "/settings"];

function cacheable(request, response) {
  var url = new URL(request.url);
  return response && response.ok && response.type === "basic" && !response.redirected &&
    !NEVER_CACHED.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; });
}

function pageKey(request) {
  // One cached copy per page, whatever its query (?outbox=… to fix an item, htmx history).
  var url = new URL(request.url);
  return new Request(url.origin + url.pathname, { credentials: "same-origin" });
}

// Why the network's answer was not shown: "timeout", "unreachable" or the HTTP status.
function failureOf(outcome) {
  if (outcome.timeout) return "timeout";
  if (outcome.error) return "unreachable";
  return String(outcome.response.status);
}

// The saved copy (or the offline page), marked with why it is shown and when it was saved,
// for the page script to say so.
function marked(response, reason, isCopy) {
  var savedAt = Date.parse(response.headers.get("Date") || "") || "";
  return response.text().then(function (html) {
    var body = html.replace(/<body([^>]*)>/, function (tag, attributes) {
      return "<body" + attributes + ' data-saved-copy="' + reason + '" data-saved-kind="' +
        (isCopy ? "page" : "offline") + '" data-saved-at="' + savedAt + '">';
    });
    var headers = new Headers(response.headers);
    headers.delete("Content-Length");
    return new Response(body, { status: 200, statusText: "OK", headers: headers });
  });
}

function keep(event, request, response) {
  if (cacheable(request, response)) {
    var copy = response.clone();
    event.waitUntil(caches.open(PAGES_CACHE).then(function (c) { return c.put(pageKey(request), copy); }));
  }
  return response;
}

function usable(outcome) {
  return outcome.response && outcome.response.status < 500;
}

function navigate(event) {
  var request = event.request;
  var network = fetch(request);
  var saved = caches.match(pageKey(request), { ignoreVary: true });
  return within(network, NAV_TIMEOUT_MS).then(function (first) {
    if (usable(first)) return keep(event, request, first.response);
    return saved.then(function (copy) {
      if (copy) {
        // A late answer still refreshes the saved copy for next time.
        if (first.timeout) {
          event.waitUntil(network.then(function (r) { keep(event, request, r); }, function () {}));
        }
        return marked(copy, failureOf(first), true);
      }
      var last = first.timeout ? within(network, NAV_NO_COPY_LIMIT_MS - NAV_TIMEOUT_MS) : Promise.resolve(first);
      return last.then(function (outcome) {
        if (usable(outcome)) return keep(event, request, outcome.response);
        return caches.match("/offline", { ignoreVary: true }).then(function (page) {
          if (page) return marked(page, failureOf(outcome), false);
          return outcome.response || Response.error();
        });
      });
    });
  });
}

function fromCacheFirst(request) {
  return caches.match(request).then(function (cached) {
    if (cached) return cached;
    return fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(STATIC_CACHE).then(function (c) { c.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/offline/") === 0) {
    event.respondWith(fromCacheFirst(request));
  }
});

// --- push notifications (payload from fieldkit/push.py: {title, body, url, tag}) -----------

var NOTIFICATION_ICON = "/static/icons/icon-192.png";

// Only a path of this site is ever opened from a notification.
function sameOriginPath(url) {
  if (typeof url !== "string" || url.charAt(0) !== "/" || url.charAt(1) === "/" ||
      url.charAt(1) === "\\") return "/";
  var resolved = new URL(url, self.location.origin);
  return resolved.origin === self.location.origin ? resolved.pathname + resolved.search + resolved.hash : "/";
}

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var options = {
    body: data.body || "",
    icon: NOTIFICATION_ICON,
    badge: NOTIFICATION_ICON,
    lang: "vi",
    data: { url: sameOriginPath(data.url) }
  };
  if (data.tag) options.tag = data.tag;
  event.waitUntil(self.registration.showNotification(data.title || "Fieldkit", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var path = sameOriginPath(event.notification.data && event.notification.data.url);
  var target = new URL(path, self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    var open = windows.filter(function (client) {
      return new URL(client.url).origin === self.location.origin;
    })[0];
    if (open) {
      return open.focus().then(function (client) {
        return (client || open).navigate(target);
      }).catch(function () { return self.clients.openWindow(target); });
    }
    return self.clients.openWindow(target);
  }));
});
