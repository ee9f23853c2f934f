// Plan model charts: the simulated total payout per version (a histogram on shared bins) and, per candidate,
// the largest gains and losses per payee on history (horizontal bars).
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("model-charts");
  if (!source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent || "{}");
  const charts = [];
  const histogram = document.getElementById("model-histogram");
  if (histogram && data.histogram && data.histogram.edges.length) {
    const edges = data.histogram.edges;
    const labels = edges.slice(0, -1).map((e, i) => `${Math.round(e).toLocaleString()}–${Math.round(edges[i + 1]).toLocaleString()}`);
    const chart = echarts.init(histogram);
    chart.setOption({
      title: { text: "Simulated total payout", left: "center", textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 80 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: 40, fontSize: 9 } },
      yAxis: { type: "value", name: "draws" },
      series: Object.entries(data.histogram.counts).map(([name, counts]) => ({ name, type: "bar", data: counts })),
    });
    charts.push(chart);
  }
  (data.changes || []).forEach((change, i) => {
    const element = document.getElementById(`model-changes-${i}`);
    if (!element || !change.rows.length) return;
    const rows = change.rows.slice().reverse();
    const chart = echarts.init(element);
    chart.setOption({
      title: { text: `Change per payee: ${change.label}`, left: "center", textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 120, right: 30, top: 40, bottom: 30 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: rows.map((r) => `${r.payee} ${r.name}`) },
      series: [{
        type: "bar",
        data: rows.map((r) => ({ value: Number(r.delta), itemStyle: { color: Number(r.delta) >= 0 ? "#3ba272" : "#ee6666" } })),
      }],
    });
    charts.push(chart);
  });
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
