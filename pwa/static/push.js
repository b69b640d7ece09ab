// Push notifications on the account page: turn them on (asks permission on the tap), off, and
// say plainly where this phone stands — on, off, not supported, or blocked. The server keeps
// the subscription (/api/v1/push/subscriptions); the service worker (/sw.js) shows what comes.
(function () {
  "use strict";
  // The page's words for scripts (pwa/js_words.py, pwa/offline/outbox.js).
  var t = window.FieldkitT || function (text) { return text; };

  var LABELS = {
    checking: t("Đang kiểm tra điện thoại này…"),
    on: t("Đang bật trên điện thoại này"),
    off: t("Đang tắt trên điện thoại này"),
    unsupported: t("Trình duyệt này không hỗ trợ thông báo"),
    denied: t("Thông báo đã bị chặn trên trình duyệt này")
  };
  var HELP = {
    unsupported: t("Trên iPhone, hãy thêm Fieldkit vào Màn hình chính rồi mở từ biểu tượng đó. Trên Android, hãy dùng Chrome."),
    denied: t("Hãy mở cài đặt của trình duyệt (biểu tượng bên trái địa chỉ trang), cho phép thông báo, rồi tải lại trang này.")
  };
  var MESSAGES = {
    network: t("Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại."),
    subscribe: t("Chưa bật được thông báo trên điện thoại này. Hãy thử lại sau."),
    dismissed: t("Bạn chưa cho phép thông báo. Chạm nút lần nữa và chọn “Cho phép”.")
  };

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function post(url, body) {
    return window.FieldkitJSON.post(url, body, MESSAGES.network, MESSAGES.subscribe);
  }

  // applicationServerKey: the server's base64url public key as bytes (Safari wants bytes).
  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "===".slice((base64.length + 3) % 4);
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  // The service worker is registered by app.js; without it (an http address other than
  // localhost, a private window) no notification can be shown, so do not wait for ever.
  function registration() {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject({ message: MESSAGES.subscribe }); }, 10000);
      navigator.serviceWorker.ready.then(function (reg) { clearTimeout(timer); resolve(reg); });
    });
  }

  function Area(root) {
    this.root = root;
    this.state = root.querySelector("[data-push-state]");
    this.label = root.querySelector("[data-push-label]");
    this.help = root.querySelector("[data-push-help]");
    this.message = root.querySelector("[data-push-message]");
    this.on = root.querySelector("[data-push-on]");
    this.off = root.querySelector("[data-push-off]");
    this.devices = root.querySelector("[data-push-devices]");
  }

  Area.prototype.show = function (state) {
    this.state.setAttribute("data-push-state", state);
    this.label.textContent = LABELS[state];
    this.help.textContent = HELP[state] || "";
    this.help.hidden = !HELP[state];
    this.on.hidden = state !== "off";
    this.off.hidden = state !== "on";
  };

  Area.prototype.say = function (text) {
    this.message.textContent = text || "";
    this.message.hidden = !text;
  };

  Area.prototype.busy = function (on) {
    [this.on, this.off].forEach(function (button) {
      button.disabled = on;
      button.setAttribute("aria-busy", on ? "true" : "false");
    });
  };

  Area.prototype.answered = function (data) {
    if (data && data.devices !== undefined) {
      this.devices.textContent = data.devices ?
        t("Đang nhận thông báo trên %(n)s thiết bị của bạn.", { n: data.devices }) :
        t("Chưa có thiết bị nào của bạn nhận thông báo.");
    }
  };

  Area.prototype.refresh = function () {
    var area = this;
    if (!supported()) return Promise.resolve(area.show("unsupported"));
    if (Notification.permission === "denied") return Promise.resolve(area.show("denied"));
    return registration().then(function (reg) {
      return reg.pushManager.getSubscription();
    }).then(function (subscription) {
      var on = !!subscription && Notification.permission === "granted";
      area.show(on ? "on" : "off");
      // Tell the server again: it may have dropped the subscription (expired), or another
      // person may have used this phone since. Same endpoint → the same one row.
      if (on) return post(area.root.dataset.subscribeUrl, subscription.toJSON()).then(
        function (data) { area.answered(data); }, function () {});
    }).catch(function () { area.show("off"); });
  };

  Area.prototype.turnOn = function () {
    var area = this;
    area.busy(true);
    area.say("");
    // Asked on the tap, never on page load: browsers block pages that ask unprompted.
    Notification.requestPermission().then(function (permission) {
      if (permission === "denied") throw { state: "denied" };
      if (permission !== "granted") throw { message: MESSAGES.dismissed };
      return registration();
    }).then(function (reg) {
      return reg.pushManager.getSubscription().then(function (existing) {
        return existing || reg.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(area.root.dataset.pushKey)
        });
      }).catch(function () { throw { message: MESSAGES.subscribe }; });
    }).then(function (subscription) {
      return post(area.root.dataset.subscribeUrl, subscription.toJSON()).catch(function (error) {
        // The server refused it: do not leave the browser subscribed to nothing.
        return subscription.unsubscribe().then(function () { throw error; });
      });
    }).then(function (data) {
      area.answered(data);
      area.show("on");
    }).catch(function (error) {
      if (error && error.state) area.show(error.state);
      else area.say((error && error.message) || MESSAGES.subscribe);
    }).then(function () { area.busy(false); });
  };

  Area.prototype.turnOff = function () {
    var area = this;
    area.busy(true);
    area.say("");
    registration().then(function (reg) {
      return reg.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return { devices: undefined };
      // The server first: if it cannot be told, the phone stays subscribed and says so.
      return post(area.root.dataset.unsubscribeUrl, { endpoint: subscription.endpoint })
        .then(function (data) { return subscription.unsubscribe().then(function () { return data; }); });
    }).then(function (data) {
      area.answered(data);
      area.show("off");
    }).catch(function (error) {
      area.say((error && error.message) || MESSAGES.network);
    }).then(function () { area.busy(false); });
  };

  function start() {
    var root = document.querySelector("[data-push-area]");
    if (!root) return;
    var area = new Area(root);
    area.on.addEventListener("click", function () { area.turnOn(); });
    area.off.addEventListener("click", function () { area.turnOff(); });
    area.refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
