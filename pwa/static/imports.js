// "Đưa dữ liệu vào": show the upload's progress (a 10,000-row file takes a while on 3G), then
// that the server is reading it. Without this script the form posts as usual.
(function () {
  "use strict";
  // The page's words for scripts (pwa/js_words.py, pwa/offline/outbox.js).
  var t = window.FieldkitT || function (text) { return text; };
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData || !form.checkValidity()) return;
      event.preventDefault();
      var box = form.querySelector("[data-upload-progress]");
      var bar = box.querySelector("progress");
      var text = box.querySelector("[data-upload-text]");
      var button = form.querySelector("button[type=submit]");
      box.hidden = false;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      text.textContent = t("Đang tải tệp lên…");
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round((e.loaded / e.total) * 100);
        text.textContent = t("Đang tải tệp lên…") + " " + bar.value + "%";
        if (e.loaded === e.total) {
          bar.removeAttribute("value");  // indeterminate while the server reads the file
          text.textContent = t("Đã tải lên. Máy chủ đang đọc tệp và so với danh sách hiện có…");
        }
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL) {
          window.location.assign(request.responseURL);  // the batch's preview
        } else {
          // Refused (a file that cannot be read): send the form the plain way, so the page
          // shows the server's message beside the field.
          form.submit();
        }
      });
      request.addEventListener("error", function () {
        box.hidden = true;
        button.disabled = false;
        button.removeAttribute("aria-busy");
        text.textContent = "";
        window.alert("Không gửi được tệp: mất kết nối. Hãy thử lại khi có mạng.");
      });
      request.send(new FormData(form));
    });
  });
})();
