// Progressive enhancement: show each session in the browser's own time zone
// and remember that zone in forms. Without JavaScript the page still shows
// the event's zone and the ?tz= (or UTC) line rendered by the server. A zone
// the visitor chose with ?tz= is never overwritten: the server rendered it.
// Dates and zone names come from Intl in the page's language; no words here.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  var language = document.documentElement.lang || "en";
  // Intl's "en" is American English; the server writes English as read worldwide.
  var locale = language === "en" ? "en-001" : language;
  // A browser may lack the page's language (Debian's Chromium has no Khmer,
  // Lao or Burmese data): then only numbers are shown, never English words.
  var known = Intl.DateTimeFormat.supportedLocalesOf([locale]).length > 0;

  function format(date, options) {
    options.timeZone = zone;
    return new Intl.DateTimeFormat(locale, options).format(date);
  }

  function dayAndTime(date) {
    if (!known) {
      return new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "2-digit", month: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(date).replace(",", "");
    }
    return format(date, { weekday: "short", day: "numeric", month: "short", hour: "2-digit",
                          minute: "2-digit", hourCycle: "h23" });
  }

  function clock(date) {
    return format(date, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  function sameDay(a, b) {
    var day = { year: "numeric", month: "2-digit", day: "2-digit" };
    return format(a, day) === format(b, day);
  }

  // "Myanmar Time", "ເວລາມຽນມາ": the zone named in the page's language. Browsers
  // still report Yangon as Asia/Rangoon, so its IANA name is never shown.
  function zoneName(date) {
    if (!known) { return offset(date); }
    try {
      var parts = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "longGeneric" })
        .formatToParts(date);
      var name = parts.find(function (p) { return p.type === "timeZoneName"; });
      if (name) { return name.value; }
    } catch (e) { /* an older browser: the offset below */ }
    return offset(date);
  }

  // "+07:00", "+06:30": digits that read the same in every language.
  function offset(date) {
    var parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "longOffset" })
      .formatToParts(date);
    var name = (parts.find(function (p) { return p.type === "timeZoneName"; }) || {}).value;
    return (name || "GMT").replace("GMT", "") || "+00:00";
  }

  document.querySelectorAll("[data-utc-start]").forEach(function (block) {
    var start = new Date(block.getAttribute("data-utc-start"));
    var end = new Date(block.getAttribute("data-utc-end"));
    var target = block.querySelector(".viewer-time");
    if (!target || target.getAttribute("data-fallback") !== "yes" ||
        isNaN(start) || isNaN(end)) { return; }
    var last = sameDay(start, end) ? clock(end) : dayAndTime(end);
    target.textContent = dayAndTime(start) + "\u2013" + last + " (" + zoneName(start) + ")";
    target.setAttribute("data-zone", zone);
  });

  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    if (!input.value) { input.value = zone; }
  });
  document.querySelectorAll(".zone-picker input[name=tz]").forEach(function (input) {
    if (!input.value) { input.placeholder = zone; }
  });
})();
