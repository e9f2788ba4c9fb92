// One live Plotly chart, built once and then changed in place (see ui/live_chart.py).
//
// Streamlit calls this export again, with the same parentElement, whenever the component's
// data changes. The first call makes the chart's <div>; later calls apply the data to the
// figure kept here, so the chart is never unmounted and a user's zoom survives
// (layout.uirevision stays the same). Data, from Python:
//   seq       increases with every mount; a copy delivered again is ignored
//   epoch     names the figure the updates apply to; `figure` (JSON) starts a new one
//   count     curves: how many history records `figure` holds
//   restyle   [{trace, attr, value}]: replace one array of one trace
//   relayout  {"xaxis.range": [a, b], ...}: set layout values
//   extend    {from, count, traces, x, y}: append records `from` ... `from + count - 1`
//   shading   the decision boundary: its shading traces (heatmap and p = 0.5 contour, or the
//             class image) are painted on a <canvas> under Plotly's points, from the same
//             arrays and colour scale; a new grid repaints that canvas (about a millisecond)
//             instead of a Plotly redraw (tens of milliseconds on a busy page)
// Other changes redraw with Plotly.react, coalesced: while one redraw runs, later data waits;
// a chart spends at most about a quarter of the time redrawing, and redraws at most every
// `min_interval_ms`, so the page (its metrics above all) stays responsive.
// If this chart lacks what an update builds on (it was re-created, or a mount was skipped), it
// asks Python for the whole figure (state "resync"). If plotly.js cannot be loaded it reports
// "failed", and the app falls back to Streamlit's own Plotly charts.

const charts = new WeakMap(); // parentElement -> chart state
const TYPED = {
  u1: Uint8Array, i1: Int8Array, u2: Uint16Array, i2: Int16Array,
  u4: Uint32Array, i4: Int32Array, f4: Float32Array, f8: Float64Array,
};
const LOAD_TIMEOUT_MS = 20000;
const CONTOUR_LEVEL = 0.5;

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__deqnetPlotly) {
    window.__deqnetPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      const timer = setTimeout(() => reject(new Error("plotly.js took too long to load")),
        LOAD_TIMEOUT_MS);
      script.src = url;
      script.onload = () => {
        clearTimeout(timer);
        if (window.Plotly) resolve(window.Plotly);
        else reject(new Error("plotly.js loaded but defined no Plotly"));
      };
      script.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`could not load ${url}`));
      };
      document.head.appendChild(script);
    });
  }
  return window.__deqnetPlotly;
}

// ---- arrays: our wire format ({dtype, b64, shape, scale}) and plotly.py's ({dtype, bdata}) ----

function bytesOf(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function flatOf(spec) {
  if (Array.isArray(spec)) {
    const shape = [];
    for (let level = spec; Array.isArray(level); level = level[0]) shape.push(level.length);
    return { flat: Float32Array.from(spec.flat(shape.length)), shape };
  }
  let flat = new TYPED[spec.dtype](bytesOf(spec.b64 ?? spec.bdata).buffer);
  if (spec.scale !== undefined && spec.scale !== 1) {
    flat = Float32Array.from(flat, (v) => v * spec.scale);
  }
  const shape = typeof spec.shape === "string"
    ? spec.shape.split(",").map((s) => parseInt(s, 10)) : (spec.shape ?? [flat.length]);
  return { flat, shape };
}

function reshape(flat, shape) {
  if (shape.length <= 1) return Array.from(flat);
  const [rows, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  const out = new Array(rows);
  for (let i = 0; i < rows; i += 1) out[i] = reshape(flat.subarray(i * size, (i + 1) * size), rest);
  return out;
}

function decode(spec) {
  if (spec === undefined || spec === null || Array.isArray(spec)) return spec;
  if (spec.b64 === undefined && spec.bdata === undefined) return spec;
  const { flat, shape } = flatOf(spec);
  return reshape(flat, shape);
}

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] ?? (node[key] = {});
  node[keys[keys.length - 1]] = value;
}

// ---- the decision boundary's shading, painted on a canvas ----

