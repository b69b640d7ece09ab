// The in-app scan button for QR door stickers. Shown only where the browser has the
// BarcodeDetector API and a camera (Chrome on Android does; desktop Linux does not) — elsewhere
// the phone's own camera app opens the sticker's link just as well.
(function () {
  "use strict";
  // The page's words for scripts (pwa/js_words.py, pwa/offline/outbox.js).
  var t = window.FieldkitT || function (text) { return text; };
  var button = document.querySelector("[data-scan]");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;

  // Only our own short sticker links are followed; anything else is named, not opened.
  function stickerPath(text) {
    try {
      var url = new URL(text, location.href);
      if (url.origin === location.origin && /^\/s\/[A-Za-z0-9_-]{22}$/.test(url.pathname)) {
        return url.pathname;
      }
    } catch (e) { /* not a URL */ }
    return null;
  }

  function open() {
    var dialog = document.createElement("div");
    dialog.className = "scan-dialog";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-label", button.dataset.title || "");
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    var message = document.createElement("p");
    message.setAttribute("role", "status");
    message.textContent = button.dataset.hint || "";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = button.dataset.close || t("Đóng");
    dialog.append(video, message, close);
    document.body.append(dialog);

    var stream = null;
    var done = false;
    function stop() {
      done = true;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      dialog.remove();
    }
    close.addEventListener("click", stop);

    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        return video.play();
      })
      .then(function look() {
        if (done) return;
        detector.detect(video).then(function (codes) {
          for (var i = 0; i < codes.length; i++) {
            var path = stickerPath(codes[i].rawValue);
            if (path) { stop(); location.href = path; return; }
            message.textContent = button.dataset.foreign || "";
          }
          setTimeout(look, 250);
        }, function () { setTimeout(look, 500); });
      })
      .catch(function () {
        message.textContent = button.dataset.noCamera || "";
      });
  }

  button.hidden = false;
  button.addEventListener("click", open);
})();
