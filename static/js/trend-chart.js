// Trends page: the individuals chart (values, centre line, 3-sigma limits, out-of-trend points)
// and the moving-range chart. Data comes from the page's json_script tag (the CSP forbids
// inline scripts).
(function () {
  "use strict";

  function line(label, data, colour, dash) {
    return {
      label: label,
      data: data,
      borderColor: colour,
      borderDash: dash || [],
      borderWidth: 1,
      pointRadius: 0,
      fill: false
    };
  }

  function draw() {
    var source = document.getElementById("trend-chart-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var unit = data.unit ? " (" + data.unit + ")" : "";
    var individuals = document.getElementById("trend-chart");
    if (individuals) {
      var datasets = [{
        label: data.label + unit,
        data: data.values,
        borderColor: "#0b5563",
        pointRadius: 3,
        tension: 0
      }, {
        label: "Out of trend",
        data: data.flagged,
        borderColor: "#b00020",
        backgroundColor: "#b00020",
        pointRadius: 6,
        pointStyle: "rectRot",
        showLine: false
      }];
      if (data.centre.length) {
        var note = data.provisional ? " (provisional)" : "";
        datasets.push(line("Centre line" + note, data.centre, "#2e7d32", data.provisional ? [2, 3] : []));
        datasets.push(line("Upper limit (3 sigma)" + note, data.ucl, "#b00020", [6, 4]));
        datasets.push(line("Lower limit (3 sigma)" + note, data.lcl, "#b00020", [6, 4]));
      }
      new window.Chart(individuals, {
        type: "line",
        data: { labels: data.labels, datasets: datasets },
        options: {
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { title: { display: true, text: data.unit } } }
        }
      });
    }
    var ranges = document.getElementById("mr-chart");
    if (ranges && data.values.length > 1) {
      var mr = [line("Moving range", data.moving_ranges, "#7a4b00")];
      mr[0].pointRadius = 2;
      if (data.mr_ucl.length) {
        mr.push(line("Upper limit (D4 x mean moving range)", data.mr_ucl, "#b00020", [6, 4]));
      }
      new window.Chart(ranges, {
        type: "line",
        data: { labels: data.labels, datasets: mr },
        options: { animation: false, scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true } } }
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
