// Booking form: show the prescribed activity (product rule: dose per kg, capped) as the weight
// is typed. Served from our static files: the content security policy forbids inline scripts.
(function () {
  "use strict";
  var form = document.getElementById("booking-form");
  if (!form) return;
  var perKg = parseFloat(form.dataset.dosePerKg);
  var maxDose = parseFloat(form.dataset.maxDose);
  var unit = form.dataset.unit || "MBq";
  var weight = document.getElementById("id_weight_kg");
  var override = document.getElementById("id_prescribed_activity_mbq");
  var out = document.getElementById("prescribed-preview");
  if (!weight || !out) return;

  function show() {
    var typed = override && override.value.trim() !== "" ? parseFloat(override.value) : NaN;
    var kg = parseFloat(weight.value);
    if (!isNaN(typed) && typed > 0) {
      out.textContent = typed.toFixed(unit === "mCi" ? 2 : 1) + " (given)";
      return;
    }
    if (isNaN(kg) || kg <= 0) {
      out.textContent = "—";
      return;
    }
    var mbq = Math.min(perKg * kg, maxDose);
    var value = unit === "mCi" ? mbq / 37 : mbq; // 1 mCi = 37 MBq exactly
    out.textContent = value.toFixed(unit === "mCi" ? 2 : 1) + (mbq >= maxDose ? " (capped)" : "");
  }

  weight.addEventListener("input", show);
  if (override) override.addEventListener("input", show);
  show();
})();
