// Generator page charts: expected eluate over the next 8 h and the efficiency of each elution.
// Data comes from the page's json_script tag (the CSP forbids inline scripts).
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("generator-chart-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var brand = "#0b5563";
    var eluate = document.getElementById("eluate-chart");
    if (eluate) {
      new window.Chart(eluate, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [{
            label: "Expected eluate (" + data.unit + ")",
            data: data.expected,
            borderColor: brand,
            backgroundColor: "rgba(11, 85, 99, 0.12)",
            fill: true,
            pointRadius: 0,
            tension: 0.2
          }]
        },
        options: {
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { ticks: { maxTicksLimit: 9 } },
            y: { beginAtZero: true, title: { display: true, text: data.unit } }
          }
        }
      });
    }
    var efficiency = document.getElementById("efficiency-chart");
    if (efficiency && data.efficiency.length) {
      new window.Chart(efficiency, {
        type: "line",
        data: {
          labels: data.efficiency_labels,
          datasets: [{
            label: "Elution efficiency (%)",
            data: data.efficiency,
            borderColor: "#7a4b00",
            pointRadius: 3
          }]
        },
        options: {
          animation: false,
          scales: { y: { suggestedMin: 0, suggestedMax: 100, title: { display: true, text: "%" } } }
        }
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