function rgbOf(color) {
  if (color.startsWith("#")) {
    return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  }
  return color.replace(/[^\d.,]/g, "").split(",").slice(0, 3).map(Number);
}

// 256 RGB entries of a Plotly colour scale on [0, 1] (linear in RGB, as Plotly mixes).
function lookupTable(colorscale) {
  const stops = colorscale.map(([v, c]) => [v, rgbOf(c)]);
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const v = i / 255;
    let k = 0;
    while (k < stops.length - 2 && v > stops[k + 1][0]) k += 1;
    const [v0, c0] = stops[k];
    const [v1, c1] = stops[k + 1];
    const w = v1 > v0 ? Math.min(1, Math.max(0, (v - v0) / (v1 - v0))) : 0;
    for (let ch = 0; ch < 3; ch += 1) table[3 * i + ch] = c0[ch] + w * (c1[ch] - c0[ch]);
  }
  return table;
}

// The shading traces of a boundary figure: hidden from Plotly (kept for hover), drawn here.
function takeShading(figure) {
  const image = figure.data.find((t) => t.type === "image");
  const heat = figure.data.findIndex((t) => t.type === "heatmap");
  const contour = figure.data.findIndex((t) => t.type === "contour");
  figure.layout.plot_bgcolor = "rgba(0,0,0,0)";
  const paper = figure.layout.paper_bgcolor ?? "#ffffff";
  figure.layout.paper_bgcolor = "rgba(0,0,0,0)";
  if (image) {
    image.opacity = 0;
    return { paper, kind: "image", trace: figure.data.indexOf(image), smooth: true, z: {} };
  }
  const h = figure.data[heat];
  h.opacity = 0;
  if (contour >= 0) figure.data[contour].visible = false;
  return {
    paper, kind: "heatmap", trace: heat, contour,
    x: Float64Array.from(decode(h.x)), y: Float64Array.from(decode(h.y)),
    table: lookupTable(h.colorscale), smooth: h.zsmooth !== false,
    zmin: h.zmin ?? 0, zmax: h.zmax ?? 1,
    z: {}, // trace -> the newest z (wire format); Plotly keeps the first one for its hover
  };
}

// Pixels (rows top to bottom) of the shading's source image, one per grid point.
function sourceImage(shading, figure) {
  const z = (trace) => shading.z[trace] ?? figure.data[trace].z;
  if (shading.kind === "image") {
    const trace = figure.data[shading.trace];
    const { flat, shape } = flatOf(z(shading.trace));
    const [rows, cols] = shape;
    const pixels = new ImageData(cols, rows);
    for (let i = 0; i < rows; i += 1) {
      for (let j = 0; j < cols; j += 1) {
        const from = 3 * (i * cols + j);
        const to = 4 * ((rows - 1 - i) * cols + j);
        pixels.data.set(flat.subarray(from, from + 3), to);
        pixels.data[to + 3] = 255;
      }
    }
    return { pixels, x0: trace.x0, dx: trace.dx, y0: trace.y0, dy: trace.dy, rows, cols };
  }
  const { flat, shape } = flatOf(z(shading.trace));
  const [rows, cols] = shape;
  const pixels = new ImageData(cols, rows);
  const span = shading.zmax - shading.zmin;
  for (let i = 0; i < rows; i += 1) {
    for (let j = 0; j < cols; j += 1) {
      const level = Math.round(255 * Math.min(1, Math.max(0, (flat[i * cols + j] - shading.zmin) / span)));
      const to = 4 * ((rows - 1 - i) * cols + j);
      pixels.data.set(shading.table.subarray(3 * level, 3 * level + 3), to);
      pixels.data[to + 3] = 255;
    }
  }
  const dx = cols > 1 ? shading.x[1] - shading.x[0] : 1;
  const dy = rows > 1 ? shading.y[1] - shading.y[0] : 1;
  return { pixels, x0: shading.x[0], dx, y0: shading.y[0], dy, rows, cols };
}

