// Renders <time datetime="..." data-format="..."> in the page's language
// (<html lang>, not the browser's) and the reader's time zone: what
// Flask-Moment did with moment.js, in a few lines of our own.
(function () {
  "use strict";
  var locale = document.documentElement.lang || undefined;
  var relative = typeof Intl.RelativeTimeFormat === "function"
    ? new Intl.RelativeTimeFormat(locale, { numeric: "auto" }) : null;
  var units = [
    ["year", 31536000], ["month", 2592000], ["week", 604800],
    ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]
  ];

  function fromNow(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1] || units[i][0] === "second") {
        var value = Math.round(seconds / units[i][1]);
        return relative ? relative.format(value, units[i][0]) : date.toLocaleString(locale);
      }
    }
    return date.toLocaleString(locale);
  }

  var formats = {
    L: { dateStyle: "medium" },
    LL: { dateStyle: "long" },
    LLL: { dateStyle: "long", timeStyle: "short" },
    LLLL: { dateStyle: "full", timeStyle: "short" }
  };

  function render(element) {
    var date = new Date(element.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    var format = element.getAttribute("data-format") || "LLL";
    element.title = date.toLocaleString(locale);
    element.textContent = format === "fromNow"
      ? fromNow(date)
      : new Intl.DateTimeFormat(locale, formats[format] || formats.LLL).format(date);
  }

  function renderAll(root) {
    root.querySelectorAll("time[datetime]").forEach(render);
  }

  window.flaskyRenderTimes = renderAll;
  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
})();
