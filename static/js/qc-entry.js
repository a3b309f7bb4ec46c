// The QC form of a batch: live pass/fail per row as each value is typed, judged in the browser
// from the limits the page carries (qc/specs.py: inclusive bounds unless strict, "< x" censored
// values meet a maximum when x <= the limit and never a minimum). The server judges again when
// saving; this only tells the analyst at once. Also puts the focus where the work continues:
// the saved summary after a save, the first row in error after a refusal, else the first value.
(function () {
  "use strict";
  var form = document.getElementById("qc-form");
  if (!form) { return; }

  function number(text) {
    var t = text.trim().replace(",", ".");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) { return null; }
    var n = Number(t);
    return isFinite(n) ? n : null;
  }

  function fmt(n) {
    return Number.isInteger(n) ? n.toFixed(1) : String(n);
  }

  // {state: "pass" | "fail" | "invalid" | "empty", message}
  function judge(input) {
    var raw = input.value.trim();
    var d = input.dataset;
    if (!raw) { return { state: "empty", message: "" }; }
    if (d.kind === "pass_fail") {
      var word = raw.toLowerCase();
      if (word !== "pass" && word !== "fail") { return { state: "invalid", message: 'Enter "pass" or "fail".' }; }
      return word === "pass"
        ? { state: "pass", message: "Within specification" }
        : { state: "fail", message: "Out of specification: " + d.name + " failed" };
    }
    var censored = raw.charAt(0) === "<";
    var value = number(censored ? raw.slice(1) : raw);
    if (value === null) {
      return { state: "invalid", message: 'Enter a number, or "< x" below the detection limit.' };
    }
    if (censored && value <= 0) {
      return { state: "invalid", message: 'A "< x" result needs a detection limit x above 0.' };
    }
    var low = d.low === "" ? null : Number(d.low);
    var high = d.high === "" ? null : Number(d.high);
    var strict = d.strict === "1";
    var passed;
    if (censored) {
      passed = low === null && high !== null && value <= high;
    } else {
      passed = !(low !== null && (strict ? value <= low : value < low)) &&
        !(high !== null && (strict ? value >= high : value > high));
    }
    var shown = (censored ? "< " : "") + fmt(value) + (d.unit ? " " + d.unit : "");
    return passed
      ? { state: "pass", message: shown + " within specification (" + d.limitText + ")" }
      : { state: "fail", message: shown + " out of specification (" + d.limitText + ")" };
  }

  var LABELS = { pass: "Pass", fail: "Fail", invalid: "?", empty: "Pending" };

  function show(input) {
    var cell = document.getElementById("chip-" + input.dataset.test);
    if (!cell) { return; }
    var verdict = judge(input);
    var chip = document.createElement("span");
    chip.className = "chip " + (verdict.state === "pass" || verdict.state === "fail" ? verdict.state : "pending");
    chip.textContent = LABELS[verdict.state];
    var text = document.createElement("span");
    text.className = verdict.state === "pass" ? "muted" : "";
    var message = verdict.message;
    if (input.dataset.current && verdict.state !== "empty") {
      message = "Correction " + input.dataset.current + " → " + input.value.trim() + ": " + message;
    }
    text.textContent = message;
    cell.replaceChildren(chip, document.createTextNode(" "), text);
    var row = document.getElementById("row-" + input.dataset.test);
    if (row) { row.dataset.live = verdict.state; }
  }

  var values = form.querySelectorAll("input[data-kind]");
  values.forEach(function (input) {
    input.addEventListener("input", function () { show(input); });
    show(input);  // values kept after a refusal are judged again
  });

  // Where the work continues (not the top of the page).
  var saved = document.getElementById("qc-saved");
  var error = form.querySelector("tr.has-error input[data-kind]");
  if (error) {
    error.focus();
  } else if (saved) {
    saved.focus();
  } else if (values.length && !location.hash) {
    values[0].focus({ preventScroll: false });
  }
})();
