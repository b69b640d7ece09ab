// Fieldkit page script: small, no build step, no inline script (the pages will run under a
// strict Content-Security-Policy). It does what needs the phone rather than the server:
// field forms go through the outbox (pwa/offline/outbox.js), the village list is searched on
// the phone, the status bar tells the truth, and the day's pages are prepared for offline use.
// POST JSON to our own API (passkeys.js, push.js): the page's CSRF token, the server's own
// Vietnamese message on a refusal, `networkMessage` when the server cannot be reached.
window.FieldkitJSON = {
  post: function (url, body, networkMessage, refusedMessage) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : "",
                 "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).catch(function () {
      throw { message: networkMessage };
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw { message: data.error || refusedMessage };
        return data;
      });
    });
  }
};

(function () {
  "use strict";

  var Outbox = window.FieldkitOutbox;
  var t = window.FieldkitT;
  var PAGES_CACHE = "fieldkit-pages";
  var FLUSH_EVERY_MS = 60000;
  var SEND_WAIT_MS = 8000;
  var signedIn = !!document.querySelector("[data-statusbar]");

  function $(selector, scope) { return (scope || document).querySelector(selector); }
  function $all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }

  // Accent-insensitive text, the same folding as fieldkit.text.fold on the server.
  function fold(text) {
    return (text || "").replace(/[đĐ]/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .toLowerCase().split(/\s+/).filter(Boolean).join(" ");
  }

  function hhmm(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function localNow() {
    var d = new Date();
    d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    return d.toISOString().slice(0, 16);
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }

  function flash(message) {
    var main = $("#main");
    if (!main) return;
    var old = $(".flash[data-client]", main);
    if (old) old.remove();
    var p = document.createElement("p");
    p.className = "flash";
    p.setAttribute("role", "status");
    p.setAttribute("data-client", "");
    p.textContent = message;
    main.insertBefore(p, main.firstChild);
  }

  // --- htmx: the CSRF token travels in a header -------------------------------------------
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = $('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });

  // --- the visit form's assistance lines, added and removed on the phone -----------------
  function nextIndex(container) {
    var highest = -1;
    $all("[name^='lines-']", container).forEach(function (field) {
      var index = parseInt(field.name.split("-")[1], 10);
      if (index > highest) highest = index;
    });
    return highest + 1;
  }

  function addLine(form, index) {
    var lines = $("#lines", form);
    var template = $("#line-template", form);
    if (!lines || !template) return null;
    var i = index === undefined ? nextIndex(lines) : index;
    lines.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__i__/g, String(i)));
    return lines.lastElementChild;
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-line]");
    if (add) {
      var added = addLine(add.closest("form"));
      var first = added && $("select", added);
      if (first) first.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-line]");
    if (remove) {
      var line = remove.closest("[data-line]");
      if ($all("[data-line]", line.parentElement).length > 1) {
        line.remove();
      } else {
        $all("select, input[type=text], input:not([type])", line).forEach(function (f) { f.value = ""; });
      }
    }
  });

  // --- field forms go through the outbox ---------------------------------------------------
  function payloadOf(form) {
    var payload = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token") payload[name] = value;
    });
    return payload;
  }

  function freshen(form) {
    // A form opened from the phone's cache is reused all day: each use gets its own UUID and
    // the time of now, never the ones the server wrote into the cached page.
    var uuid = form.querySelector("[name=uuid]");
    if (uuid) uuid.value = newId();
    var when = form.querySelector("[name=visited_at]");
    if (when) when.value = localNow();
    var day = form.querySelector("[name=consented_on]");
    if (day) day.value = localNow().slice(0, 10);
  }

  function clearErrors(form) {
    $all(".field-error[data-client]", form).forEach(function (p) { p.remove(); });
    $all(".has-error", form).forEach(function (el) { el.classList.remove("has-error"); });
    var alert = $(".form-alert[data-client]", form);
    if (alert) alert.remove();
  }

  function showErrors(form, errors, message) {
    clearErrors(form);
    var alert = document.createElement("div");
    alert.className = "form-alert";
    alert.setAttribute("role", "alert");
    alert.setAttribute("data-client", "");
    alert.textContent = message || t("Chưa lưu được. Hãy sửa các ô được đánh dấu bên dưới.");
    form.insertBefore(alert, form.firstChild);
    Object.keys(errors || {}).forEach(function (name) {
      var field = form.querySelector('[name="' + name + '"]');
      var holder = field ? (field.closest(".field") || field.parentElement) : form;
      if (field) holder.classList.add("has-error");
      var p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("data-client", "");
      p.textContent = errors[name];
      holder.appendChild(p);
      var details = holder.closest("details");
      if (details) details.open = true;
    });
    alert.scrollIntoView({ block: "center" });
  }

  function doneUrl(form) {
    if (form.dataset.doneUrl) return form.dataset.doneUrl;
    if (form.dataset.householdId) return "/households/" + form.dataset.householdId;
    return location.pathname;
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (resolve) { setTimeout(resolve, ms); })]);
  }

  function submitToOutbox(form) {
    var payload = payloadOf(form);
    if (!payload.uuid) payload.uuid = newId();
    var item = { id: payload.uuid, kind: form.dataset.outbox, payload: payload,
                 label: form.dataset.label || "", householdId: form.dataset.householdId || null };
    var button = $("button[type=submit]", form);
    if (button) button.setAttribute("aria-busy", "true");
    return Outbox.enqueue(item).then(function () {
      registerSync();
      if (!navigator.onLine) return null;
      return withTimeout(Outbox.flush({ force: true }), SEND_WAIT_MS);
    }).then(function () {
      return Outbox.get(item.id);
    }).then(function (left) {
      if (button) button.removeAttribute("aria-busy");
      if (left && left.state === "attention") {
        showErrors(form, left.errors, left.lastError);
        return;
      }
      var message = left ? t("Đã lưu trên máy — sẽ tự gửi khi có mạng.") : t("Đã gửi lên xã.");
      sessionStorage.setItem("fieldkit-flash", message);
      form.reset();
      freshen(form);
      var target = doneUrl(form);
      if (location.pathname === target && location.hash) {
        history.replaceState(null, "", target);
      }
      location.assign(target);
    }, function (error) {
      if (button) button.removeAttribute("aria-busy");
      showErrors(form, {}, t("Không lưu được trên máy: %(reason)s", { reason: error && error.message || error }));
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.outbox && Outbox && window.indexedDB) {
      event.preventDefault();
      submitToOutbox(form);
      return;
    }
    if (form.hasAttribute("hx-get") || form.hasAttribute("data-local-search")) return;
    var button = $("button[type=submit]", form);
    if (button) {
      if (button.dataset.busy) { event.preventDefault(); return; }
      button.dataset.busy = "1";
      button.setAttribute("aria-busy", "true");
    }
  });

  // A "Cần xử lý" item opened for fixing: its form, filled with what was typed, and why.
  function reopenFromOutbox() {
    var id = new URLSearchParams(location.search).get("outbox");
    if (!id || !Outbox) return;
    Outbox.get(id).then(function (item) {
      if (!item) return;
      var form = $('form[data-outbox="' + item.kind + '"]');
      if (!form) return;
      var lines = $("#lines", form);
      if (lines) {
        lines.innerHTML = "";
        Object.keys(item.payload).forEach(function (name) {
          var m = /^lines-(\d+)-/.exec(name);
          if (m && !form.querySelector('[name="lines-' + m[1] + '-service_code"]')) addLine(form, parseInt(m[1], 10));
        });
        if (!lines.children.length) addLine(form, 0);
      }
      Object.keys(item.payload).forEach(function (name) {
        var fields = form.querySelectorAll('[name="' + name + '"]');
        Array.prototype.forEach.call(fields, function (field) {
          if (field.type === "radio" || field.type === "checkbox") field.checked = field.value === item.payload[name];
          else field.value = item.payload[name];
        });
      });
      if (item.state === "attention") showErrors(form, item.errors, item.lastError);
    });
  }

  // --- what waits in the outbox, shown where it belongs -----------------------------------
  function pendingVisits(items) {
    var list = $("[data-pending-visits]");
    if (!list) return;
    $all("[data-outbox-item]", list).forEach(function (li) { li.remove(); });
    var householdId = list.getAttribute("data-pending-visits");
    items.filter(function (i) { return i.kind === "visit" && String(i.householdId) === householdId; })
      .forEach(function (item) {
        var li = document.createElement("li");
        li.className = "visit unsent";
        li.setAttribute("data-outbox-item", item.id);
        var lines = Object.keys(item.payload).filter(function (k) { return /^lines-\d+-service_code$/.test(k) && item.payload[k]; }).length;
        var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})/.exec(item.payload.visited_at || "");
        var when = m ? m[4] + " " + m[3] + "/" + m[2] + "/" + m[1] : "";
        li.innerHTML = '<div class="visit-head"><b></b><span class="tag unsent"></span></div><p class="muted"></p>';
        li.querySelector("b").textContent = when;
        li.querySelector(".tag").textContent = item.state === "attention" ? t("Cần xử lý") : t("Chưa gửi");
        li.querySelector("p").textContent = t("%(count)s dòng hỗ trợ · đang chờ trong hộp thư đi", { count: lines });
        list.insertBefore(li, list.firstChild);
      });
    var empty = list.parentElement.querySelector(".visits-empty");
    if (empty && list.children.length) empty.hidden = true;
  }

  // A returned record fixed on the phone but not yet sent says so on the "Bị trả lại" list.
  function fixedReturns(items) {
    $all("[data-returned]").forEach(function (card) {
      var uuid = card.getAttribute("data-returned");
      var fixed = items.some(function (i) { return i.kind === "revision" && i.payload.record_uuid === uuid; });
      var tag = $("[data-fixed]", card);
      if (tag) tag.hidden = !fixed;
    });
  }

  function renderOutboxPage(summary) {
    var page = $("[data-outbox-page]");
    if (!page) return;
    ["attention", "pending"].forEach(function (state) {
      var list = $("[data-list-" + state + "]");
      var items = summary.items.filter(function (i) { return i.state === state; });
      $("[data-count-" + state + "]").textContent = "(" + items.length + ")";
      $("[data-none-" + state + "]").hidden = items.length > 0;
      list.innerHTML = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "outbox-item " + state;
        li.innerHTML = '<b class="label"></b><span class="muted small when"></span><p class="why"></p><div class="actions"></div>';
        $(".label", li).textContent = item.label || item.kind;
        $(".when", li).textContent = " · " + new Date(item.createdAt).toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "vi-VN");
        var details = item.errors ? Object.keys(item.errors).map(function (k) { return item.errors[k]; }) : [];
        $(".why", li).textContent = [item.lastError || ""].concat(details).join(" ");
        if (state === "attention") {
          var fix = document.createElement("a");
          fix.className = "button small";
          fix.textContent = t("Sửa");
          fix.href = fixUrl(item);
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "link-button";
          drop.textContent = t("Bỏ mục này");
          drop.addEventListener("click", function () {
            if (confirm(t("Bỏ mục này? Nội dung đã ghi sẽ mất."))) Outbox.remove(item.id);
          });
          $(".actions", li).appendChild(fix);
          $(".actions", li).appendChild(drop);
        }
        list.appendChild(li);
      });
    });
  }

  function fixUrl(item) {
    var anchors = { visit: "#ghi-luot-tham", resident: "#them-nhan-khau", household_edit: "#sua-thong-tin",
                    consent: "#dong-y" };
    if (item.kind === "household") return "/households/new?outbox=" + encodeURIComponent(item.id);
    if (item.kind === "revision") {
      return "/returned/" + encodeURIComponent(item.payload.record_kind) + "/" +
        encodeURIComponent(item.payload.record_uuid) + "?outbox=" + encodeURIComponent(item.id);
    }
    return "/households/" + item.householdId + "?outbox=" + encodeURIComponent(item.id) + (anchors[item.kind] || "");
  }

  function refreshStatus() {
    if (!Outbox || !signedIn) return Promise.resolve();
    return Promise.all([Outbox.summary(), Outbox.getMeta("readyCount"), Outbox.getMeta("readyAt"),
                        Outbox.getMeta("preparing")]).then(function (r) {
      var s = r[0];
      var bar = $("[data-statusbar]");
      bar.hidden = false;
      var net = $("[data-net]", bar);
      var reachable = navigator.onLine && !s.unreachable;
      net.textContent = !navigator.onLine ? t("Ngoại tuyến") : (s.unreachable ? t("Chưa kết nối được máy chủ") : t("Trực tuyến"));
      net.className = "net " + (reachable ? "online" : "offline");
      $("[data-pending]", bar).textContent = t("Chờ gửi (%(count)s)", { count: s.pending }) + (s.lastSyncAt ? t(" · gửi lúc %(time)s", { time: hhmm(s.lastSyncAt) }) : "");
      var attention = $("[data-attention]", bar);
      attention.hidden = s.attention === 0;
      attention.textContent = t("Cần xử lý (%(count)s)", { count: s.attention });
      var ready = $("[data-ready]", bar);
      if (r[3]) ready.textContent = t("Đang chuẩn bị ngoại tuyến: %(progress)s", { progress: r[3] });
      else if (r[2]) ready.textContent = t("Sẵn sàng ngoại tuyến: %(what)s · cập nhật %(time)s", {
        what: r[1] === null || r[1] === undefined ? t("hướng dẫn, hộp thư đi") : t("%(count)s hộ", { count: r[1] }),
        time: hhmm(r[2]) });
      else ready.textContent = "";
      $("[data-auth-needed]").hidden = !s.authNeeded;
      pendingVisits(s.items);
      fixedReturns(s.items);
      renderOutboxPage(s);
    });
  }

  // --- sending -----------------------------------------------------------------------------
  function registerSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("fieldkit-outbox");
    }).catch(function () { /* Background Sync is a bonus; the page flushes anyway */ });
  }

  function flush(force) {
    if (!Outbox || !signedIn) return Promise.resolve();
    return Outbox.flush({ force: !!force }).then(function (result) {
      if (result && result.sent) prepareForOffline(true);
      return result;
    }).catch(function () { /* kept in the outbox; the next trigger tries again */ })
      .then(refreshStatus);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-send-now]")) flush(true);
  });

  // --- ready for the day: the village's pages kept on the phone (pwa/static/prepare.js) -----
  // Its script comes only when first needed, after the page has loaded: the first load of
  // the home page stays light on a weak link.
  var preparer = null;

  function prepareForOffline(soon) {
    var src = $('meta[name="fieldkit-prepare"]');
    if (!signedIn || !src || !navigator.onLine) return;
    preparer = preparer || new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src.content;
      script.onload = resolve;
      script.onerror = function () { preparer = null; reject(new Error("prepare.js")); };
      document.head.appendChild(script);
    });
    preparer.then(function () { window.FieldkitPrepare.run(soon, refreshStatus); }, function () {});
  }

  // --- the village list, searched and filtered on the phone -------------------------------
  // A row's words: what it shows (house, head, address) and, in data-search, the residents'
  // names it does not show — folded once.
  function searchText(li) {
    if (li.fieldkitSearch === undefined) {
      var shown = $all(".hh-label, .hh-name, .hh-meta", li).map(function (el) { return el.textContent; });
      li.fieldkitSearch = fold(shown.join(" ") + " " + li.getAttribute("data-search"));
    }
    return li.fieldkitSearch;
  }

  function localSearch(form) {
    var words = fold($("[name=q]", form).value).split(" ").filter(Boolean);
    var checked = $("[name=filter]:checked", form);
    var tab = checked ? checked.value : "all";
    var counts = { all: 0, todo: 0, follow_up: 0, done: 0 };
    var shown = 0;
    $all("li[data-search]").forEach(function (li) {
      var text = searchText(li);
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      if (match) { counts.all += 1; counts[li.getAttribute("data-tab")] += 1; }
      var visible = match && (tab === "all" || li.getAttribute("data-tab") === tab);
      li.hidden = !visible;
      if (visible) shown += 1;
    });
    Object.keys(counts).forEach(function (key) {
      var cell = $('[data-count="' + key + '"]');
      if (cell) cell.textContent = counts[key].toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "vi-VN");
    });
    var empty = $("[data-empty]");
    if (empty) empty.hidden = shown > 0;
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest("form[data-local-search]");
    if (form) localSearch(form);
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-local-search]")) {
      event.preventDefault();
      localSearch(event.target);
    }
  });

  // --- export and import of the outbox -----------------------------------------------------
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-export]")) return;
    Outbox.exportAll().then(function (text) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      link.download = "fieldkit-hop-thu-di-" + new Date().toISOString().slice(0, 16).replace(/[:T]/g, "") + ".json";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });

  document.addEventListener("change", function (event) {
    var input = event.target.closest("[data-import]");
    if (!input || !input.files.length) return;
    var out = $("[data-import-result]");
    input.files[0].text().then(Outbox.importAll).then(function (count) {
      out.textContent = t("Đã nhập %(count)s mục vào hộp thư đi.", { count: count });
      flush(true);
    }, function (error) {
      out.textContent = t("Không nhập được: %(reason)s", { reason: error && error.message || error });
    });
  });

  // --- sign-out keeps the outbox but not the pages (a phone may be shared) ---------------
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("form[action='/signout']") || !window.caches) return;
    event.preventDefault();
    var form = event.target;
    Promise.all([caches.delete(PAGES_CACHE), Outbox && Outbox.setMeta("pageVersions", {}),
                 Outbox && Outbox.setMeta("readyAt", null)])
      .catch(function () {}).then(function () { form.submit(); });
  }, true);

  // --- the service worker and updates -----------------------------------------------------
  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    var accepted = false;
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (accepted) location.reload();
    });
    // The worker's version carries the phone's language (pwa/i18n.py): after a switch on
    // "Tài khoản" a new worker comes with the offline page in the new language. This page is
    // already in that language, so the worker is taken without asking, and without a reload.
    var lang = document.documentElement.lang;
    var workerLang = localStorage.getItem("fieldkit-worker-lang");
    var switched = workerLang !== null && workerLang !== lang;
    if (workerLang === null) localStorage.setItem("fieldkit-worker-lang", lang);
    navigator.serviceWorker.register("/sw.js").then(function (reg) {
      function offer(worker) {
        if (switched) {
          localStorage.setItem("fieldkit-worker-lang", lang);
          worker.postMessage({ type: "skip-waiting" });
          return;
        }
        var banner = $("[data-update]");
        banner.hidden = false;
        $("[data-update-reload]", banner).onclick = function () {
          accepted = true;
          worker.postMessage({ type: "skip-waiting" });
        };
      }
      if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
      reg.addEventListener("updatefound", function () {
        var worker = reg.installing;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
        });
      });
      if (switched) reg.update().catch(function () {});
      setInterval(function () { reg.update().catch(function () {}); }, 30 * 60 * 1000);
    }).catch(function () { /* no worker: the app still works online */ });
  }

  // --- start -------------------------------------------------------------------------------
  function start() {
    // The worker (and the app shell it keeps) comes after the page has loaded: the first load
    // on a weak link carries only what the page shows.
    if (document.readyState === "complete") registerWorker();
    else window.addEventListener("load", registerWorker);
    var message = sessionStorage.getItem("fieldkit-flash");
    if (message) { sessionStorage.removeItem("fieldkit-flash"); flash(message); }
    $all("form[data-outbox][data-fresh]").forEach(freshen);
    // A form that edits what was sent keeps its values but is a new item each time it opens.
    $all("form[data-outbox][data-new-id] [name=uuid]").forEach(function (f) { f.value = newId(); });
    var local = $("form[data-local-search]");
    if (local && ($("[name=q]", local).value || ($("[name=filter]:checked", local) || {}).value !== "all")) localSearch(local);
    if (!Outbox || !signedIn) return;
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
    if (Outbox.channel) Outbox.channel.onmessage = function () { refreshStatus(); };
    window.addEventListener("online", function () { flush(true); });
    window.addEventListener("offline", refreshStatus);
    setInterval(function () { flush(false); }, FLUSH_EVERY_MS);
    reopenFromOutbox();
    // Opening the app is a moment to try at once, whatever the backoff said.
    refreshStatus().then(function () { return flush(true); }).then(function () {
      // Preparing the day's pages waits until this page has finished loading: it must never
      // slow down what the volunteer is looking at.
      if (document.readyState === "complete") setTimeout(function () { prepareForOffline(false); }, 500);
      else window.addEventListener("load", function () { setTimeout(function () { prepareForOffline(false); }, 500); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
