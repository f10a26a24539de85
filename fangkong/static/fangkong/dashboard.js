// The dashboard's trend chart: drawn from the JSON the panel carries, and drawn again
// each time htmx swaps a fresh panel in. No inline script (the CSP forbids it).
(function () {
  "use strict";
  var chart = null;
  var days = 14;

  function draw() {
    var holder = document.getElementById("fk-trend-chart");
    var source = document.getElementById("fk-trend-data");
    if (!holder || !source || typeof echarts === "undefined") return;
    var data = JSON.parse(source.textContent);
    if (chart) chart.dispose();
    chart = echarts.init(holder, "dark", { renderer: "canvas" });
    var from = Math.max(0, data.days.length - days);
    chart.setOption({
      backgroundColor: "transparent",
      // Redrawn on every refresh: no animation, or the wall screen flickers each minute.
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, textStyle: { color: "#e8eef6" } },
      grid: { left: 40, right: 16, top: 40, bottom: 28 },
      xAxis: { type: "category", data: data.days.slice(from) },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", smooth: true, data: s.data.slice(from) };
      }),
    });
    document.querySelectorAll(".fk-days").forEach(function (b) {
      b.classList.toggle("active", Number(b.dataset.days) === days);
    });
    document.body.dataset.chartDays = String(days);
    document.body.dataset.chartDrawn = String(Number(document.body.dataset.chartDrawn || 0) + 1);
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest(".fk-days");
    if (!button) return;
    days = Number(button.dataset.days);
    draw();
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id === "fk-panel") draw();
  });
  window.addEventListener("resize", function () { if (chart) chart.resize(); });
  document.addEventListener("DOMContentLoaded", draw);
})();
