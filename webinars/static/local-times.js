// Progressive enhancement: show each session in the browser's own time zone
// and remember that zone in forms. Without JavaScript the page still shows
// the event's zone and the ?tz= (or UTC) line rendered by the server.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }

  function offsetLabel(date) {
    var parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" })
      .formatToParts(date);
    var name = (parts.find(function (p) { return p.type === "timeZoneName"; }) || {}).value || "";
    if (/^[A-Z]{2,5}$/.test(name) && name.indexOf("GMT") !== 0) { return name; }
    var longParts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
      .formatToParts(date);
    var offset = ((longParts.find(function (p) { return p.type === "timeZoneName"; }) || {}).value || "GMT")
      .replace("GMT", "");
    if (!offset) { return "UTC"; }
    return /:00$/.test(offset) ? offset.slice(0, 3) : offset;
  }

  function part(date, options) {
    options.timeZone = zone;
    return new Intl.DateTimeFormat("en-GB", options).format(date);
  }

  function dayAndTime(date) {
    return part(date, { weekday: "short" }) + " " + part(date, { day: "numeric" }) + " " +
      part(date, { month: "short" }) + ", " + clock(date);
  }

  function clock(date) {
    return part(date, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  function sameDay(a, b) {
    return part(a, { year: "numeric", month: "2-digit", day: "2-digit" }) ===
      part(b, { year: "numeric", month: "2-digit", day: "2-digit" });
  }

  var city = zone.split("/").pop().replace(/_/g, " ");
  document.querySelectorAll("[data-utc-start]").forEach(function (block) {
    var start = new Date(block.getAttribute("data-utc-start"));
    var end = new Date(block.getAttribute("data-utc-end"));
    var target = block.querySelector(".viewer-time");
    if (!target || isNaN(start) || isNaN(end)) { return; }
    var last = sameDay(start, end) ? clock(end) : dayAndTime(end);
    var label = offsetLabel(start);
    target.textContent = dayAndTime(start) + "\u2013" + last + " (" +
      (label === city ? city : city + ", " + label) + ")";
    target.setAttribute("data-zone", zone);
  });

  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    if (!input.value) { input.value = zone; }
  });
  document.querySelectorAll(".zone-picker input[name=tz]").forEach(function (input) {
    if (!input.value) { input.placeholder = zone; }
  });
})();
