// The attainment histogram of scenario evaluations: one bar series per column (baseline, then each scenario),
// payees per 10-point attainment bucket, from the JSON the page embeds in #attainment-data.
document.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("attainment-histogram");
  const source = document.getElementById("attainment-data");
  if (!element || !source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent || "{}");
  const chart = echarts.init(element);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 70, top: 40, bottom: 60 },
    xAxis: { type: "category", data: data.labels || [], name: "attainment", axisLabel: { rotate: 45 } },
    yAxis: { type: "value", name: "payees", minInterval: 1 },
    series: (data.series || []).map((s) => ({ name: s.name, type: "bar", data: s.data })),
  });
  element.dataset.ready = "1";
  window.addEventListener("resize", () => chart.resize());
});
