/* openspm forecast page: the weighted pipeline by period and the reliability diagram (Apache ECharts, served
 * from /static/vendor). The figures come from <script id="forecast-data">: money as exact decimal strings,
 * parsed here for drawing only; reliability bins as (mean predicted, observed) per predictor.
 */
(function () {
  "use strict";

  var NAMES = { model: "model (calibrated)", uncalibrated: "model (uncalibrated)", stage: "stage history", crm: "CRM probability" };
  var COLORS = { model: "#2f5bd3", uncalibrated: "#9fb4ea", stage: "#1e8a4c", crm: "#c0392b" };

  function init(id) {
    var node = document.getElementById(id);
    return node && window.echarts ? window.echarts.init(node, null, { renderer: "svg" }) : null;
  }

  function draw() {
    var source = document.getElementById("forecast-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var money = init("chart-forecast");
    if (money) {
      var label = function (name) { return name + " (" + data.currency + ")"; };
      money.setOption({
        animation: false,
        color: ["#c8ccd4", "#c0392b", "#1e8a4c", "#2f5bd3"],
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 80, right: 16, top: 16, bottom: 52 },
        xAxis: { type: "category", data: data.periods },
        yAxis: { type: "value" },
        series: [
          { name: label("pipeline"), type: "bar", data: data.pipeline.map(Number) },
          { name: label("CRM"), type: "line", data: data.crm.map(Number) },
          { name: label("stage history"), type: "line", data: data.stage.map(Number) },
          { name: label("model"), type: "line", data: data.model.map(Number) },
        ],
      });
    }
    var reliability = init("chart-calibration");
    if (reliability) {
      var series = [{
        name: "perfect", type: "line", data: [[0, 0], [1, 1]], symbol: "none",
        lineStyle: { type: "dashed", color: "#999" }, tooltip: { show: false },
      }];
      Object.keys(data.calibration).forEach(function (key) {
        series.push({
          name: NAMES[key] || key,
          type: "line",
          color: COLORS[key],
          data: data.calibration[key].map(function (b) { return [b.predicted, b.observed, b.rows]; }),
          symbol: "circle",
          symbolSize: function (value) { return 4 + Math.sqrt(value[2]) / 2; },
        });
      });
      reliability.setOption({
        animation: false,
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            return p.seriesName + "<br>predicted " + p.value[0].toFixed(3) + ", observed " + p.value[1].toFixed(3) + " (" + p.value[2] + " rows)";
          },
        },
        legend: { bottom: 0, data: Object.keys(data.calibration).map(function (k) { return NAMES[k] || k; }) },
        grid: { left: 48, right: 70, top: 24, bottom: 60 },
        xAxis: { type: "value", min: 0, max: 1, name: "predicted", nameLocation: "end" },
        yAxis: { type: "value", min: 0, max: 1, name: "observed", nameLocation: "end" },
        series: series,
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
