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

  // --- the page's words ----------------------------------------------------------------------
  // The scripts' words in the page's language (pwa/js_words.py): a translated page carries, as
  // JSON in <meta name="fieldkit-words">, the translation of each Vietnamese sentence the
  // scripts show; t(vietnamese, {name: value}) looks one up by its Vietnamese and fills
  // `%(name)s` as gettext does. Without the <meta> (a Vietnamese page) every sentence stays
  // Vietnamese, the source. This is the first script of every page, so it is defined here for
  // the others (outbox-rules.js, scan.js, passkeys.js, …) as `FieldkitT`.
  var words = {};
  try { words = JSON.parse(($('meta[name="fieldkit-words"]') || {}).content || "{}"); } catch (e) { words = {}; }
  function t(text, values) {
    var said = words[text] || text;
    return values ? said.replace(/%\((\w+)\)s/g, function (all, name) { return values[name]; }) : said;
  }
  window.FieldkitT = t;

  // The outbox (pwa/offline/outbox-rules.js, outbox.js), once its scripts have come (loadOutbox).
  var Outbox = null;
  var Rules = null;
  var PAGES_CACHE = "fieldkit-pages";
  // A safety net only: the outbox wakes itself when its next item is due (scheduleWake).
  var FLUSH_EVERY_MS = 60000;
  // How long a save waits for the send before moving on (the item is safe on the phone
  // already; the send goes on in the background, bounded by the request's own deadline).
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

  // What the confirmation names: the form's own words ("lượt thăm hộ số 12"), else its label.
  function subjectOf(form) {
    if (form.dataset.subject) return form.dataset.subject;
    var label = form.dataset.label || Rules.KIND_WORDS[form.dataset.outbox] || t("mục");
    return label.charAt(0).toLowerCase() + label.slice(1);
  }

  function savedWhen(payload) {
    var m = /T(\d{2}:\d{2})/.exec(payload.visited_at || "");
    return m ? m[1] : Rules.hhmm(Date.now());
  }

  // From the first tap until the outbox has the item the form cannot be sent again; once it
  // is saved it stays shut (the page moves on) until it is opened again (openForm).
  function hold(form) {
    form.dataset.sending = "1";
    var button = $("button[type=submit]", form);
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
  }

  function release(form) {
    delete form.dataset.sending;
    delete form.dataset.saved;
    var button = $("button[type=submit]", form);
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // A form opened again after a save: a new item, with its own UUID and the time of now.
  function openForm(form) {
    if (!form.dataset.saved) return;
    form.reset();
    var lines = $("#lines", form);
    if (lines) $all("[data-line]", lines).slice(1).forEach(function (line) { line.remove(); });
    clearErrors(form);
    // As on opening the page (start): a fresh form gets the time of now, an edit of what was
    // sent keeps its values; both are a new item.
    if (form.hasAttribute("data-fresh")) freshen(form);
    var uuid = form.querySelector("[name=uuid]");
    if (uuid) uuid.value = newId();
    release(form);
  }

  function submitToOutbox(form) {
    if (form.dataset.sending || form.dataset.saved) return; // a second tap, or Enter twice
    var payload = payloadOf(form);
    if (!payload.uuid) payload.uuid = newId();
    var item = { id: payload.uuid, kind: form.dataset.outbox, payload: payload,
                 label: form.dataset.label || "", householdId: form.dataset.householdId || null };
    hold(form);
    return Outbox.enqueue(item).then(function () {
      registerSync();
      if (!navigator.onLine) return null;
      return withTimeout(Outbox.flush({ force: true }), SEND_WAIT_MS);
    }).then(function () {
      return Promise.all([Outbox.get(item.id), Outbox.summary(), Outbox.takeAnnouncements([item.id])]);
    }).then(function (r) {
      var left = r[0];
      var s = r[1];
      if (left && left.state === "attention") {
        release(form);
        showErrors(form, left.errors, left.lastError);
        return;
      }
      var sent = s.sent.filter(function (e) { return e.id === item.id; })[0];
      var fate;
      if (!left) fate = { sent: true, notice: sent && sent.notice };
      else if (!navigator.onLine) fate = { offline: true };
      else if (s.authNeeded) fate = { state: "auth" };
      else if (Outbox.sending || !s.link) fate = { state: "sending" };
      else fate = { state: s.link.state };
      sessionStorage.setItem("fieldkit-flash", Rules.savedWords(subjectOf(form), savedWhen(payload), fate));
      // A possible duplicate is worth a second look: said in the warning colour.
      if (fate.notice) sessionStorage.setItem("fieldkit-flash-tone", "warn");
      // While the item waits, its confirmation follows what happens to it (savedFollows).
      if (left) {
        sessionStorage.setItem("fieldkit-flash-item", JSON.stringify(
          { id: item.id, subject: subjectOf(form), when: savedWhen(payload) }));
      }
      form.dataset.saved = "1";
      delete form.dataset.sending;
      var target = doneUrl(form);
      if (location.pathname === target && location.hash) {
        history.replaceState(null, "", target);
      }
      location.assign(target);
    }, function (error) {
      release(form);
      showErrors(form, {}, t("Không lưu được trên máy: %(error)s", { error: error && error.message || error }));
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.outbox && outboxLoaded && window.indexedDB) {
      event.preventDefault();
      // Tapped before the outbox's scripts came: saved once they are here (a second tap
      // waits behind the first and finds the form held); without them, sent as a plain form.
      outboxLoaded.then(function () { submitToOutbox(form); }, function () { form.submit(); });
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

  // Opening a form's sheet again (its #fragment), or coming back to the page from the
  // browser's history, is what makes a saved form new.
  window.addEventListener("hashchange", function () {
    var sheet = location.hash && document.getElementById(location.hash.slice(1));
    if (sheet) $all("form[data-outbox]", sheet).forEach(openForm);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) $all("form[data-outbox]").forEach(openForm);
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
        li.querySelector("p").textContent = t("%(n)s dòng hỗ trợ · đang chờ trong hộp thư đi", { n: lines });
        list.insertBefore(li, list.firstChild);
      });
    var empty = list.parentElement.querySelector(".visits-empty");
    if (empty && list.children.length) empty.hidden = true;
    // The heading's count is the server's; visits still on the phone are counted apart.
    var count = list.parentElement.querySelector("[data-visit-count]");
    var waiting = $all("[data-outbox-item]", list).length;
    if (count) {
      count.textContent = "(" + count.getAttribute("data-visit-count") +
        (waiting ? " · " + t("%(n)s chưa gửi", { n: waiting }) : "") + ")";
    }
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
        $(".when", li).textContent = " · " + new Date(item.createdAt).toLocaleString("vi-VN");
        var details = item.errors ? Object.keys(item.errors).map(function (k) { return item.errors[k]; }) : [];
        // An item's last error may have been written by the service worker, in Vietnamese:
        // said again through t(), it is in the page's language (when it carries no value).
        var lastError = t(item.lastError || "");
        var why = [lastError].concat(details);
        // A waiting item says when it last failed and when it is tried again.
        if (state === "pending" && item.lastFailureAt) {
          why = [t("Lần thử lúc %(time)s: %(error)s", { time: Rules.hhmm(item.lastFailureAt, true), error: lastError }) +
                 (item.nextAttemptAt > Date.now() ? " · " + t("sẽ thử lại lúc %(time)s", { time: Rules.hhmm(item.nextAttemptAt, true) }) : "")];
        }
        $(".why", li).textContent = why.join(" ");
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
    // What left the outbox in the last minutes, newest first.
    var sentList = $("[data-list-sent]");
    if (sentList) {
      sentList.innerHTML = "";
      summary.sent.slice().reverse().forEach(function (entry) {
        var li = document.createElement("li");
        li.className = "outbox-item sent";
        li.innerHTML = '<b class="label"></b><span class="muted small when"></span><p class="why"></p>';
        $(".label", li).textContent = entry.label || Rules.KIND_WORDS[entry.kind] || entry.kind;
        $(".when", li).textContent = " · " + t("đã gửi lúc %(time)s", { time: Rules.hhmm(entry.sentAt) });
        $(".why", li).textContent = entry.notice || "";
        sentList.appendChild(li);
      });
      $("[data-none-sent]").hidden = summary.sent.length > 0;
    }
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

  var savedCopyAnswered = function () {}; // set when this page is the phone's saved copy
  var othersSending = false; // another tab or the service worker is sending
  var othersTimer = null;
  var wakeTimer = null;

  function refreshStatus() {
    if (!Outbox || !signedIn) return Promise.resolve();
    return Promise.all([Outbox.summary(), Outbox.getMeta("readyCount"), Outbox.getMeta("readyAt"),
                        Outbox.getMeta("preparing")]).then(function (r) {
      var s = r[0];
      var bar = $("[data-statusbar]");
      bar.removeAttribute("data-undrawn");
      var net = $("[data-net]", bar);
      var link = s.authNeeded ? { state: "auth", at: s.link && s.link.at } : s.link;
      var state = Rules.linkState(link, navigator.onLine, Outbox.sending || othersSending, s.pending);
      var words = Rules.LINK_WORDS[state];
      net.textContent = words.text;
      net.className = "net " + (words.tone === "ok" ? "online" : words.tone === "busy" ? "sending" : "offline");
      net.setAttribute("data-state", state);
      $("[data-pending]", bar).textContent = t("Chờ gửi (%(n)s)", { n: s.pending }) + (s.lastSyncAt ? " · " + t("gửi lúc %(time)s", { time: hhmm(s.lastSyncAt) }) : "");
      var attention = $("[data-attention]", bar);
      attention.hidden = s.attention === 0;
      attention.textContent = t("Cần xử lý (%(n)s)", { n: s.attention });
      var ready = $("[data-ready]", bar);
      if (r[3]) ready.textContent = t("Đang chuẩn bị ngoại tuyến: %(what)s", { what: r[3] });
      else if (r[2]) ready.textContent = t("Sẵn sàng ngoại tuyến: %(what)s · cập nhật %(time)s", {
        what: r[1] === null || r[1] === undefined ? t("hướng dẫn, hộp thư đi") : t("%(count)s hộ", { count: r[1] }),
        time: hhmm(r[2]),
      });
      else ready.textContent = "";
      $("[data-auth-needed]").hidden = !s.authNeeded;
      // "Gửi ngay" only when something waits and the phone has a network (signed out, it
      // looks again for a session: the person may have signed in in another tab).
      $("[data-send-now]", bar).hidden = s.pending === 0 || state === "offline";
      savedFollows(s.items, state);
      pendingVisits(s.items);
      fixedReturns(s.items);
      renderOutboxPage(s);
      savedCopyAnswered(s.link);
      scheduleWake(s, link);
    });
  }

  // "Đã lưu trên máy: … Sẽ tự gửi khi có mạng." said when it was saved offline stays true
  // only until the network is back: while the item waits its words follow the status bar's
  // (signed out, server busy, …). Once it has left, the announcement takes its place.
  function savedFollows(items, state) {
    var shown = $(".flash[data-saved-item]");
    if (!shown) return;
    var saved;
    try { saved = JSON.parse(shown.getAttribute("data-saved-item")); } catch (e) { return; }
    var item = items.filter(function (i) { return i.id === saved.id; })[0];
    if (!item || item.state !== "pending") return;
    var fate = state === "offline" ? { offline: true } : { state: state === "ok" ? "sending" : state };
    shown.textContent = Rules.savedWords(saved.subject, saved.when, fate);
  }

  // The outbox wakes itself when its next waiting item is due, idle page or not: a server
  // back after an outage is reached within seconds (outbox-rules.js: afterFailure).
  function scheduleWake(s, link) {
    clearTimeout(wakeTimer);
    var at = Rules.nextWakeAt(s.items, link, Date.now());
    if (at === null) return;
    wakeTimer = setTimeout(function () { flush(false); }, Math.max(1000, at - Date.now()));
  }

  // "Đã gửi 2 lượt thăm lúc 09:41": what left the outbox since the person was last told.
  function announce() {
    if (!Outbox || !signedIn) return Promise.resolve();
    return Outbox.takeAnnouncements().then(function (entries) {
      if (!entries.length) return;
      flash(Rules.announcement(entries));
      var shown = $(".flash[data-client]");
      if (shown && entries.some(function (e) { return e.notice; })) shown.classList.add("warn");
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
    var run = Outbox.flush({ force: !!force });
    refreshStatus(); // "Đang gửi…" while it runs
    return run.then(function (result) {
      if (result && result.sent) {
        prepareForOffline(true);
        return announce().then(function () { return result; });
      }
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
      if (cell) cell.textContent = counts[key].toLocaleString("vi-VN");
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
    loadOutbox().then(function () { return Outbox.exportAll(); }).then(function (text) {
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
    Promise.all([input.files[0].text(), loadOutbox()]).then(function (r) { return Outbox.importAll(r[0]); }).then(function (count) {
      out.textContent = t("Đã nhập %(n)s mục vào hộp thư đi.", { n: count });
      flush(true);
    }, function (error) {
      out.textContent = t("Không nhập được: %(error)s", { error: error && error.message || error });
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

  // --- scripts that come when needed ------------------------------------------------------
  // The first load of a page on a weak link carries what the page shows. The outbox's scripts
  // (~14 KB compressed) come at once on a page with something to save in it (a form for the
  // outbox, the outbox page), and after the page's load elsewhere (the home list, whose status
  // bar is drawn when they arrive); <meta name="fieldkit-later"> names the page's other
  // scripts that wait for its load (the scan button's).
  var outboxLoaded = null;

  function addScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.async = false; // run in the order added: the rules before the outbox
      script.onload = resolve;
      script.onerror = function () { reject(new Error(src)); };
      document.head.appendChild(script);
    });
  }

  function loadOutbox() {
    var meta = $('meta[name="fieldkit-outbox"]');
    if (!outboxLoaded && meta) {
      outboxLoaded = Promise.all(meta.content.split(" ").map(addScript)).then(function () {
        Rules = window.FieldkitOutboxRules;
        Outbox = window.FieldkitOutbox;
      });
    }
    return outboxLoaded || Promise.reject(new Error("no outbox"));
  }

  function afterLoad(run) {
    if (document.readyState === "complete") run();
    else window.addEventListener("load", run);
  }

  // --- start -------------------------------------------------------------------------------
  // A page the service worker answered from the phone's copy says so, and why; once the
  // phone has a network again it offers the fresh page.
  function savedCopyNote() {
    var body = document.body;
    var reason = body.getAttribute("data-saved-copy");
    if (!reason) return;
    var note = document.createElement("div");
    note.className = "banner warn saved-copy";
    note.setAttribute("role", "note");
    note.setAttribute("data-saved-copy-note", reason);
    var at = Number(body.getAttribute("data-saved-at"));
    var copy = body.getAttribute("data-saved-kind") === "page";
    function say(offline) {
      var why = offline ? t("máy đang ngoại tuyến") :
        reason === "timeout" ? t("máy chủ không trả lời") :
        reason === "unreachable" ? t("không kết nối được máy chủ") :
        (reason === "503" || reason === "429") ? t("máy chủ đang bận (%(code)s)", { code: reason }) :
        t("máy chủ đang lỗi (%(code)s)", { code: reason });
      note.textContent = copy
        ? (at ? t("Đang xem bản lưu trên máy lúc %(time)s %(date)s", { time: hhmm(at), date: new Date(at).toLocaleDateString("vi-VN") })
              : t("Đang xem bản lưu trên máy")) +
          " — " + why + ". " + t("Vẫn ghi được: mọi thứ được giữ trên máy và tự gửi sau.")
        : t("Không mở được trang — %(why)s.", { why: why });
    }
    function offerFresh(what) {
      note.textContent = (copy ? t("Đang xem bản lưu trên máy") + ". " : "") + what + ": ";
      var again = document.createElement("button");
      again.type = "button";
      again.className = "button small";
      again.textContent = t("Tải lại trang");
      again.addEventListener("click", function () { location.reload(); });
      note.appendChild(again);
    }
    say(!navigator.onLine);
    window.addEventListener("offline", function () { say(true); });
    window.addEventListener("online", function () { offerFresh(t("Đã có mạng lại")); });
    var main = $("#main");
    if (main) main.parentNode.insertBefore(note, main);
    var shownAt = Date.now();
    savedCopyAnswered = function (link) {
      // The outbox reached the server since this copy was shown: the fresh page can load.
      if (link && link.state === "ok" && link.at > shownAt && !note.querySelector("button")) {
        offerFresh(t("Máy chủ đã trả lời lại"));
      }
    };
  }

  function start() {
    // The worker (and the app shell it keeps) comes after the page has loaded: the first load
    // on a weak link carries only what the page shows.
    afterLoad(registerWorker);
    savedCopyNote();
    afterLoad(function () {
      var later = $('meta[name="fieldkit-later"]');
      if (later) later.content.split(" ").forEach(function (src) { addScript(src).catch(function () {}); });
    });
    var message = sessionStorage.getItem("fieldkit-flash");
    var saved = sessionStorage.getItem("fieldkit-flash-item");
    sessionStorage.removeItem("fieldkit-flash-item");
    if (message) {
      sessionStorage.removeItem("fieldkit-flash");
      flash(message);
      var shown = $(".flash[data-client]");
      if (saved && shown) shown.setAttribute("data-saved-item", saved);
      if (shown && sessionStorage.getItem("fieldkit-flash-tone") === "warn") shown.classList.add("warn");
    }
    sessionStorage.removeItem("fieldkit-flash-tone");
    $all("form[data-outbox][data-fresh]").forEach(freshen);
    // A form that edits what was sent keeps its values but is a new item each time it opens.
    $all("form[data-outbox][data-new-id] [name=uuid]").forEach(function (f) { f.value = newId(); });
    var local = $("form[data-local-search]");
    if (local && ($("[name=q]", local).value || ($("[name=filter]:checked", local) || {}).value !== "all")) localSearch(local);
    if ($("form[data-outbox], [data-outbox-page]")) withOutbox();
    else afterLoad(withOutbox);
  }

  // What needs the outbox, once its scripts are here.
  function withOutbox() {
    loadOutbox().then(function () {
      if (signedIn) watchOutbox();
    }, function () { /* no outbox script (a copy without it): the page still shows */ });
  }

  function watchOutbox() {
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
    if (Outbox.channel) Outbox.channel.onmessage = function (event) {
      var data = event.data || {};
      if (data.type === "sending") {
        othersSending = !!data.on;
        // A tab closed in the middle of its send never says it stopped: no send outlives
        // its request deadline.
        clearTimeout(othersTimer);
        if (othersSending) othersTimer = setTimeout(function () { othersSending = false; refreshStatus(); }, Rules.MAX_TIMEOUT_MS + 5000);
      }
      // Sent by the service worker (Background Sync) or another tab: say so here too.
      if (data.what === "sent") announce();
      refreshStatus();
    };
    // This page's own changes to the outbox (a save sent from a form, an import): redraw and
    // set the next wake, whoever called the outbox.
    window.addEventListener("fieldkit-outbox", function () { refreshStatus(); });
    window.addEventListener("online", function () { flush(true); });
    window.addEventListener("offline", refreshStatus);
    setInterval(function () { flush(false); }, FLUSH_EVERY_MS);
    reopenFromOutbox();
    // Opening the app is a moment to try at once, whatever the wait said; then say what was
    // sent meanwhile (a reload in the middle of a send, a send from the background).
    refreshStatus().then(announce).then(function () { return flush(true); }).then(function () {
      // Preparing the day's pages waits until this page has finished loading: it must never
      // slow down what the volunteer is looking at.
      if (document.readyState === "complete") setTimeout(function () { prepareForOffline(false); }, 500);
      else window.addEventListener("load", function () { setTimeout(function () { prepareForOffline(false); }, 500); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
