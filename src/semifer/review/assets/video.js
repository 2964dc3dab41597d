// A video page: the frame viewer and two scrubbable timelines (the whole video, and a detail
// window around the current frame). Data: window.SEMIFER_VIDEO, this video's own data file;
// drawing: timeline.js. Frame images are <img> loads of files on disk, one at a time.
(function () {
  "use strict";
  const data = window.SEMIFER_VIDEO;
  const NOT_ANNOTATED = window.SemiferTimeline.NOT_ANNOTATED;
  const NO_BOX = 65535;
  const DETAIL_FRAMES = 240;

  function bytes(text) {
    const decoded = atob(text);
    const values = new Uint8Array(decoded.length);
    for (let i = 0; i < decoded.length; i++) values[i] = decoded.charCodeAt(i);
    return values;
  }

  const classes = data.classes;
  const colours = data.colours;
  const frames = data.frames;
  const raw = bytes(data.raw);
  const smoothed = bytes(data.smoothed);
  const truth = data.truth ? bytes(data.truth) : null;
  const noFace = bytes(data.noFace);
  const probabilities = bytes(data.probabilities);
  const boxes = data.boxes ? new Uint16Array(bytes(data.boxes).buffer) : null;
  const timeline = window.SemiferTimeline.create({
    classes, colours, truth, raw, smoothed, noFace, probabilities, smoothing: data.smoothing, first: data.images.first,
  });

  const state = { frame: 0, dragRange: null, overview: null, detail: null };
  const overviewCanvas = document.getElementById("timeline");
  const detailCanvas = document.getElementById("detail");
  const image = document.getElementById("frame-image");
  const missing = document.getElementById("frame-missing");
  const faceBox = document.getElementById("face-box");
  const bars = [];

  function detailRange() {
    if (state.dragRange) return state.dragRange;
    const size = Math.min(DETAIL_FRAMES, frames);
    const first = Math.max(0, Math.min(state.frame - Math.floor(size / 2), frames - size));
    return [first, first + size];
  }

  function drawTimelines() {
    const [first, end] = detailRange();
    const detail = state.detail;
    if (!detail || detail.start !== first || detail.stop !== end || detail.width !== detailCanvas.clientWidth) {
      state.detail = timeline.draw(detailCanvas, first, end);
    }
    timeline.cursor(state.overview, state.frame, first, end);
    timeline.cursor(state.detail, state.frame);
  }

  function imagePath(number) {
    const images = data.images;
    return images.folder + String(number).padStart(images.digits, "0") + images.suffix;
  }

  function showLabel(id, code, none, wrong) {
    const label = document.getElementById(id + "-label");
    label.textContent = code === NOT_ANNOTATED ? none : classes[code];
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
    const frame = Number(image.dataset.frame) - data.images.first;
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
    const share = (value) => (100 * value) / (NO_BOX - 1) + "%";
    faceBox.style.left = share(boxes[at]);
    faceBox.style.top = share(boxes[at + 1]);
    faceBox.style.width = share(boxes[at + 2] - boxes[at]);
    faceBox.style.height = share(boxes[at + 3] - boxes[at + 1]);
  }

  function setFrame(frame, keepHash) {
    state.frame = Math.max(0, Math.min(frames - 1, frame));
    const number = state.frame + data.images.first;
    document.getElementById("frame-number").textContent = number;
    document.getElementById("frame-time").textContent = data.fps ? "(" + (state.frame / data.fps).toFixed(2) + " s)" : "";
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
    drawTimelines();
    if (!keepHash) history.replaceState(null, "", "#frame=" + number);
  }

  function frameFromHash() {
    const match = /frame=(-?\d+)/.exec(location.hash);
    return match ? Number(match[1]) - data.images.first : 0;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function buildProbabilities() {
    const holder = document.getElementById("probabilities");
    classes.forEach((name, c) => {
      const line = element("div", "probability");
      line.dataset.class = name;
      const track = element("span", "track");
      const bar = element("span", "bar");
      bar.style.background = colours[c];
      track.append(bar);
      const value = element("span", "value");
      line.append(element("span", "", name), track, value);
      holder.append(line);
      bars.push([bar, value]);
    });
  }

  function buildLegend() {
    const legend = document.getElementById("legend");
    timeline.legend.forEach(([name, colour]) => {
      const swatch = element("span", "swatch");
      swatch.style.background = colour;
      const item = element("span");
      item.append(swatch, document.createTextNode(name));
      legend.append(item);
    });
  }

  function viewOf(canvas) {
    return canvas === detailCanvas ? state.detail : state.overview;
  }

  [overviewCanvas, detailCanvas].forEach((canvas) => {
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      if (canvas === detailCanvas) state.dragRange = detailRange(); // the detail window holds still while dragged
      setFrame(timeline.frameAt(viewOf(canvas), event.clientX));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (event.buttons & 1) setFrame(timeline.frameAt(viewOf(canvas), event.clientX));
    });
    const release = () => {
      if (!state.dragRange) return;
      state.dragRange = null;
      drawTimelines();
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
    state.overview = timeline.draw(overviewCanvas, 0, frames);
    state.detail = null;
    drawTimelines();
  }));

  [["previous-video", data.previous], ["next-video", data.next]].forEach(([id, page]) => {
    if (!page) return;
    const link = document.getElementById(id);
    link.href = page;
    link.hidden = false;
  });
  document.getElementById("frame-count").textContent = frames;
  document.getElementById("smoothed-name").textContent = data.smoothing;
  document.getElementById("truth-row").hidden = !truth;
  buildProbabilities();
  buildLegend();
  state.overview = timeline.draw(overviewCanvas, 0, frames);
  setFrame(frameFromHash(), !location.hash);
  performance.mark("timeline-drawn");
  document.body.dataset.ready = "1";
})();
