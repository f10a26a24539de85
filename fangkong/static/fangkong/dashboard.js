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
    var shown = data.days.slice(from);
    // One chart, a panel per scale, each with its own axes: hundreds of work orders on
    // the returnees' axis pressed the returnees flat on the floor.
    var panels = [];
    data.series.forEach(function (s) {
      (panels[s.panel] = panels[s.panel] || []).push(s.name);
    });
    var n = panels.length;
    var each = holder.clientHeight / n; // pixels: ECharts takes no calc()
    chart.setOption({
      backgroundColor: "transparent",
      // Redrawn on every refresh: no animation, or the wall screen flickers each minute.
      animation: false,
      tooltip: { trigger: "axis" },
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      legend: panels.map(function (names, i) {
        return { top: each * i, left: 0, data: names, textStyle: { color: "#e8eef6" } };
      }),
      grid: panels.map(function (_names, i) {
        var below = i === n - 1 ? 24 : 10; // the last panel carries the days
        return { left: 44, right: 12, top: each * i + 30, height: Math.max(each - 30 - below, 20) };
      }),
      xAxis: panels.map(function (_names, i) {
        return { type: "category", gridIndex: i, data: shown, axisLabel: { show: i === n - 1 } };
      }),
      yAxis: panels.map(function (_names, i) {
        return { type: "value", gridIndex: i, minInterval: 1, splitNumber: 3 };
      }),
      series: data.series.map(function (s) {
        var bars = s.key === "orders_done";
        return {
          name: s.name,
          type: bars ? "bar" : "line",
          smooth: !bars,
          xAxisIndex: s.panel,
          yAxisIndex: s.panel,
          data: s.data.slice(from),
        };
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
  // The panels are laid out in pixels of the holder's height: a new size, a new layout.
  window.addEventListener("resize", function () { if (chart) draw(); });
  document.addEventListener("DOMContentLoaded", draw);
})();
