// Live Markdown preview for textareas with data-preview-url: the text is sent
// (debounced) to the server, which renders it with the same sanitizing
// renderer that stores posts; no Markdown library runs in the browser. The
// page gives the failure message in its language (data-unavailable).
(function () {
  "use strict";
  var DELAY_MS = 300;

  function attach(textarea) {
    var target = document.getElementById(textarea.getAttribute("data-preview-target"));
    var url = textarea.getAttribute("data-preview-url");
    var tokenInput = textarea.form && textarea.form.querySelector("input[name=csrf_token]");
    if (!target || !url || !tokenInput) { return; }
    var timer = null;
    var latest = 0;

    function refresh() {
      var request = ++latest;
      if (!textarea.value.trim()) { target.innerHTML = ""; return; }
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "X-CSRFToken": tokenInput.value,
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
          "Accept": "application/json"
        },
        body: new URLSearchParams({ body: textarea.value })
      }).then(function (response) {
        if (!response.ok) { throw new Error("preview failed: " + response.status); }
        return response.json();
      }).then(function (data) {
        // Answers can arrive out of order: only the newest one is shown.
        if (request === latest) { target.innerHTML = data.html; }
      }).catch(function () {
        if (request === latest) { target.textContent = target.getAttribute("data-unavailable") || "Preview unavailable."; }
      });
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, DELAY_MS);
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-preview-url]").forEach(attach);
  });
})();
