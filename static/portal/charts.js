// The portal's charts (Chart.js, vendored): the billing reports' and a number's usage. Each <canvas data-chart="ID"> is drawn from
// the JSON in the element with that id, written by Django's json_script: no inline script,
// so the Content Security Policy can forbid it. The tables beside the charts hold the exact
// figures; a chart is their picture, so amounts arrive as decimal strings and are turned
// into numbers only to be drawn, and tooltips show the server's formatted text.
(() => {
  "use strict";

  const COLOURS = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#d63384", "#0dcaf0", "#adb5bd"];

  // Amounts are in a currency; counts (calls) name their unit instead.
  function tooltipText(data) {
    return (context) => {
      const set = data.datasets[context.datasetIndex];
      const text = set.text ? set.text[context.dataIndex] : set.data[context.dataIndex];
      return `${set.label}: ${text} ${data.currency ?? data.unit}`;
    };
  }

  // A dot where a balance was read as changed (and at both ends), none on the flat days
  // between: a single reading still shows.
  function changePoints(context) {
    const values = context.dataset.data;
    const index = context.dataIndex;
    if (values[index] === null) return 0;
    const edge = index === 0 || index === values.length - 1 || values[index - 1] === null;
    return edge || values[index] !== values[index - 1] ? 3 : 0;
  }

  // The chart's data: a dataset per group, each in the next colour, its amounts made
  // numbers by `value`; `style(colour)` gives the look of the chart's kind.
  function groups(data, value, style) {
    return {
      labels: data.labels,
      datasets: data.datasets.map((set, index) => ({
        label: set.label,
        data: set.data.map(value),
        ...style(COLOURS[index % COLOURS.length]),
      })),
    };
  }

  const KINDS = {
    // Spend per month, one stacked bar per month, a colour per group.
    spend: (data) => ({
      type: "bar",
      data: groups(data, Number, (colour) => ({ backgroundColor: colour })),
      options: {
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: data.currency } },
        },
      },
    }),
    // A number's calls per month, one bar per month; whole numbers on the axis.
    calls: (data) => ({
      type: "bar",
      data: groups(data, Number, (colour) => ({ backgroundColor: colour })),
      options: {
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: data.unit } },
        },
      },
    }),
    // Balances at the end of each day, a line per account; gaps where none was read yet.
    balance: (data) => ({
      type: "line",
      data: groups(
        data,
        (value) => (value === null ? null : Number(value)),
        (colour) => ({
          borderColor: colour,
          backgroundColor: colour,
          pointRadius: changePoints,
          borderWidth: 2,
          stepped: true,
        }),
      ),
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { grid: { display: false }, ticks: { maxTicksLimit: 8, maxRotation: 0, autoSkipPadding: 16 } },
          y: { title: { display: true, text: data.currency } },
        },
      },
    }),
  };

  function draw(root) {
    // Charts whose canvas an htmx swap removed would otherwise stay in Chart.js's registry.
    Object.values(Chart.instances).forEach((chart) => {
      if (!chart.canvas.isConnected) chart.destroy();
    });
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const source = document.getElementById(canvas.dataset.chart);
      const kind = KINDS[canvas.dataset.chartKind];
      if (Chart.getChart(canvas) || !source || !kind) return;
      // The box is hidden in the page, so that without JavaScript no empty space stands
      // where the chart would be; it is shown before drawing, as Chart.js sizes to it.
      canvas.closest(".chart-box")?.removeAttribute("hidden");
      const data = JSON.parse(source.textContent);
      const config = kind(data);
      config.options = {
        ...config.options,
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: { callbacks: { label: tooltipText(data) } },
        },
      };
      new Chart(canvas, config);
    });
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  // New content from an htmx swap (a new period on the spend report).
  document.addEventListener("htmx:load", (event) => draw(event.detail.elt));
})();
