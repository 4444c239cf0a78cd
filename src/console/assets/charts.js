// Draws the console dashboard's charts with uPlot (served beside this file) from
// the data each chart's <figure class="chart" data-chart="…"> carries as JSON:
//   {"kind": "bars", "labels": [...], "series": [{"label": "...", "values": [...]}]}
//   {"kind": "lines", "x": [unix seconds...], "series": [...]}
// The same numbers are in a table inside the figure; the drawing is hidden from
// screen readers. No inline script anywhere: the Content Security Policy allows
// only this server's files.
(function () {
  "use strict";

  var COLORS = ["#1f5fa8", "#b45309", "#15803d", "#9d174d"];

  function plotWidth(figure) {
    var room = figure.clientWidth || 640;
    return Math.max(260, Math.min(room, 960));
  }

  function options(spec, figure) {
    var bars = spec.kind === "bars";
    var series = [{}].concat(spec.series.map(function (one, i) {
      var color = COLORS[i % COLORS.length];
      var drawn = { label: one.label, stroke: color, width: 2 };
      if (bars) {
        drawn.fill = color;
        drawn.paths = uPlot.paths.bars({ size: [0.6, 48] });
        drawn.points = { show: false };
      }
      return drawn;
    }));
    var x = bars
      ? {
          splits: function () { return spec.labels.map(function (_, i) { return i; }); },
          values: function (u, splits) {
            return splits.map(function (v) { return spec.labels[v] || ""; });
          },
          rotate: spec.labels.length > 6 ? -35 : 0,
          size: spec.labels.length > 6 ? 90 : 40,
          grid: { show: false },
        }
      : {};
    return {
      width: plotWidth(figure),
      height: 240,
      series: series,
      scales: { x: bars ? { time: false, range: [-0.6, spec.labels.length - 0.4] } : { time: true } },
      axes: [x, { size: 70 }],
      legend: { show: !bars },
      cursor: { show: !bars },
    };
  }

  function draw(figure) {
    var spec = JSON.parse(figure.getAttribute("data-chart"));
    var xs = spec.kind === "bars" ? spec.labels.map(function (_, i) { return i; }) : spec.x;
    var data = [xs].concat(spec.series.map(function (one) { return one.values; }));
    var plot = new uPlot(options(spec, figure), data, figure.querySelector(".plot"));
    figure.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () {
      plot.setSize({ width: plotWidth(figure), height: 240 });
    });
  }

  function drawAll() {
    document.querySelectorAll("figure.chart[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
