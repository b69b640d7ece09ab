// Fieldkit service worker. Served at /sw.js (so it controls the whole site) by
// pwa/routes/offline.py, which fills in the version and the app shell's URLs.
//
// - the app shell is precached per version; old caches are removed on activate;
// - navigations: network first (with a short timeout), then the cached copy, then the
//   Vietnamese offline page;
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
var NETWORK_TIMEOUT_MS = 4000;

importScripts(__OUTBOX__);

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
      if (r.offline || r.retry) throw new Error("outbox not delivered yet");
    }));
  }
});

function timeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (v) { clearTimeout(timer); resolve(v); },
                 function (e) { clearTimeout(timer); reject(e); });
  });
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

function navigate(event) {
  var request = event.request;
  return timeout(fetch(request), NETWORK_TIMEOUT_MS).then(function (response) {
    if (cacheable(request, response)) {
      var copy = response.clone();
      event.waitUntil(caches.open(PAGES_CACHE).then(function (c) { return c.put(pageKey(request), copy); }));
    }
    return response;
  }).catch(function () {
    return caches.match(pageKey(request), { ignoreVary: true }).then(function (cached) {
      return cached || caches.match("/offline", { ignoreVary: true });
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
