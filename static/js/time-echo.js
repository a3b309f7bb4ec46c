// Shows, under every date-and-time field, how Gallium reads the typed time: in the site's zone,
// with its UTC offset (UI.md: "a time entered in a form is read in the site's zone and shown back
// with its offset before saving"). Around a DST change the offset tells which hour was meant.
(function () {
  "use strict";
  var zone = document.body.dataset.siteTimeZone;
  if (!zone || !window.Intl) { return; }

  function parts(date) {
    var fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "longOffset"
    });
    var out = {};
    fmt.formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }

  function offsetMinutes(date) {
    var name = parts(date).timeZoneName || "GMT";  // "GMT+01:00" or "GMT"
    var m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  }

  // The instant whose wall-clock time in the site's zone is the typed one (as the server does).
  function instantFor(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    if (!m) { return null; }
    var asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    var guess = new Date(asUtc - offsetMinutes(new Date(asUtc)) * 60000);
    return new Date(asUtc - offsetMinutes(guess) * 60000);
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function echo(input) {
    var note = input.nextElementSibling;
    if (!note || !note.classList.contains("time-echo")) {
      note = document.createElement("p");
      note.className = "help time-echo";
      note.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", note);
    }
    var instant = input.value ? instantFor(input.value) : null;
    if (!instant) { note.textContent = ""; return; }
    var p = parts(instant);
    var typed = input.value.slice(11, 16);
    var shown = p.hour + ":" + p.minute;
    var offset = (p.timeZoneName || "GMT").replace("GMT", "UTC") || "UTC";
    if (offset === "UTC") { offset = "UTC+00:00"; }
    // The month by name: "01/07" reads as 1 July or 7 January depending on who reads it.
    var month = MONTHS[Number(p.month) - 1];
    note.textContent = "Read as " + Number(p.day) + " " + month + " " + p.year + " " + shown + " " +
      zone + " (" + offset + ")" + (shown !== typed ? ": this time does not exist that day" : "");
  }

  function wire(root) {
    root.querySelectorAll('input[type="datetime-local"]').forEach(function (input) {
      if (input.dataset.timeEcho) { return; }
      input.dataset.timeEcho = "1";
      input.addEventListener("input", function () { echo(input); });
      echo(input);
    });
  }

  wire(document);
  document.body.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