// Marching squares at CONTOUR_LEVEL: line segments [x1, y1, x2, y2] in data coordinates.
function contourSegments(shading, figure) {
  const trace = figure.data[shading.contour];
  const { flat, shape } = flatOf(shading.z[shading.contour] ?? trace.z);
  const [rows, cols] = shape;
  const xs = shading.x;
  const ys = shading.y;
  const segments = [];
  const at = (i, j) => flat[i * cols + j] - CONTOUR_LEVEL;
  const cross = (a, b, pa, pb) => pa + (a / (a - b)) * (pb - pa);
  for (let i = 0; i + 1 < rows; i += 1) {
    for (let j = 0; j + 1 < cols; j += 1) {
      const v = [at(i, j), at(i, j + 1), at(i + 1, j + 1), at(i + 1, j)];
      const p = [];
      if ((v[0] > 0) !== (v[1] > 0)) p.push([cross(v[0], v[1], xs[j], xs[j + 1]), ys[i]]);
      if ((v[1] > 0) !== (v[2] > 0)) p.push([xs[j + 1], cross(v[1], v[2], ys[i], ys[i + 1])]);
      if ((v[2] > 0) !== (v[3] > 0)) p.push([cross(v[3], v[2], xs[j], xs[j + 1]), ys[i + 1]]);
      if ((v[3] > 0) !== (v[0] > 0)) p.push([xs[j], cross(v[0], v[3], ys[i], ys[i + 1])]);
      for (let k = 0; k + 1 < p.length; k += 2) segments.push([...p[k], ...p[k + 1]]);
    }
  }
  return { segments, color: trace.line?.color ?? "#222222", width: trace.line?.width ?? 2 };
}

function paint(state) {
  const { div, shading, figure } = state;
  const layout = div._fullLayout;
  const box = div.querySelector(".svg-container");
  if (!layout || !box || !shading) return;
  let canvas = state.canvas;
  if (!canvas || canvas.parentElement !== box) {
    canvas = document.createElement("canvas");
    canvas.className = "deqnet-shading";
    canvas.style.cssText = "position:absolute;left:0;top:0;pointer-events:none;";
    box.insertBefore(canvas, box.firstChild); // under Plotly's (transparent) layers
    state.canvas = canvas;
  }
  div.style.background = shading.paper;
  const ratio = window.devicePixelRatio || 1;
  const width = box.clientWidth;
  const height = box.clientHeight;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const xa = layout.xaxis;
  const ya = layout.yaxis;
  const px = (x) => xa._offset + xa.l2p(x);
  const py = (y) => ya._offset + ya.l2p(y);
  ctx.save();
  ctx.beginPath();
  ctx.rect(xa._offset, ya._offset, xa._length, ya._length);
  ctx.clip();
  const image = sourceImage(shading, figure);
  const source = document.createElement("canvas");
  source.width = image.cols;
  source.height = image.rows;
  source.getContext("2d").putImageData(image.pixels, 0, 0);
  ctx.imageSmoothingEnabled = shading.smooth;
  // Pixel centres at the grid points, as Plotly draws a heatmap or an image.
  const left = px(image.x0 - image.dx / 2);
  const right = px(image.x0 + (image.cols - 0.5) * image.dx);
  const top = py(image.y0 + (image.rows - 0.5) * image.dy);
  const bottom = py(image.y0 - image.dy / 2);
  ctx.drawImage(source, left, top, right - left, bottom - top);
  if (shading.kind === "heatmap" && shading.contour >= 0) {
    const { segments, color, width: lineWidth } = contourSegments(shading, figure);
    ctx.strokeStyle = color;
    ctx.lineWidth = lineWidth;
    ctx.lineCap = "round";
    ctx.beginPath();
    for (const [x1, y1, x2, y2] of segments) {
      ctx.moveTo(px(x1), py(y1));
      ctx.lineTo(px(x2), py(y2));
    }
    ctx.stroke();
  }
  ctx.restore();
}

// ---- applying data ----

function resync(state, data, setStateValue) {
  state.seq = data.seq;
  setStateValue("resync", `${data.epoch}:${data.seq}`);
}

function extend(state, figure, ext) {
  const skip = state.count - ext.from; // records this chart already has
  if (skip >= ext.count) return false;
  const x = decode(ext.x).slice(skip);
  ext.traces.forEach((trace, i) => {
    const old = figure.data[trace];
    old.x = decode(old.x).concat(x);
    old.y = decode(old.y).concat(decode(ext.y[i]).slice(skip));
  });
  state.count = ext.from + ext.count;
  return true;
}

