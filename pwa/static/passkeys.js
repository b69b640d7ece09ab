// Passkeys in the browser: loaded only on the pages that offer them (sign-in, the invite link,
// the account page). The server makes the options and checks the answers; this file only hands
// them between the server and the phone's authenticator. No base64url code: Chromium and
// current Safari/Firefox parse the JSON options and serialise the credential themselves.
(function () {
  "use strict";
  // The page's words for scripts (pwa/js_words.py, pwa/offline/outbox.js).
  var t = window.FieldkitT || function (text) { return text; };

  var MESSAGES = {
    NotAllowedError: t("Chưa xác nhận được: bạn đã hủy, hết thời gian, hoặc điện thoại chưa xác minh bạn (vân tay, khuôn mặt hoặc mã khóa màn hình). Hãy thử lại."),
    InvalidStateError: t("Điện thoại này đã có khóa truy cập cho tài khoản của bạn."),
    SecurityError: t("Trang này không được phép dùng khóa truy cập (sai địa chỉ trang web)."),
    network: t("Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại."),
    other: t("Không dùng được khóa truy cập trên điện thoại này. Hãy thử lại hoặc dùng cách khác bên dưới.")
  };

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials &&
      PublicKeyCredential.parseCreationOptionsFromJSON &&
      PublicKeyCredential.parseRequestOptionsFromJSON);
  }

  function post(url, body) {
    return window.FieldkitJSON.post(url, body, MESSAGES.network, MESSAGES.other);
  }

  function show(area, message) {
    var box = area.querySelector("[data-passkey-message]");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
  }

  function explain(error) {
    if (error && error.name && MESSAGES[error.name]) return MESSAGES[error.name];
    if (error && error.message && !error.name) return error.message;
    return MESSAGES.other;
  }

  function ceremony(button, run) {
    var area = button.closest("[data-passkey-area]") || document;
    busy(button, true);
    show(area, "");
    post(button.dataset.optionsUrl).then(run).then(function (credential) {
      return post(button.dataset.verifyUrl, { credential: credential.toJSON() });
    }).then(function (answer) {
      window.location.assign(answer.redirect || "/");
    }).catch(function (error) {
      show(area, explain(error));
      busy(button, false);
    });
  }

  function signIn(options) {
    return navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)
    });
  }

  function create(options) {
    return navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey-signin], [data-passkey-create]");
    if (!button || button.disabled) return;
    ceremony(button, button.hasAttribute("data-passkey-signin") ? signIn : create);
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (supported()) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-area]"), function (el) {
      el.hidden = true;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-unsupported]"), function (el) {
      el.hidden = false;
    });
  });
})();
