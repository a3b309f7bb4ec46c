// Generator page: the forecast until expiry (GET /api/v1/generators/{id}/forecast/), drawn as the
// efficiency with its 95 % band and the expected morning eluate, with the week it falls below
// the site's daily need. Same-origin fetch with the session (the CSP allows connect-src 'self').
(function () {
  "use strict";

  function day(iso) {
    return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  }

  function draw(forecast) {
    var canvas = document.getElementById("forecast-chart");
    if (!canvas || typeof window.Chart === "undefined") {
      return;
    }
    var weeks = forecast.weeks;
    var labels = weeks.map(function (w) { return day(w.at); });
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [
          { label: "Efficiency, 95 % band (high)", data: weeks.map(function (w) { return w.efficiency_high_percent; }),
            borderColor: "rgba(122, 75, 0, 0.3)", pointRadius: 0, fill: false, yAxisID: "eff" },
          { label: "Efficiency, 95 % band (low)", data: weeks.map(function (w) { return w.efficiency_low_percent; }),
            borderColor: "rgba(122, 75, 0, 0.3)", backgroundColor: "rgba(122, 75, 0, 0.12)", pointRadius: 0,
            fill: "-1", yAxisID: "eff" },
          { label: "Efficiency (%)", data: weeks.map(function (w) { return w.efficiency_percent; }),
            borderColor: "#7a4b00", pointRadius: 0, yAxisID: "eff" },
          { label: "Morning eluate (MBq)", data: weeks.map(function (w) { return w.expected_eluate_mbq; }),
            borderColor: "#0b5563", pointRadius: 2, yAxisID: "mbq" }
        ]
      },
      options: {
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          eff: { position: "left", suggestedMin: 0, suggestedMax: 100, title: { display: true, text: "%" } },
          mbq: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "MBq" } }
        }
      }
    });
    var summary = document.getElementById("forecast-summary");
    if (summary && weeks.length) {
      var first = weeks[0];
      var text = "Next week: " + first.patients_one_synthesis + " patients with one synthesis, " +
        first.patients_two_syntheses + " with two (standard patient " +
        Math.round(forecast.standard_patient_mbq) + " MBq). ";
      if (forecast.daily_need_patients === null) {
        text += "No bookings in the last 30 days: no daily need to compare with.";
      } else if (forecast.below_need_at) {
        text += "Falls below the daily need of " + forecast.daily_need_patients + " patients in the week of " +
          day(forecast.below_need_at) + ".";
      } else {
        text += "Serves the daily need of " + forecast.daily_need_patients + " patients until expiry.";
      }
      if (forecast.breakthrough.reaches_limit_at) {
        text += " Breakthrough trend reaches the 0.001 % limit around " + day(forecast.breakthrough.reaches_limit_at) + ".";
      }
      summary.textContent = text;
    }
  }

  function load() {
    var section = document.getElementById("forecast");
    if (!section) {
      return;
    }
    fetch(section.getAttribute("data-forecast-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (forecast) { if (forecast) { draw(forecast); } })
      .catch(function () { /* the page works without the forecast */ });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", load);
  } else {
    load();
  }
})();