function mark(state) {
  state.updates += 1;
  state.div.dataset.updates = String(state.updates);
  state.div.dataset.seq = String(state.seq);
}

// Plotly.react of the current figure, at most one at a time and at most ~half of the time.
function redraw(Plotly, state) {
  state.dirty = true;
  if (state.drawing) return state.drawing;
  const wait = Math.max(0, state.readyAt - performance.now());
  state.drawing = new Promise((resolve) => setTimeout(resolve, wait)).then(() => {
    state.dirty = false;
    const start = performance.now();
    state.figure.layout.datarevision = state.seq;
    return Plotly.react(state.div, state.figure.data, state.figure.layout, state.config)
      .then(() => {
        if (!state.listening) {
          // Zoom, pan and resizes move the plot area: paint the shading after every redraw.
          state.div.on("plotly_afterplot", () => paint(state));
          state.listening = true;
        }
        const cost = performance.now() - start;
        // At most about a quarter of the time redrawing, and not more often than asked.
        state.readyAt = performance.now() + Math.max(3 * cost, state.minInterval - cost);
        state.drawing = null;
        paint(state);
        mark(state);
        if (state.dirty) return redraw(Plotly, state);
        return undefined;
      });
  });
  return state.drawing;
}

function apply(Plotly, state, data, setStateValue) {
  if (data.seq <= state.seq) return undefined;
  state.config = data.config;
  state.minInterval = data.min_interval_ms ?? 0;
  if (data.figure) {
    const figure = JSON.parse(data.figure);
    figure.layout.uirevision = "deqnet-live"; // keeps the user's zoom through every update
    state.shading = data.shading ? takeShading(figure) : null;
    state.figure = figure;
    state.epoch = data.epoch;
    state.count = data.count ?? 0;
    state.seq = data.seq;
    return redraw(Plotly, state);
  }
  if (!state.figure || state.epoch !== data.epoch) return resync(state, data, setStateValue);
  if (data.extend && data.extend.from > state.count) return resync(state, data, setStateValue);
  state.seq = data.seq;
  const figure = state.figure;
  let replot = false;
  let repaint = false;
  for (const r of data.restyle ?? []) {
    if (state.shading) {
      state.shading.z[r.trace] = r.value;
      repaint = true;
    } else {
      figure.data[r.trace][r.attr] = decode(r.value);
      replot = true;
    }
  }
  for (const [path, value] of Object.entries(data.relayout ?? {})) {
    setPath(figure.layout, path, value);
    replot = true;
  }
  if (data.extend) replot = extend(state, figure, data.extend) || replot;
  if (repaint && !state.drawing) {
    paint(state);
    mark(state);
  }
  return replot ? redraw(Plotly, state) : undefined;
}

function fail(state, error, setStateValue) {
  state.div.textContent = `Live charts could not start (${error.message}); switching to ` +
    "standard charts…";
  state.div.dataset.failed = "true";
  setStateValue("failed", error.message);
}

export default function render({ data, parentElement, setStateValue }) {
  let state = charts.get(parentElement);
  if (!state) {
    const div = document.createElement("div");
    div.className = "deqnet-live-chart";
    div.style.width = "100%";
    parentElement.appendChild(div);
    state = {
      div, epoch: null, count: 0, seq: -1, figure: null, shading: null, canvas: null,
      updates: 0, drawing: null, dirty: false, readyAt: 0, config: {}, listening: false,
      minInterval: 0,
      queue: Promise.resolve(),
    };
    charts.set(parentElement, state);
  }
  state.div.style.height = `${data.height}px`;
  // Data in order; a redraw that is still running coalesces later data into the next one.
  state.queue = state.queue
    .then(() => loadPlotly(data.plotly_url))
    .then((Plotly) => { apply(Plotly, state, data, setStateValue); })
    .catch((error) => fail(state, error, setStateValue));
  return () => {
    charts.delete(parentElement);
    if (window.Plotly) window.Plotly.purge(state.div);
  };
}
