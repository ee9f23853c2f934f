// The forecasts chart: actual monthly bookings, one line per forecast method, the seasonal-naive baseline dashed.
document.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("forecast-chart");
  const source = document.getElementById("forecast-series");
  if (!element || !source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent || "{}");
  const series = [{ name: "actual", type: "line", data: data.actual, symbolSize: 4, lineStyle: { width: 3 } }];
  for (const [method, values] of Object.entries(data.methods || {})) {
    series.push({
      name: method,
      type: "line",
      data: values,
      symbolSize: 4,
      lineStyle: method === data.baseline ? { type: "dashed" } : {},
    });
  }
  const chart = echarts.init(element);
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 })) },
    legend: { bottom: 0 },
    grid: { left: 70, right: 20, top: 10, bottom: 50 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", scale: false },
    series,
  });
  window.addEventListener("resize", () => chart.resize());
});
