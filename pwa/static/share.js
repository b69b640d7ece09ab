// The village dashboard's Zalo summary: "Chia sẻ lên Zalo" opens the phone's share sheet
// (Web Share API) where there is one; "Sao chép" copies the text as the fallback. The text
// stays in a readonly textarea, so it can be copied by hand without any of this.
(function () {
  "use strict";
  // The page's words for scripts (pwa/js_words.py, pwa/offline/outbox.js).
  var t = window.FieldkitT || function (text) { return text; };

  var text = document.querySelector("[data-share-text]");
  var shareButton = document.querySelector("[data-share]");
  var copyButton = document.querySelector("[data-copy]");
  var status = document.querySelector("[data-share-status]");
  if (!text) return;

  function say(message) { if (status) status.textContent = message; }

  if (shareButton && navigator.share) {
    shareButton.hidden = false;
    shareButton.addEventListener("click", function () {
      navigator.share({ text: text.value }).catch(function (error) {
        if (error && error.name !== "AbortError") say(t("Không mở được chia sẻ. Hãy bấm Sao chép."));
      });
    });
  }

  function copyBySelection() {
    text.focus();
    text.select();
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }

  if (copyButton) {
    copyButton.addEventListener("click", function () {
      var copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text.value).then(function () { return true; }, copyBySelection)
        : Promise.resolve(copyBySelection());
      copied.then(function (ok) {
        say(ok ? t("Đã sao chép") : t("Chưa sao chép được. Hãy giữ ngón tay lên ô chữ để chọn và sao chép."));
        if (ok) copyButton.textContent = t("Đã sao chép");
      });
    });
  }
})();
