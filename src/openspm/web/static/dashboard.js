/* openspm dashboard: the charts (Apache ECharts, served from /static/vendor) and live updates.
 *
 * Charts read the JSON in <script id="chart-data">: months and exact decimal strings; numbers are parsed
 * here for drawing only. Live updates: when #live names an event stream (data-events), an EventSource
 * listens for `earnings` events; on one, the page's own address (data-refresh) is fetched and every
 * [data-live-part] is swapped for the fresh one, without reloading the page. A short "updated just now"
 * marker says it happened; the figures that changed are highlighted for a moment.
 */
(function () {
  "use strict";

  var charts = {};

  function num(text) {
    return text === null || text === undefined ? null : Number(text);
  }

  function short(month) {
    var found = /-(M\d\d)$/.exec(month);
    return found ? found[1] : month;
  }

  function chart(id) {
    var node = document.getElementById(id);
    if (!node || !window.echarts) return null;
    if (!charts[id]) charts[id] = window.echarts.init(node, null, { renderer: "svg" });
    return charts[id];
  }

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var months = data.months.map(short);
    var money = chart("chart-earnings");
    if (money) {
      var paidName = "Paid (" + data.pay_currency + ")";
      money.setOption({
        animation: false,
        color: ["#2f5bd3", "#9fb4ea"],
        tooltip: { trigger: "axis" },
        legend: { bottom: 0, data: ["Earned (" + data.currency + ")", paidName] },
        grid: { left: 70, right: 16, top: 16, bottom: 52 },
        xAxis: { type: "category", data: months },
        yAxis: { type: "value" },
        series: [
          { name: "Earned (" + data.currency + ")", type: "bar", data: data.earned.map(num) },
          { name: paidName, type: "bar", data: data.paid.map(num) },
        ],
      }, true);
    }
    var progress = chart("chart-attainment");
    if (progress) {
      var label = data.component ? "Attainment (" + data.component + ")" : "Attainment";
      progress.setOption({
        animation: false,
        color: ["#1e8a4c"],
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v.toFixed(1) + "%"; } },
        legend: { bottom: 0, data: [label] },
        grid: { left: 56, right: 40, top: 16, bottom: 52 },
        xAxis: { type: "category", data: months },
        yAxis: { type: "value", min: 0, axisLabel: { formatter: "{value}%" } },
        series: [{
          name: label,
          type: "line",
          connectNulls: false,
          data: data.attainment.map(function (a) { return a === null ? null : Number(a) * 100; }),
          markLine: {
            symbol: "none",
            label: { formatter: "quota", position: "end" },
            lineStyle: { color: "#c0392b", type: "dashed" },
            data: [{ yAxis: 100 }],
          },
        }],
      }, true);
    }
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live-part]").forEach(function (old) {
      var part = fresh.querySelector('[data-live-part="' + old.getAttribute("data-live-part") + '"]');
      if (!part) return;
      var changed = [];
      old.querySelectorAll("[data-figure]").forEach(function (figure) {
        var next = part.querySelector('[data-figure="' + figure.getAttribute("data-figure") + '"]');
        if (next && next.textContent !== figure.textContent) changed.push(figure.getAttribute("data-figure"));
      });
      old.replaceWith(part);
      changed.forEach(function (name) {
        var node = document.querySelector('[data-figure="' + name + '"]');
        if (node) node.classList.add("changed");
      });
    });
    draw();
  }

  function mark(status) {
    status.textContent = "Updated just now";
    status.classList.add("fresh");
    var at = new Date();
    window.clearTimeout(mark.timer);
    mark.timer = window.setTimeout(function () {
      status.classList.remove("fresh");
      status.textContent = "Updated at " + at.toLocaleTimeString();
    }, 30000);
  }

  function listen() {
    var live = document.getElementById("live");
    if (!live || !live.dataset.events || !window.EventSource) return;
    var status = document.getElementById("live-status");
    var busy = false;
    var again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(live.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : Promise.reject(answer.status); })
        .then(function (html) {
          swap(html);
          if (status) mark(status);
        })
        .catch(function () { /* the next event tries again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }
    var source = new EventSource(live.dataset.events);
    source.addEventListener("earnings", refresh);
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function start() {
    draw();
    listen();
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
