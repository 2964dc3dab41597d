// A video page: the frame viewer and two scrubbable timelines (the whole video, and a detail
// window around the current frame). Data: window.SEMIFER_VIDEO, this video's own data file.
// Frame images are <img> loads of files on disk, one at a time, never embedded.
(function () {
  "use strict";
  const video = window.SEMIFER_VIDEO;
  const classes = video.classes;
  const colours = video.colours;
  const NOT_ANNOTATED = 255;
  const NO_BOX = 65535;
  const DETAIL_FRAMES = 240;
  const MARGIN = 130;
  const ERROR_COLOUR = "#111"; // no class is black: errors stand out from every label colour
  const NO_FACE_COLOUR = "#e377c2";

  function bytes(text) {
    const decoded = atob(text);
    const values = new Uint8Array(decoded.length);
    for (let i = 0; i < decoded.length; i++) values[i] = decoded.charCodeAt(i);
    return values;
  }

  const frames = video.frames;
  const raw = bytes(video.raw);
  const smoothed = bytes(video.smoothed);
  const truth = video.truth ? bytes(video.truth) : null;
  const noFace = bytes(video.noFace);
  const probabilities = bytes(video.probabilities);
  const boxes = video.boxes ? new Uint16Array(bytes(video.boxes).buffer) : null;

  const lanes = [];
  if (truth) lanes.push({ name: "true", kind: "labels", values: truth, height: 16 });
  lanes.push({ name: "raw", kind: "labels", values: raw, height: 16 });
  if (truth) lanes.push({ name: "raw errors", kind: "errors", values: raw, height: 9 });
  lanes.push({ name: video.smoothing, kind: "labels", values: smoothed, height: 16 });
  if (truth) lanes.push({ name: "smoothed errors", kind: "errors", values: smoothed, height: 9 });
  lanes.push({ name: "no face", kind: "flag", values: noFace, height: 9 });
  lanes.push({ name: "probabilities", kind: "probabilities", height: 6 * classes.length });
  const GAP = 3;
  const AXIS = 16;
  const HEIGHT = lanes.reduce((sum, lane) => sum + lane.height + GAP, 0) + AXIS;

  const state = { frame: 0, detail: null, dragRange: null };

  function isError(values, i) {
    return truth[i] !== NOT_ANNOTATED && values[i] !== truth[i];
  }

  // Calls paint(first, stop) for each run of frames in [start, stop) where key(i) is the same and not null.
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

  function drawLane(context, lane, y, start, stop, x) {
    context.fillStyle = lane.kind === "probabilities" ? "#fff" : "#f2f2f2";
    context.fillRect(MARGIN, y, x(stop) - MARGIN, lane.height);
    if (lane.kind === "probabilities") {
      const count = stop - start;
      const strip = document.createElement("canvas");
      strip.width = count;
      strip.height = classes.length;
      const pixels = strip.getContext("2d").createImageData(count, classes.length);
      const rgb = colours.map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));
      for (let c = 0; c < classes.length; c++) {
        for (let i = 0; i < count; i++) {
          const at = 4 * (c * count + i);
          pixels.data.set(rgb[c], at);
          pixels.data[at + 3] = probabilities[(start + i) * classes.length + c];
        }
      }
      strip.getContext("2d").putImageData(pixels, 0, 0);
      context.imageSmoothingEnabled = count > x(stop) - MARGIN;
      context.drawImage(strip, MARGIN, y, x(stop) - MARGIN, lane.height);
      return;
    }
    const key = {
      labels: (i) => (lane.values[i] === NOT_ANNOTATED ? null : lane.values[i]),
      errors: (i) => (isError(lane.values, i) ? 1 : null),
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
    context.font = "10px sans-serif";
    context.textBaseline = "top";
    const count = stop - start;
    const step = Math.max(1, Math.pow(10, Math.floor(Math.log10(count / 5))));
    const niceStep = count / step > 10 ? step * 5 : count / step > 5 ? step * 2 : step;
    for (let i = Math.ceil(start / niceStep) * niceStep; i < stop; i += niceStep) {
      context.fillRect(x(i), y, 1, 4);
      context.fillText(String(i + video.images.first), x(i) + 2, y + 3);
    }
  }

  // Draws frames [start, stop) of every lane; returns the frame -> x mapping.
  function drawTimeline(canvas, start, stop) {
    const width = canvas.clientWidth;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(HEIGHT * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(HEIGHT * ratio);
      canvas.style.height = HEIGHT + "px";
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, HEIGHT);
    const scale = (width - MARGIN - 4) / (stop - start);
    const x = (frame) => MARGIN + (frame - start) * scale;
    let y = 0;
    context.font = "10px sans-serif";
    context.textBaseline = "middle";
    lanes.forEach((lane) => {
      context.fillStyle = "#222";
      context.fillText(lane.name, 4, y + lane.height / 2, MARGIN - 8);
      drawLane(context, lane, y, start, stop, x);
      y += lane.height + GAP;
    });
    drawAxis(context, y, start, stop, x);
    return { start, stop, x, scale };
  }

  function drawCursor(canvas, view, base) {
    const context = canvas.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.drawImage(base, 0, 0);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (view.detailRange) {
      context.fillStyle = "rgba(0, 0, 0, 0.08)";
      const [first, end] = view.detailRange;
      context.fillRect(view.x(first), 0, view.x(end) - view.x(first), HEIGHT - AXIS);
    }
    context.fillStyle = "#000";
    context.fillRect(view.x(state.frame + 0.5) - 1, 0, 2, HEIGHT - AXIS);
  }

  const overview = document.getElementById("timeline");
  const detail = document.getElementById("detail");
  let overviewView = null;
  const overviewBase = document.createElement("canvas");
  const detailBase = document.createElement("canvas");
  const views = new Map();

  function renderOverview() {
    overviewView = drawTimeline(overview, 0, frames);
    overviewBase.width = overview.width;
    overviewBase.height = overview.height;
    overviewBase.getContext("2d").drawImage(overview, 0, 0);
    views.set(overview, overviewView);
  }

  function detailRange() {
    if (state.dragRange) return state.dragRange;
    const size = Math.min(DETAIL_FRAMES, frames);
    const first = Math.max(0, Math.min(state.frame - Math.floor(size / 2), frames - size));
    return [first, first + size];
  }

  function renderCursors() {
    const [first, end] = detailRange();
    const current = views.get(detail);
    if (!current || current.start !== first || current.stop !== end || current.width !== detail.clientWidth) {
      const view = drawTimeline(detail, first, end);
      view.width = detail.clientWidth;
      views.set(detail, view);
      detailBase.width = detail.width;
      detailBase.height = detail.height;
      detailBase.getContext("2d").drawImage(detail, 0, 0);
    }
    overviewView.detailRange = [first, end];
    drawCursor(overview, overviewView, overviewBase);
    drawCursor(detail, views.get(detail), detailBase);
  }

  // The frame viewer.
  const image = document.getElementById("frame-image");
  const missing = document.getElementById("frame-missing");
  const faceBox = document.getElementById("face-box");
  const bars = [];

  function className(code, none) {
    return code === NOT_ANNOTATED ? none : classes[code];
  }

  function imagePath(number) {
    const images = video.images;
    return images.folder + String(number).padStart(images.digits, "0") + images.suffix;
  }

  function showLabel(id, code, none, wrong) {
    const label = document.getElementById(id + "-label");
    label.textContent = className(code, none);
    label.previousElementSibling.style.background = code === NOT_ANNOTATED ? "transparent" : colours[code];
    document.getElementById(id + "-row").classList.toggle("wrong", Boolean(wrong));
  }

  function showImage(number) {
    const source = imagePath(number);
    if (image.getAttribute("src") === source) return;
    image.dataset.frame = number;
    missing.hidden = true;
    image.hidden = false;
    image.setAttribute("src", source);
  }

  image.addEventListener("load", () => {
    missing.hidden = true;
    image.hidden = false;
  });
  image.addEventListener("error", () => {
    const path = decodeURIComponent(new URL(image.getAttribute("src"), document.baseURI).pathname);
    const frame = Number(image.dataset.frame) - video.images.first;
    missing.textContent = noFace[frame] ? "no face image for this frame (" + path + " does not exist)" : "missing frame image: " + path;
    missing.dataset.path = path;
    missing.hidden = false;
    image.hidden = true;
    faceBox.hidden = true;
  });

  function showBox(frame) {
    const at = 4 * frame;
    faceBox.hidden = !boxes || boxes[at] === NO_BOX || image.hidden;
    if (faceBox.hidden) return;
    const edge = (k) => (100 * boxes[at + k]) / (NO_BOX - 1) + "%";
    faceBox.style.left = edge(0);
    faceBox.style.top = edge(1);
    faceBox.style.width = (100 * (boxes[at + 2] - boxes[at])) / (NO_BOX - 1) + "%";
    faceBox.style.height = (100 * (boxes[at + 3] - boxes[at + 1])) / (NO_BOX - 1) + "%";
  }

  function setFrame(frame, keepHash) {
    state.frame = Math.max(0, Math.min(frames - 1, frame));
    const number = state.frame + video.images.first;
    document.getElementById("frame-number").textContent = number;
    document.getElementById("frame-time").textContent = video.fps ? "(" + (state.frame / video.fps).toFixed(2) + " s)" : "";
    showImage(number);
    const real = truth ? truth[state.frame] : NOT_ANNOTATED;
    if (truth) showLabel("truth", real, "not annotated", false);
    showLabel("raw", raw[state.frame], "none", real !== NOT_ANNOTATED && raw[state.frame] !== real);
    showLabel("smoothed", smoothed[state.frame], "none", real !== NOT_ANNOTATED && smoothed[state.frame] !== real);
    document.getElementById("face-state").textContent = noFace[state.frame] ? "no face: probabilities from the neighbouring frames" : "face";
    bars.forEach(([bar, value], c) => {
      const p = probabilities[state.frame * classes.length + c] / 255;
      bar.style.width = (100 * p).toFixed(1) + "%";
      value.textContent = (100 * p).toFixed(0) + " %";
    });
    showBox(state.frame);
    renderCursors();
    if (!keepHash) history.replaceState(null, "", "#frame=" + number);
  }

  function frameFromHash() {
    const match = /frame=(-?\d+)/.exec(location.hash);
    return match ? Number(match[1]) - video.images.first : 0;
  }

  function buildProbabilities() {
    const holder = document.getElementById("probabilities");
    classes.forEach((name, c) => {
      const line = document.createElement("div");
      line.className = "probability";
      line.dataset.class = name;
      const label = document.createElement("span");
      label.textContent = name;
      const track = document.createElement("span");
      track.className = "track";
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.background = colours[c];
      track.append(bar);
      const value = document.createElement("span");
      value.className = "value";
      line.append(label, track, value);
      holder.append(line);
      bars.push([bar, value]);
    });
  }

  function buildLegend() {
    const legend = document.getElementById("legend");
    const items = classes.map((name, c) => [name, colours[c]]);
    if (truth) items.push(["error against the true label", ERROR_COLOUR]);
    items.push(["no face", NO_FACE_COLOUR]);
    items.forEach(([name, colour]) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      item.append(swatch, document.createTextNode(name));
      legend.append(item);
    });
  }

  function frameAt(canvas, clientX) {
    const view = views.get(canvas);
    const left = canvas.getBoundingClientRect().left;
    return view.start + Math.floor((clientX - left - MARGIN) / view.scale);
  }

  [overview, detail].forEach((canvas) => {
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      if (canvas === detail) state.dragRange = detailRange();
      setFrame(frameAt(canvas, event.clientX));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (event.buttons & 1) setFrame(frameAt(canvas, event.clientX));
    });
    const release = () => {
      if (state.dragRange) {
        state.dragRange = null;
        renderCursors();
      }
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
  });

  document.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: state.frame - step, ArrowRight: state.frame + step, Home: 0, End: frames - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    setFrame(moves[event.key]);
  });
  window.addEventListener("hashchange", () => setFrame(frameFromHash(), true));
  window.addEventListener("resize", () => requestAnimationFrame(() => {
    renderOverview();
    renderCursors();
  }));

  [["previous-video", video.previous], ["next-video", video.next]].forEach(([id, page]) => {
    if (!page) return;
    const link = document.getElementById(id);
    link.href = page;
    link.hidden = false;
  });
  document.getElementById("frame-count").textContent = frames;
  document.getElementById("smoothed-name").textContent = video.smoothing;
  document.getElementById("truth-row").hidden = !truth;
  buildProbabilities();
  buildLegend();
  renderOverview();
  setFrame(frameFromHash(), !location.hash);
  performance.mark("timeline-drawn");
  document.body.dataset.ready = "1";
})();
