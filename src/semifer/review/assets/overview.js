// The overview page: F1 table and per-class chart, clickable confusion matrices, video list.
// Data: window.SEMIFER_OVERVIEW (data/overview.js); the frames of every cell are in
// data/cells.js, loaded on the first click only (a large run lists many spans). Charts: Plotly.
(function () {
  "use strict";
  const data = window.SEMIFER_OVERVIEW;
  const MAX_LISTED = 500;
  const classes = data.classes;

  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
    return node;
  }

  function percent(count, total) {
    return total ? (100 * count / total).toFixed(1) + " %" : "";
  }

  function f1Table() {
    const table = document.getElementById("f1-table");
    const head = element("tr");
    ["", "macro F1", ...classes, "frames"].forEach((name) => head.append(element("th", name)));
    table.append(head);
    data.rows.forEach((row) => {
      const line = element("tr");
      line.append(element("th", row.name));
      line.append(element("td", row.macro_f1.toFixed(4), { class: "strong" }));
      row.per_class_f1.forEach((value) => line.append(element("td", value.toFixed(3))));
      line.append(element("td", row.frames.toLocaleString("en")));
      table.append(line);
    });
  }

  function perClassChart() {
    if (!data.rows.length) return Promise.resolve();
    const traces = data.rows.map((row) => ({
      type: "bar", name: row.name, x: classes, y: row.per_class_f1,
      hovertemplate: "%{x}: %{y:.3f}<extra>" + row.name + "</extra>",
    }));
    return Plotly.newPlot("per-class-f1", traces, {
      barmode: "group", height: 320, margin: { t: 50, r: 10, b: 40, l: 50 },
      yaxis: { title: { text: "per-class F1" }, range: [0, 1] }, legend: { orientation: "h", y: 1.2 },
    }, { displaylogo: false, responsive: true });
  }

  function matrices() {
    const holder = document.getElementById("matrices");
    const ticks = {
      tickmode: "array", tickvals: classes.map((_, i) => i), ticktext: classes, fixedrange: true, showgrid: false, zeroline: false,
    };
    return data.matrices.map((matrix, index) => {
      const plot = element("div", null, { id: "matrix-" + index, class: "matrix" });
      holder.append(plot);
      const rates = matrix.counts.map((row) => {
        const total = row.reduce((a, b) => a + b, 0);
        return row.map((count) => (total ? count / total : 0));
      });
      return Plotly.newPlot(plot, [{
        type: "heatmap", z: rates, text: matrix.counts, texttemplate: "%{text}",
        x: classes.map((_, i) => i), y: classes.map((_, i) => i), zmin: 0, zmax: 1,
        colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]], showscale: false, xgap: 1, ygap: 1,
        customdata: matrix.counts.map((row, t) => row.map((_, p) => classes[t] + " \u2192 " + classes[p])),
        hovertemplate: "%{customdata}: %{text} frames<extra></extra>",
      }], {
        title: { text: matrix.title, font: { size: 13 } }, width: 390, height: 400,
        margin: { t: 40, r: 10, b: 80, l: 90 },
        xaxis: Object.assign({ title: { text: "predicted" }, tickangle: -45 }, ticks),
        yaxis: Object.assign({ title: { text: "true" }, autorange: "reversed" }, ticks),
      }, { displaylogo: false, displayModeBar: false }).then(() => {
        plot.on("plotly_click", (event) => showCell(index, event.points[0].y, event.points[0].x));
      });
    });
  }

  // Loads a script of this folder once, then calls done (file:// pages cannot fetch JSON).
  function withScript(source, ready, done, failed) {
    if (ready()) return done();
    const script = element("script", null, { src: source });
    script.onload = done;
    script.onerror = () => failed("cannot load " + source);
    document.head.append(script);
  }

  function withCells(done) {
    withScript("data/cells.js", () => window.SEMIFER_CELLS, done, (message) => {
      document.getElementById("cell-title").textContent = message + " (the frames of each cell)";
    });
  }

  function showCell(matrix, truth, predicted) {
    const panel = document.getElementById("cell-frames");
    panel.dataset.matrix = matrix;
    panel.dataset.truth = truth;
    panel.dataset.predicted = predicted;
    panel.dataset.ready = "0";
    withCells(() => {
      const spans = window.SEMIFER_CELLS[matrix][truth * classes.length + predicted];
      const frames = spans.reduce((sum, span) => sum + span[2], 0);
      document.getElementById("cell-title").textContent =
        data.matrices[matrix].title + ": true " + classes[truth] + ", predicted " + classes[predicted] +
        ": " + frames.toLocaleString("en") + " frames in " + spans.length.toLocaleString("en") + " runs";
      const list = document.getElementById("cell-list");
      list.replaceChildren();
      spans.slice(0, MAX_LISTED).forEach(([video, start, length]) => {
        const info = data.videos[video];
        const first = start + info.first;
        const item = element("li", null, { "data-video": info.name, "data-first": first, "data-count": length });
        item.append(element("a", info.name, { href: info.page + "#frame=" + first }));
        item.append(document.createTextNode(length > 1 ? ", frames " + first + "\u2013" + (first + length - 1) + " (" + length + ")" : ", frame " + first));
        list.append(item);
      });
      document.getElementById("cell-more").textContent =
        spans.length > MAX_LISTED ? "\u2026 and " + (spans.length - MAX_LISTED).toLocaleString("en") + " more runs" : "";
      panel.dataset.ready = "1";
    });
  }

  function videoTable() {
    const table = document.getElementById("videos");
    const head = element("tr");
    ["video", "source", "frames", "annotated", "raw errors", "smoothed errors", "no face"].forEach((name) => head.append(element("th", name)));
    table.append(head);
    data.videos.forEach((video) => {
      const line = element("tr");
      const name = element("th");
      name.append(element("a", video.name, { href: video.page }));
      line.append(name, element("td", video.source), element("td", video.frames.toLocaleString("en")));
      const annotated = video.annotated;
      line.append(element("td", annotated === undefined ? "no labels" : annotated.toLocaleString("en")));
      line.append(element("td", annotated === undefined ? "" : percent(video.raw_errors, annotated)));
      line.append(element("td", annotated === undefined ? "" : percent(video.smoothed_errors, annotated)));
      line.append(element("td", percent(video.no_face, video.frames)));
      table.append(line);
    });
  }

  document.getElementById("source").textContent = data.source;
  f1Table();
  videoTable();
  performance.mark("tables-drawn");
  // Plotly (4.6 MB) is loaded after the tables are on screen: parsing it takes most of a second.
  withScript("assets/plotly.min.js", () => window.Plotly, () => {
    Promise.all([perClassChart(), ...matrices()]).then(() => {
      performance.mark("charts-drawn");
      document.body.dataset.ready = "1";
    });
  }, (message) => {
    document.getElementById("matrices").textContent = message + ": the charts cannot be drawn";
  });
})();
