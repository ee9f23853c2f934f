/* openspm insights: the KPI charts (Apache ECharts, served from /static/vendor).
 *
 * The charts read the JSON in <script id="insights-data">: each charted table as records whose amounts and
 * fractions are exact decimal strings; they are parsed to numbers here for drawing only.
 */
(function () {
  "use strict";

  var charts = [];

  function num(text) {
    return text === null || text === undefined || text === "" ? null : Number(text);
  }

  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node || !window.echarts) return;
    var c = window.echarts.init(node, null, { renderer: "svg" });
    option.animation = false;
    c.setOption(option);
    charts.push(c);
  }

  function bars(id, labels, series, horizontal) {
    var category = { type: "category", data: labels, axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
    chart(id, {
      tooltip: { trigger: "axis" },
      legend: series.length > 1 ? { bottom: 0 } : undefined,
      grid: { left: horizontal ? 90 : 70, right: 16, top: 16, bottom: series.length > 1 ? 56 : 40 },
      xAxis: horizontal ? { type: "value" } : category,
      yAxis: horizontal ? Object.assign(category, { inverse: true }) : { type: "value" },
      series: series,
    });
  }

  function draw() {
    var source = document.getElementById("insights-data");
    if (!source) return;
    var d = JSON.parse(source.textContent);
    var money = "Revenue (" + d.currency + ")";
    bars("chart-months", d.by_month.map(function (r) { return r.month; }),
      [{ name: money, type: "bar", data: d.by_month.map(function (r) { return num(r.revenue); }) }]);
    bars("chart-attainment", d.attainment.map(function (r) { return r.band; }),
      [{ name: "payees", type: "bar", data: d.attainment.map(function (r) { return r.payees; }) }]);
    chart("chart-pay", {
      tooltip: {
        formatter: function (p) {
          return p.data[2] + "<br>attainment " + p.data[0].toFixed(1) + "%<br>earned " + p.data[1].toLocaleString();
        },
      },
      grid: { left: 70, right: 16, top: 16, bottom: 40 },
      xAxis: { type: "value", name: "attainment %", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: "earnings" },
      series: [{
        type: "scatter",
        symbolSize: 7,
        data: d.pay_for_performance.map(function (r) {
          return [num(r.attainment) * 100, num(r.earnings), r.name + " (" + r.payee + ")"];
        }),
      }],
    });
    var sources = d.funnel.map(function (r) { return r.lead_source; });
    bars("chart-funnel", sources, ["created", "closed", "won"].map(function (key) {
      return { name: key, type: "bar", data: d.funnel.map(function (r) { return r[key]; }) };
    }), true);
    bars("chart-regions", d.by_region.map(function (r) { return r.region; }), [
      { name: money, type: "bar", data: d.by_region.map(function (r) { return num(r.revenue); }) },
      { name: "a year earlier", type: "bar", data: d.by_region.map(function (r) { return num(r.revenue_prior); }) },
    ]);
    var products = d.by_product.slice(0, 12);
    bars("chart-products", products.map(function (r) { return r.product; }), [
      { name: money, type: "bar", data: products.map(function (r) { return num(r.revenue); }) },
      { name: "a year earlier", type: "bar", data: products.map(function (r) { return num(r.revenue_prior); }) },
    ], true);
  }

  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
