// Home dashboard: the expected-eluate curve of each generator in use (next 8 h, if not eluted).
// Data comes from json_script tags (the CSP forbids inline scripts); Chart.js is served locally.
(function () {
  "use strict";

  function draw() {
    if (typeof window.Chart === "undefined") {
      return;
    }
    var canvases = document.querySelectorAll("canvas.dash-eluate-chart");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-source"));
      if (!source) {
        return;
      }
      var data = JSON.parse(source.textContent);
      var unit = canvas.getAttribute("data-unit") || "MBq";
      new window.Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [{
            label: "Expected eluate (" + unit + ")",
            data: data.expected,
            borderColor: "#0b5563",
            backgroundColor: "rgba(11, 85, 99, 0.12)",
            fill: true,
            pointRadius: 0,
            tension: 0.2
          }]
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { ticks: { maxTicksLimit: 9 } },
            y: { beginAtZero: true, title: { display: true, text: unit } }
          }
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
