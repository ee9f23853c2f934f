// The territory map: one scatter series per territory (longitude, latitude), coloured by ECharts' palette.
document.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("territory-map");
  const source = document.getElementById("territory-points");
  if (!element || !source || typeof echarts === "undefined") return;
  const points = JSON.parse(source.textContent || "{}");
  const series = Object.keys(points).sort().map((territory) => ({
    name: territory,
    type: "scatter",
    symbolSize: 5,
    data: points[territory].map(([x, y, account, potential]) => [Number(x), Number(y), account, potential]),
  }));
  const chart = echarts.init(element);
  chart.setOption({
    tooltip: { formatter: (p) => `${p.data[2]} · ${p.seriesName}<br>potential ${Number(p.data[3]).toLocaleString()}` },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 40, right: 20, top: 10, bottom: 50 },
    xAxis: { type: "value", name: "longitude", scale: true },
    yAxis: { type: "value", name: "latitude", scale: true },
    series,
  });
  window.addEventListener("resize", () => chart.resize());
});
