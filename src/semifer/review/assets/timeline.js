// Timelines of one video: lanes of labels, errors, faceless frames and probabilities drawn on a
// canvas from runs of equal values (a 10,000-frame lane is a few hundred rectangles).
// Used by video.js as window.SemiferTimeline.create(...).
(function () {
  "use strict";
  const NOT_ANNOTATED = 255;
  const MARGIN = 130; // lane names, left of the plot
  const RIGHT = 4;
  const GAP = 3;
  const AXIS = 16;
  const ERROR_COLOUR = "#111"; // no class is black: errors stand out from every label colour
  const NO_FACE_COLOUR = "#e377c2";

  // Calls paint(first, stop, value) for each run of frames in [start, stop) where key(i) is the same and not null.
  function eachRun(start, stop, key, paint) {
    let i = start;
    while (i < stop) {
      const value = key(i);
      let j = i + 1;
      while (j < stop && key(j) === value) j++;
      if (value !== null) paint(i, j, value);
      i = j;
    }
  }

  function create(video) {
    const { classes, colours, truth, raw, smoothed, noFace, probabilities } = video;
    const lanes = [];
    if (truth) lanes.push({ name: "true", kind: "labels", values: truth, height: 16 });
    lanes.push({ name: "raw", kind: "labels", values: raw, height: 16 });
    if (truth) lanes.push({ name: "raw errors", kind: "errors", values: raw, height: 9 });
    lanes.push({ name: video.smoothing, kind: "labels", values: smoothed, height: 16 });
    if (truth) lanes.push({ name: "smoothed errors", kind: "errors", values: smoothed, height: 9 });
    lanes.push({ name: "no face", kind: "flag", values: noFace, height: 9 });
    lanes.push({ name: "probabilities", kind: "probabilities", height: 6 * classes.length });
    const height = lanes.reduce((sum, lane) => sum + lane.height + GAP, 0) + AXIS;
    const rgb = colours.map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));

    function drawProbabilities(context, y, lane, start, stop, x) {
      const count = stop - start;
      const strip = document.createElement("canvas");
      strip.width = count;
      strip.height = classes.length;
      const pixels = strip.getContext("2d").createImageData(count, classes.length);
      for (let c = 0; c < classes.length; c++) {
        for (let i = 0; i < count; i++) {
          const at = 4 * (c * count + i);
          pixels.data.set(rgb[c], at);
          pixels.data[at + 3] = probabilities[(start + i) * classes.length + c]; // opacity = probability
        }
      }
      strip.getContext("2d").putImageData(pixels, 0, 0);
      context.imageSmoothingEnabled = count > x(stop) - MARGIN;
      context.drawImage(strip, MARGIN, y, x(stop) - MARGIN, lane.height);
    }

    function drawLane(context, lane, y, start, stop, x) {
      context.fillStyle = lane.kind === "probabilities" ? "#fff" : "#f2f2f2";
      context.fillRect(MARGIN, y, x(stop) - MARGIN, lane.height);
      if (lane.kind === "probabilities") return drawProbabilities(context, y, lane, start, stop, x);
      const key = {
        labels: (i) => (lane.values[i] === NOT_ANNOTATED ? null : lane.values[i]),
        errors: (i) => (truth[i] !== NOT_ANNOTATED && lane.values[i] !== truth[i] ? 1 : null),
        flag: (i) => (lane.values[i] ? 1 : null),
      }[lane.kind];
      const fixed = lane.kind === "errors" ? ERROR_COLOUR : NO_FACE_COLOUR;
      eachRun(start, stop, key, (first, end, value) => {
        context.fillStyle = lane.kind === "labels" ? colours[value] : fixed;
        context.fillRect(x(first), y, Math.max(x(end) - x(first), 1), lane.height);
      });
    }

    function drawAxis(context, y, start, stop, x) {
      context.fillStyle = "#555";
      context.textBaseline = "top";
      const count = stop - start;
      const power = Math.max(1, Math.pow(10, Math.floor(Math.log10(count / 5))));
      const step = count / power > 10 ? power * 5 : count / power > 5 ? power * 2 : power;
      for (let i = Math.ceil(start / step) * step; i < stop; i += step) {
        context.fillRect(x(i), y, 1, 4);
        context.fillText(String(i + video.first), x(i) + 2, y + 3);
      }
    }

    // Draws frames [start, stop) of every lane into canvas; returns the view: range, frame -> x, and
    // a copy of the drawing that cursor() paints over.
    function draw(canvas, start, stop) {
      const width = canvas.clientWidth;
      const ratio = window.devicePixelRatio || 1;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.height = height + "px";
      const context = canvas.getContext("2d");
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      const scale = (width - MARGIN - RIGHT) / (stop - start);
      const x = (frame) => MARGIN + (frame - start) * scale;
      context.font = "10px sans-serif";
      let y = 0;
      lanes.forEach((lane) => {
        context.fillStyle = "#222";
        context.textBaseline = "middle";
        context.fillText(lane.name, 4, y + lane.height / 2, MARGIN - 8);
        drawLane(context, lane, y, start, stop, x);
        y += lane.height + GAP;
      });
      drawAxis(context, y, start, stop, x);
      const base = document.createElement("canvas");
      base.width = canvas.width;
      base.height = canvas.height;
      base.getContext("2d").drawImage(canvas, 0, 0);
      return { canvas, start, stop, x, scale, width, base };
    }

    // The drawing of view with the current frame marked, and [shadeStart, shadeStop) shaded.
    function cursor(view, frame, shadeStart, shadeStop) {
      const context = view.canvas.getContext("2d");
      const ratio = window.devicePixelRatio || 1;
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.drawImage(view.base, 0, 0);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      const plotHeight = height - AXIS;
      if (shadeStart !== undefined) {
        context.fillStyle = "rgba(0, 0, 0, 0.08)";
        context.fillRect(view.x(shadeStart), 0, view.x(shadeStop) - view.x(shadeStart), plotHeight);
      }
      context.fillStyle = "#000";
      context.fillRect(view.x(frame + 0.5) - 1, 0, 2, plotHeight);
    }

    // The frame under clientX on view's canvas.
    function frameAt(view, clientX) {
      const left = view.canvas.getBoundingClientRect().left;
      return view.start + Math.floor((clientX - left - MARGIN) / view.scale);
    }

    const legend = classes.map((name, c) => [name, colours[c]]);
    if (truth) legend.push(["error against the true label", ERROR_COLOUR]);
    legend.push(["no face", NO_FACE_COLOUR]);
    return { draw, cursor, frameAt, legend };
  }

  window.SemiferTimeline = { create, NOT_ANNOTATED };
})();
