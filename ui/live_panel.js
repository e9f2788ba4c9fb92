// The Playground's live panel: status line, metrics row and three Plotly charts (decision
// boundary, training curves, path preview), fed by the server's frame stream (ui/live_route.py).
//
// Streamlit calls this export on every page run with new `data` (same parentElement): the
// figures as the builders made them, the texts, the socket's path and token. Between page runs
// nothing reruns: frames arrive on a websocket and are drawn in requestAnimationFrame, newest
// first, all in the same animation frame:
//   - the boundary's shading is painted on a <canvas> under Plotly's transparent layers (about a
//     millisecond; Plotly itself keeps the axes, points, hover and the user's zoom);
//   - the p = 0.5 contour is traced here (marching squares) from the same grid;
//   - the status line and every [data-metric] value get the frame's texts;
//   - curves and the path preview are redrawn with Plotly.react at most every REDRAW_MS;
//   - the depth strip (the plane at t = 0, T/4, T/2, 3T/4, T with the points and a warped square
//     grid, sent with the paths at their slower pace) is painted on small canvases under the
//     boundary, at most every STRIP_MS; a click on a panel asks the page ("strip": its index) to
//     open Trajectories at that depth.
// When the trainer stops the session (budget, divergence, memory) the panel triggers one page
// run ("stopped") so the buttons and messages show it. A token the server does not know (4401)
// or one already in use (4409) asks the page for a new one ("token"). A socket that never opens
// within data.fallback_ms reports "failed": the page then polls with Streamlit reruns instead
// (ui/live.py). One that opened once and dropped reconnects with jittered backoff.
//
// Drawing points (ui/drawing.py): "Draw points" switches the boundary chart from zooming to
// drawing; a click adds a point of the chosen class at that data coordinate, a click on a point
// (or a shift-click near one) removes it, Clear empties the drawing. Every edit is numbered and
// the page's "draw" state holds all edits the page has not applied yet (a page run reports the
// last one it applied), so a quick series of clicks arrives complete; the chart shows an edit at
// once and the page run that follows brings the real picture.

const panels = new WeakMap(); // parentElement -> panel state
const LOAD_TIMEOUT_MS = 20000;
const REDRAW_MS = 250;
const STRIP_MS = 250;
const CONTOUR_LEVEL = 127.5; // p = 0.5 in uint8 levels
const BACKOFF_MS = [500, 8000]; // full jitter between 0 and min(max, base * 2^failures)

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

// ---- arrays: frames (deqnet/live/frames.py) and plotly.py's {dtype, bdata, shape} ----

const TYPED = {
  u1: Uint8Array, i1: Int8Array, u2: Uint16Array, i2: Int16Array,
  u4: Uint32Array, i4: Int32Array, f4: Float32Array, f8: Float64Array,
};

function decodeFrame(buffer) {
  const n = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
  const start = Math.ceil((4 + n) / 8) * 8;
  const arrays = {};
  for (const a of header.arrays) {
    const size = a.shape.reduce((x, y) => x * y, 1);
    arrays[a.name] = new TYPED[a.dtype](buffer, start + a.offset, size);
  }
  return { header, arrays };
}

function flat(spec) {
  if (Array.isArray(spec)) return Float64Array.from(spec.flat(Infinity));
  const text = atob(spec.bdata);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return new TYPED[spec.dtype](bytes.buffer);
}

function plain(spec) {
  return spec && !Array.isArray(spec) && spec.bdata !== undefined ? Array.from(flat(spec)) : spec;
}

// ---- the boundary's shading ----

function rgbOf(color) {
  if (color.startsWith("#")) return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
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

function levels(values, lo = 0, hi = 1) {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    out[i] = Math.round(255 * Math.min(1, Math.max(0, (values[i] - lo) / (hi - lo))));
  }
  return out;
}

// Takes the shading traces out of Plotly's hands (kept, invisible, for hover) and returns the
// grid they hold in the frames' form: {kind, x0, dx, y0, dy, rows, cols, z | image, contour}.
function takeShading(figure, panel, running) {
  figure.layout.plot_bgcolor = "rgba(0,0,0,0)";
  panel.paper = figure.layout.paper_bgcolor ?? "#ffffff";
  figure.layout.paper_bgcolor = "rgba(0,0,0,0)";
  const image = figure.data.find((t) => t.type === "image");
  if (image) {
    image.opacity = 0;
    const [rows, cols] = String(image.z.shape ?? "").split(",").map((s) => parseInt(s, 10));
    return {
      kind: "image", x0: image.x0, dx: image.dx, y0: image.y0, dy: image.dy, rows, cols,
      image: new Uint8Array(flat(image.z)),
    };
  }
  const heat = figure.data.find((t) => t.type === "heatmap");
  const contour = figure.data.find((t) => t.type === "contour");
  heat.opacity = 0;
  // Its hover tells P(class 1) of the weights this page run drew: true while paused, stale
  // once frames repaint the shading, so training hides it.
  if (running) heat.hoverinfo = "skip";
  if (contour) contour.visible = false;
  panel.table = lookupTable(heat.colorscale);
  panel.smooth = heat.zsmooth !== false;
  panel.line = { color: contour?.line?.color ?? "#222222", width: contour?.line?.width ?? 2 };
  const xs = flat(heat.x);
  const ys = flat(heat.y);
  return {
    kind: "heatmap", x0: xs[0], dx: xs.length > 1 ? xs[1] - xs[0] : 1,
    y0: ys[0], dy: ys.length > 1 ? ys[1] - ys[0] : 1, rows: ys.length, cols: xs.length,
    z: levels(flat(heat.z), heat.zmin ?? 0, heat.zmax ?? 1),
    contour: contour ? levels(flat(contour.z)) : null,
  };
}

function sourceCanvas(panel, grid) {
  const { rows, cols } = grid;
  const pixels = new ImageData(cols, rows);
  for (let i = 0; i < rows; i += 1) {
    for (let j = 0; j < cols; j += 1) {
      const from = i * cols + j;
      const to = 4 * ((rows - 1 - i) * cols + j);
      if (grid.kind === "image") {
        pixels.data.set(grid.image.subarray(3 * from, 3 * from + 3), to);
      } else {
        const level = grid.z[from];
        pixels.data.set(panel.table.subarray(3 * level, 3 * level + 3), to);
      }
      pixels.data[to + 3] = 255;
    }
  }
  const source = panel.source ?? (panel.source = document.createElement("canvas"));
  source.width = cols;
  source.height = rows;
  source.getContext("2d").putImageData(pixels, 0, 0);
  return source;
}

// Marching squares at p = 0.5: line segments [x1, y1, x2, y2] in data coordinates.
function contourSegments(grid) {
  const { rows, cols, contour } = grid;
  const xs = (j) => grid.x0 + j * grid.dx;
  const ys = (i) => grid.y0 + i * grid.dy;
  const at = (i, j) => contour[i * cols + j] - CONTOUR_LEVEL;
  const cross = (a, b, pa, pb) => pa + (a / (a - b)) * (pb - pa);
  const segments = [];
  for (let i = 0; i + 1 < rows; i += 1) {
    for (let j = 0; j + 1 < cols; j += 1) {
      const v = [at(i, j), at(i, j + 1), at(i + 1, j + 1), at(i + 1, j)];
      const p = [];
      if ((v[0] > 0) !== (v[1] > 0)) p.push([cross(v[0], v[1], xs(j), xs(j + 1)), ys(i)]);
      if ((v[1] > 0) !== (v[2] > 0)) p.push([xs(j + 1), cross(v[1], v[2], ys(i), ys(i + 1))]);
      if ((v[2] > 0) !== (v[3] > 0)) p.push([cross(v[3], v[2], xs(j), xs(j + 1)), ys(i + 1)]);
      if ((v[3] > 0) !== (v[0] > 0)) p.push([xs(j), cross(v[0], v[3], ys(i), ys(i + 1))]);
      for (let k = 0; k + 1 < p.length; k += 2) segments.push([...p[k], ...p[k + 1]]);
    }
  }
  return segments;
}

function paint(panel) {
  const div = panel.charts.boundary;
  const layout = div._fullLayout;
  const box = div.querySelector(".svg-container");
  const grid = panel.grid;
  if (!layout || !box || !grid) return;
  let canvas = panel.canvas;
  if (!canvas || canvas.parentElement !== box) {
    canvas = document.createElement("canvas");
    canvas.className = "deqnet-shading";
    canvas.style.cssText = "position:absolute;left:0;top:0;pointer-events:none;";
    panel.canvas = canvas;
  }
  // Under Plotly's (transparent) layers, also after Plotly put a new layer first (adding a
  // trace of a new kind does): the shading would hide the points.
  if (box.firstChild !== canvas) box.insertBefore(canvas, box.firstChild);
  div.style.background = panel.paper;
  const ratio = window.devicePixelRatio || 1;
  const width = box.clientWidth;
  const height = box.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
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
  ctx.imageSmoothingEnabled = grid.kind === "image" || panel.smooth;
  // Pixel centres at the grid points, as Plotly draws a heatmap or an image.
  const left = px(grid.x0 - grid.dx / 2);
  const right = px(grid.x0 + (grid.cols - 0.5) * grid.dx);
  const top = py(grid.y0 + (grid.rows - 0.5) * grid.dy);
  const bottom = py(grid.y0 - grid.dy / 2);
  ctx.drawImage(sourceCanvas(panel, grid), left, top, right - left, bottom - top);
  if (grid.kind === "heatmap" && grid.contour) {
    ctx.strokeStyle = panel.line.color;
    ctx.lineWidth = panel.line.width;
    ctx.lineCap = "round";
    ctx.beginPath();
    for (const [x1, y1, x2, y2] of contourSegments(grid)) {
      ctx.moveTo(px(x1), py(y1));
      ctx.lineTo(px(x2), py(y2));
    }
    ctx.stroke();
  }
  ctx.restore();
}

// ---- the panel's DOM ----

const STYLE = `
.deqnet-live-panel { font-family: inherit; color: inherit; }
.deqnet-live-panel .dl-status { margin: 0 0 0.6rem; }
.deqnet-live-panel .dl-status-text { font-size: 0.95rem; margin-bottom: 0.3rem; }
.deqnet-live-panel .dl-bar { height: 0.5rem; border-radius: 0.25rem; background: #e5e7eb; }
.deqnet-live-panel .dl-fill { height: 100%; border-radius: 0.25rem; background: #2563eb;
  width: 0; }
.deqnet-live-panel .dl-row { display: flex; flex-wrap: wrap; gap: 1rem; }
.deqnet-live-panel .dl-left { flex: 3 1 320px; min-width: 0; }
.deqnet-live-panel .dl-right { flex: 2 1 260px; min-width: 0; }
.deqnet-live-panel .dl-metrics { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr));
  gap: 0.4rem 0.8rem; margin-bottom: 0.4rem; }
.deqnet-live-panel .dl-label { font-size: 0.85rem; opacity: 0.75; }
.deqnet-live-panel .dl-value { font-size: 1.45rem; font-variant-numeric: tabular-nums;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.deqnet-live-panel .dl-chart { width: 100%; }
.deqnet-live-panel .dl-draw { display: flex; flex-wrap: wrap; align-items: center;
  gap: 0.35rem 0.45rem; margin-bottom: 0.6rem; font-size: 0.85rem; }
.deqnet-live-panel .dl-draw[hidden], .deqnet-live-panel .dl-draw [hidden] { display: none; }
.deqnet-live-panel .dl-draw button { font: inherit; color: inherit; cursor: pointer;
  background: #ffffff; border: 1px solid rgba(49, 51, 63, 0.25); border-radius: 0.5rem;
  padding: 0.2rem 0.6rem; display: inline-flex; align-items: center; gap: 0.35rem; }
.deqnet-live-panel .dl-draw button:hover { border-color: #2563eb; }
.deqnet-live-panel .dl-draw button:focus-visible { outline: 2px solid #2563eb;
  outline-offset: 1px; }
.deqnet-live-panel .dl-draw button[aria-pressed="true"] { border: 2px solid #2563eb;
  background: #eff6ff; font-weight: 600; padding: calc(0.2rem - 1px) calc(0.6rem - 1px); }
.deqnet-live-panel .dl-dot { width: 0.75rem; height: 0.75rem; border-radius: 50%;
  border: 1px solid #ffffff; box-shadow: 0 0 0 1px rgba(0, 0, 0, 0.25); }
.deqnet-live-panel .dl-draw-note { flex: 1 1 100%; }
.deqnet-live-panel .dl-draw-note:empty { display: none; }
.deqnet-live-panel .dl-draw-hint { flex: 1 1 100%; opacity: 0.7; font-size: 0.8rem; }
.deqnet-live-panel.dl-drawing [data-chart=boundary] .nsewdrag { cursor: crosshair !important; }
.deqnet-live-panel .dl-strip { margin-top: 0.4rem; }
.deqnet-live-panel .dl-strip-title { font-size: 0.8rem; opacity: 0.75; margin-bottom: 0.2rem; }
.deqnet-live-panel .dl-strip-row { display: flex; gap: 0.3rem; }
.deqnet-live-panel .dl-strip-panel {
  flex: 1 1 0; min-width: 0; max-width: 9rem; padding: 2px; cursor: pointer; color: inherit;
  background: transparent; border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 0.3rem;
  display: flex; flex-direction: column; align-items: center; font: inherit;
}
.deqnet-live-panel .dl-strip-panel:hover, .deqnet-live-panel .dl-strip-panel:focus-visible {
  border-color: rgba(128, 128, 128, 0.9);
}
.deqnet-live-panel .dl-strip-panel canvas { width: 100%; aspect-ratio: 1; display: block; }
.deqnet-live-panel .dl-strip-label { font-size: 0.75rem; white-space: nowrap; }
`;

function element(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function build(parentElement, data) {
  if (!document.getElementById("deqnet-live-panel-style")) {
    const style = element("style", null, document.head);
    style.id = "deqnet-live-panel-style";
    style.textContent = STYLE;
  }
  const root = element("div", "deqnet-live-panel", parentElement);
  root.dataset.frames = "0";
  const status = element("div", "dl-status", root);
  const statusText = element("div", "dl-status-text", status);
  statusText.dataset.status = "";
  const fill = element("div", "dl-fill", element("div", "dl-bar", status));
  const row = element("div", "dl-row", root);
  const left = element("div", "dl-left", row);
  const right = element("div", "dl-right", row);
  const draw = buildDraw(right);
  const metrics = element("div", "dl-metrics", right);
  const values = {};
  const labels = {};
  for (const [name] of data.metric_labels) {
    const box = element("div", "dl-metric", metrics);
    labels[name] = element("div", "dl-label", box);
    values[name] = element("div", "dl-value", box);
    values[name].dataset.metric = name;
  }
  const charts = {
    boundary: element("div", "dl-chart deqnet-live-chart", left),
    curves: element("div", "dl-chart", right),
    preview: element("div", "dl-chart", right),
  };
  charts.boundary.dataset.chart = "boundary";
  charts.curves.dataset.chart = "curves";
  charts.preview.dataset.chart = "preview";
  const strip = element("div", "dl-strip", left);
  strip.hidden = true;
  const stripTitle = element("div", "dl-strip-title", strip);
  stripTitle.textContent =
    "Inside the network: the plane at five depths, with a square grid carried along. " +
    "Click one to open it in Trajectories.";
  const stripRow = element("div", "dl-strip-row", strip);
  return {
    root, statusText, fill, values, labels, charts, drawTools: draw, stripBox: strip, stripRow,
  };
}

function buildDraw(parent) {
  const bar = element("div", "dl-draw", parent);
  bar.hidden = true;
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Draw your own points");
  const toggle = element("button", "dl-draw-toggle", bar);
  toggle.type = "button";
  toggle.textContent = "✎ Draw points";
  toggle.setAttribute("aria-pressed", "false");
  toggle.title = "Click the chart to add points, click a point to remove it";
  const classes = element("span", "dl-draw-classes", bar);
  classes.style.display = "contents";
  const clear = element("button", "dl-draw-clear", bar);
  clear.type = "button";
  clear.textContent = "Clear";
  clear.title = "Remove every point (then draw your own from scratch)";
  const note = element("div", "dl-draw-note", bar);
  note.setAttribute("aria-live", "polite");
  const hint = element("div", "dl-draw-hint", bar);
  hint.textContent = DRAW_HINT;
  return { bar, toggle, classes, clear, note, hint };
}

// The code Streamlit's page runs on its first chart (its first run blocks the page for about a
// second): run here once the reader has had the Playground for a moment and it is quiet (no
// frames arriving, the tab visible), so that the first page of charts they open finds it ready.
// A module runs once per page; a failure only means that page loads it itself.
const PRELOAD_AFTER_MS = 1000;

function preloadChartCode(panel, url) {
  if (!url || panel.chartCodeAsked) return;
  panel.chartCodeAsked = true;
  // A full URL: this component's own module has no http base to resolve a path against.
  const load = () => import(new URL(url, window.location.origin).href).catch(() => {});
  const whenQuiet = () => {
    if (panel.closed) return;
    const training = performance.now() - (panel.lastFrameAt ?? -Infinity) < 1000;
    if (training || document.hidden) setTimeout(whenQuiet, PRELOAD_AFTER_MS);
    else requestIdleCallback(load, { timeout: PRELOAD_AFTER_MS });
  };
  setTimeout(whenQuiet, PRELOAD_AFTER_MS);
}

// ---- fitting the screen ----

// The boundary is a square plot under a one-line legend: no taller than its column is wide (more
// would only add empty space above and below the square) and, on a short screen such as a
// projector's 720 px, ending above the fold when the page opens; never below a readable minimum.
// The other charts keep the heights the page asked for.
const LEGEND_PX = 70;
const FOLD_MARGIN_PX = 12;
const MIN_BOUNDARY_PX = 340;

function chartHeight(panel, name) {
  const asked = panel.heights[name];
  if (name !== "boundary") return asked;
  const div = panel.charts.boundary;
  const width = div.clientWidth || asked;
  const top = div.getBoundingClientRect().top + window.scrollY;
  const fold = window.innerHeight - top - FOLD_MARGIN_PX;
  return Math.round(Math.max(MIN_BOUNDARY_PX, Math.min(asked, width + LEGEND_PX, fold)));
}

// Plotly sizes a plot to its box only when drawn; the box changes with the window and when the
// sidebar folds. Redraw at the new size (the shading follows through plotly_afterplot).
function watchSize(panel) {
  panel.resizer = new ResizeObserver(() => {
    cancelAnimationFrame(panel.resizeFrame);
    panel.resizeFrame = requestAnimationFrame(() => {
      if (!panel.Plotly || !panel.heights) return;
      if (panel.stripData) {
        panel.stripDirty = true; // the canvases take their new size on the next paint
        schedule(panel);
      }
      for (const [name, div] of Object.entries(panel.charts)) {
        if (!div.layout) continue; // not drawn yet
        const height = chartHeight(panel, name);
        const width = div.clientWidth;
        const layout = div._fullLayout ?? {};
        if (Math.abs(layout.height - height) < 2 && Math.abs(layout.width - width) < 2) continue;
        div.style.height = `${height}px`;
        panel.Plotly.relayout(div, { height, width });
      }
    });
  });
  panel.resizer.observe(panel.root);
}

function showTexts(panel, texts) {
  panel.statusText.textContent = texts.status;
  panel.fill.style.width = `${Math.min(100, (100 * texts.step) / Math.max(1, texts.budget))}%`;
  for (const [name, value] of Object.entries(texts.metrics)) {
    if (panel.values[name]) panel.values[name].textContent = value;
  }
}

// ---- curves: the records the panel holds, as Plotly traces ----

function curvesFromFigure(panel, figure, data) {
  panel.curves = {
    serial: data.serial,
    count: data.step,
    x: plain(figure.data[0].x) ?? [],
    y: [0, 1, 2].map((i) => plain(figure.data[i].y) ?? []),
  };
}

function takeRecords(panel, header, arrays) {
  const c = header.curves;
  const have = panel.curves;
  if (header.serial < have.serial) return;
  if (c.reset || header.serial !== have.serial) {
    if (!c.reset) { panel.send({ resend: true }); return; }
    panel.curves = { serial: header.serial, count: 0, x: [], y: [[], [], []] };
  }
  const curves = panel.curves;
  if (c.from > curves.count) { panel.send({ resend: true }); return; }
  const skip = curves.count - c.from;
  if (skip >= c.count) return;
  const columns = [arrays.curve_loss, arrays.curve_train, arrays.curve_test];
  for (let i = skip; i < c.count; i += 1) {
    curves.x.push(arrays.curve_step[i]);
    columns.forEach((column, k) => curves.y[k].push(column[i]));
  }
  curves.count = c.from + c.count;
  panel.dirty.curves = true;
}

function curvesTraces(panel) {
  const { figure } = panel.figures.curves;
  const { x, y } = panel.curves;
  if (x.length) {
    // The axes follow the growing curves (Plotly keeps a range it computed once, and an empty
    // chart's fixed ranges and "press Train" note give way to the data).
    figure.layout.annotations = [];
    for (const axis of ["xaxis", "xaxis2", "yaxis"]) {
      if (figure.layout[axis]) {
        delete figure.layout[axis].range;
        figure.layout[axis].autorange = true;
      }
    }
  }
  // Regression's fourth trace, the test loss, is (1 - test R²) times the test targets'
  // variance (the figure's meta; deqnet/figures/curves.py).
  const spread = figure.layout.meta?.test_spread;
  const columns = spread === undefined ? y : [...y, y[2].map((r2) => (1 - r2) * spread)];
  figure.data.forEach((trace, i) => {
    trace.x = x.slice(); // new arrays: Plotly compares them by identity
    trace.y = columns[i].slice();
  });
}

// ---- frames ----

function newer(grid, shown) {
  if (!shown) return true;
  if (grid.serial !== shown.serial) return grid.serial > shown.serial;
  return grid.step > shown.step || (grid.step === shown.step && grid.fine && !shown.fine);
}

function onFrame(panel, buffer) {
  panel.lastFrameAt = performance.now();
  const { header, arrays } = decodeFrame(buffer);
  takeRecords(panel, header, arrays);
  if (header.serial >= (panel.texts?.serial ?? 0)) {
    panel.texts = { ...header };
  }
  if (header.grid) {
    const grid = {
      ...header.grid, z: arrays.z, contour: arrays.contour, image: arrays.image, fine: false,
    };
    if (newer(grid, panel.grid)) panel.pending = grid;
  }
  if (header.preview && header.grid && header.grid.serial === panel.serial) {
    const figure = panel.figures.preview?.figure;
    if (figure && figure.data.length === header.preview.traces) {
      figure.data.forEach((trace, i) => {
        trace.x = Array.from(arrays[`path_x${i}`]);
        trace.y = Array.from(arrays[`path_y${i}`]);
      });
      const [x0, x1, y0, y1] = header.preview.range;
      figure.layout.xaxis.range = [x0, x1];
      figure.layout.yaxis.range = [y0, y1];
      panel.dirty.preview = true;
    }
  }
  if (header.strip && header.grid && header.grid.serial === panel.serial) {
    takeStrip(panel, header.strip, arrays, header.grid.serial, header.grid.step);
  }
  if (header.stopped) {
    panel.setTriggerValue("stopped", `${header.serial}:${header.step}:${header.stopped}`);
  }
  schedule(panel);
}

function schedule(panel) {
  if (panel.frameRequested) return;
  panel.frameRequested = true;
  requestAnimationFrame(() => {
    panel.frameRequested = false;
    draw(panel);
  });
}

// One animation frame: the newest grid, texts, and (at most every REDRAW_MS) curves and preview.
function draw(panel) {
  if (!panel.Plotly) return;
  let changed = false;
  if (panel.pending) {
    panel.grid = panel.pending;
    panel.pending = null;
    paint(panel);
    changed = true;
  }
  if (panel.texts && panel.texts !== panel.shownTexts) {
    showTexts(panel, panel.texts);
    panel.shownTexts = panel.texts;
    changed = true;
  }
  if (changed) {
    panel.frames += 1;
    panel.root.dataset.frames = String(panel.frames);
  }
  for (const name of ["curves", "preview"]) {
    if (panel.dirty[name]) redraw(panel, name);
  }
  if (panel.stripDirty) {
    const wait = (panel.stripAt ?? 0) + STRIP_MS - performance.now();
    if (wait <= 0) paintStrip(panel);
    else if (!panel.stripTimer) {
      panel.stripTimer = setTimeout(() => { panel.stripTimer = null; schedule(panel); }, wait);
    }
  }
}

// Plotly.react of one chart, one at a time and at most every REDRAW_MS.
function redraw(panel, name) {
  const chart = panel.figures[name];
  if (!chart || chart.drawing) return;
  const wait = chart.readyAt - performance.now();
  if (wait > 0) {
    if (!chart.timer) {
      chart.timer = setTimeout(() => { chart.timer = null; schedule(panel); }, wait);
    }
    return;
  }
  panel.dirty[name] = false;
  if (name === "curves") curvesTraces(panel);
  chart.drawing = true;
  const { figure } = chart;
  figure.layout.datarevision = (figure.layout.datarevision ?? 0) + 1;
  panel.Plotly.react(panel.charts[name], figure.data, figure.layout, panel.config)
    .catch((error) => console.warn(`deqnet: the ${name} chart could not redraw`, error))
    .finally(() => {
      chart.drawing = false;
      chart.readyAt = performance.now() + REDRAW_MS;
      if (panel.dirty[name]) schedule(panel);
    });
}

// ---- the socket ----

// The route's URL relative to the page's own, as Streamlit loads its assets: prefixes that a
// proxy adds (and server.baseUrlPath) are kept, and wss: follows https:.
function socketUrl(path, base) {
  let page = window.location.href.split(/[?#]/)[0];
  if (base && page.endsWith(`/${base}`)) page += "/";
  const url = new URL(path, page);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function connect(panel) {
  if (panel.socket || panel.closed || panel.failed) return;
  const ws = new WebSocket(socketUrl(panel.path, panel.base), ["deqnet.v1", panel.token]);
  ws.binaryType = "arraybuffer";
  panel.socket = ws;
  const firstTry = !panel.everOpened;
  const timer = firstTry
    ? setTimeout(() => {
      if (ws.readyState !== WebSocket.OPEN) fail(panel, "the live stream did not open in time");
    }, panel.fallbackMs)
    : null;
  ws.onopen = () => {
    clearTimeout(timer);
    panel.everOpened = true;
    panel.failures = 0;
    panel.send({ visible: !document.hidden });
  };
  ws.onmessage = (event) => {
    panel.root.dataset.stream = "open"; // frames arrive (an unknown token gets none)
    try {
      onFrame(panel, event.data);
    } catch (error) {
      console.warn("deqnet: a live frame could not be read", error); // the next one may be
    }
  };
  ws.onclose = (event) => {
    clearTimeout(timer);
    if (panel.socket !== ws) return;
    panel.socket = null;
    panel.root.dataset.stream = "closed";
    if (panel.closed || panel.failed) return;
    if (event.code === 4401 || event.code === 4409) {
      askForToken(panel, 0);
      return;
    }
    if (!panel.everOpened) {
      fail(panel, `the live stream could not connect (code ${event.code})`);
      return;
    }
    // It worked before: a network blip or a server restart. Try again for as long as the panel
    // is shown (a restarted server's new page run brings a new token).
    panel.failures += 1;
    const cap = Math.min(BACKOFF_MS[1], BACKOFF_MS[0] * 2 ** panel.failures);
    panel.retry = setTimeout(() => connect(panel), Math.random() * cap);
  };
}

// The server does not know this token (restarted, expired) or it is in use elsewhere: the page
// makes a new one, and the next data brings it. A request sent while Streamlit's own connection
// is still down is lost, so ask again (backing off) until that data comes.
function askForToken(panel, attempt) {
  const token = panel.token;
  panel.setTriggerValue("token", `${Date.now()}`);
  const cap = Math.min(BACKOFF_MS[1], BACKOFF_MS[0] * 2 ** (attempt + 1));
  clearTimeout(panel.retry);
  panel.retry = setTimeout(() => {
    if (!panel.closed && !panel.socket && panel.token === token) askForToken(panel, attempt + 1);
  }, cap / 2 + (Math.random() * cap) / 2);
}

function fail(panel, reason) {
  if (panel.failed) return;
  panel.failed = true;
  const ws = panel.socket;
  panel.socket = null;
  if (ws) ws.close();
  panel.setStateValue("failed", reason);
}

// ---- drawing points ----

const MAX_EDITS = 64; // as ui/drawing.py accepts in one message
const HIT_PX = 9; // a click this close to a point removes it
const SHIFT_HIT_PX = 40; // a shift-click removes the nearest point this close
const DRAW_HINT = "Click the chart to add a point of the chosen class; click a point "
  + "(or shift-click near one) to remove it.";

// The nearest drawn marker to pixel (px, py) of the boundary chart: {x, y, distance} or null.
function nearestPoint(div, px, py) {
  const { xaxis: xa, yaxis: ya } = div._fullLayout;
  let best = null;
  for (const trace of div._fullData) {
    if (!trace.type.startsWith("scatter") || trace.visible !== true || !trace.x) continue;
    for (let i = 0; i < trace.x.length; i += 1) {
      const dx = xa._offset + xa.l2p(trace.x[i]) - px;
      const dy = ya._offset + ya.l2p(trace.y[i]) - py;
      const distance = Math.hypot(dx, dy);
      if (!best || distance < best.distance) best = { x: trace.x[i], y: trace.y[i], distance };
    }
  }
  return best;
}

function onChartClick(panel, event) {
  const d = panel.draw;
  const div = panel.charts.boundary;
  const layout = div._fullLayout;
  if (!d.on || !panel.drawData || !layout) return;
  // A tap on a touch screen arrives twice: the browser's click and the one Plotly makes for it.
  const last = d.lastClick;
  d.lastClick = { t: event.timeStamp, x: event.clientX, y: event.clientY };
  if (last && event.timeStamp - last.t < 400 && Math.hypot(event.clientX - last.x,
    event.clientY - last.y) < 4) return;
  const box = div.getBoundingClientRect();
  const px = event.clientX - box.left;
  const py = event.clientY - box.top;
  const { xaxis: xa, yaxis: ya } = layout;
  if (px < xa._offset || px > xa._offset + xa._length
    || py < ya._offset || py > ya._offset + ya._length) return;
  const hit = nearestPoint(div, px, py);
  if (hit && hit.distance <= (event.shiftKey ? SHIFT_HIT_PX : HIT_PX)) {
    edit(panel, { op: "remove", x: hit.x, y: hit.y });
  } else if (!event.shiftKey) {
    const round = (v) => Math.round(v * 100) / 100;
    edit(panel, { op: "add", x: round(xa.p2l(px - xa._offset)), y: round(ya.p2l(py - ya._offset)),
      c: d.cls });
  }
}

// Number the edit, show it at once, and send every edit the page has not applied yet.
function edit(panel, change) {
  const d = panel.draw;
  d.lastId += 1;
  d.pending = [...d.pending, { id: d.lastId, ...change }].slice(-MAX_EDITS);
  const div = panel.charts.boundary;
  const [, color] = panel.drawData.classes[change.c ?? 0] ?? [];
  const marker = change.op === "add"
    ? { color, size: 9, line: { color: "white", width: 1 } }
    : { color: "#444444", size: 11, symbol: "x-thin", line: { color: "#444444", width: 2 } };
  if (change.op !== "clear") {
    panel.Plotly.addTraces(div, { type: "scatter", mode: "markers", x: [change.x], y: [change.y],
      marker, showlegend: false, hoverinfo: "skip" }).catch(() => {});
  }
  panel.drawTools.note.textContent = change.op === "clear" ? "Clearing…" : "Updating…";
  panel.setStateValue("draw", { ops: d.pending });
}

function setDrawing(panel, on) {
  panel.draw.on = on;
  panel.root.classList.toggle("dl-drawing", on);
  const div = panel.charts.boundary;
  if (div._fullLayout && panel.Plotly) panel.Plotly.relayout(div, { dragmode: on ? false : "zoom" });
  showDraw(panel);
}

// The drawing tools as the page's data and the reader's choices say.
function showDraw(panel) {
  const tools = panel.drawTools;
  const data = panel.drawData;
  tools.bar.hidden = !data;
  if (!data) return;
  const d = panel.draw;
  tools.toggle.setAttribute("aria-pressed", String(d.on));
  tools.toggle.textContent = d.on ? "✓ Done drawing" : "✎ Draw points";
  if (d.cls >= data.classes.length) d.cls = 0;
  const key = JSON.stringify(data.classes);
  if (tools.classKey !== key) {
    tools.classKey = key;
    tools.classes.replaceChildren();
    data.classes.forEach(([label, color], k) => {
      const button = element("button", "dl-draw-class", tools.classes);
      button.type = "button";
      button.dataset.drawClass = String(k);
      button.title = `Add points of ${label}`;
      const dot = element("span", "dl-dot", button);
      dot.style.background = color;
      button.append(label);
      button.addEventListener("click", () => { panel.draw.cls = k; showDraw(panel); });
    });
  }
  for (const button of tools.classes.children) {
    button.hidden = !d.on;
    button.setAttribute("aria-pressed", String(Number(button.dataset.drawClass) === d.cls));
  }
  tools.clear.hidden = !d.on;
  tools.hint.hidden = !d.on;
  tools.note.textContent = [data.count, data.message].filter(Boolean).join(". ");
}

function takeDrawData(panel, data) {
  panel.drawData = data.draw;
  const d = panel.draw;
  if (data.draw) {
    // Edits the page applied are done; later ones are still on their way (sent again next).
    d.pending = d.pending.filter((change) => change.id > data.draw.applied);
    d.lastId = Math.max(d.lastId, data.draw.applied);
  } else {
    d.on = false;
  }
  panel.root.classList.toggle("dl-drawing", d.on);
  showDraw(panel);
}

// ---- the depth strip ----

// The strip of a page run (arrays as lists) or of a frame (typed arrays), in one shape:
// points (K, P, 2) and grid (K, G, Q, 2) flat, labels (P,).
function takeStrip(panel, spec, arrays, serial, step) {
  // A page run's {shape, values} lists (a typed array's own .values is a method, not a list).
  const typed = (name, Type) =>
    Array.isArray(arrays[name].values) ? Type.from(arrays[name].values) : arrays[name];
  const labels = typed("strip_labels", Uint8Array);
  panel.stripData = {
    ...spec, serial, step, panels: spec.times.length, count: labels.length, labels,
    points: typed("strip_points", Float32Array),
    grid: typed("strip_grid", Float32Array),
    colors: spec.colors ?? panel.stripData?.colors ?? ["#1f77b4", "#ff7f0e"],
  };
  panel.stripDirty = true;
}

function stripLabel(strip, k) {
  if (strip.layers) return `layer ${strip.layers[k]}`;
  const names = ["t = 0", "t = T/4", "t = T/2", "t = 3T/4", "t = T"];
  return strip.panels === names.length ? names[k] : `t = ${strip.times[k].toFixed(2)}`;
}

function stripPanels(panel) {
  const strip = panel.stripData;
  const row = panel.stripRow;
  if (row.children.length !== strip.panels) {
    row.replaceChildren();
    for (let k = 0; k < strip.panels; k += 1) {
      const button = element("button", "dl-strip-panel", row);
      button.type = "button";
      button.dataset.stripIndex = String(k);
      element("canvas", null, button);
      element("span", "dl-strip-label", button);
      button.addEventListener("click", () => panel.setTriggerValue("strip", k));
    }
  }
  [...row.children].forEach((button, k) => {
    const label = stripLabel(strip, k);
    button.lastChild.textContent = label;
    button.setAttribute("aria-label", `Open Trajectories at ${label}`);
  });
  return [...row.children].map((button) => button.firstChild);
}

function paintStrip(panel) {
  const strip = panel.stripData;
  panel.stripDirty = false;
  panel.stripAt = performance.now();
  panel.stripBox.hidden = false;
  const canvases = stripPanels(panel);
  const dpr = window.devicePixelRatio || 1;
  const perGrid = strip.grid.length / strip.panels; // G lines x Q points x 2 per panel
  const perLine = perGrid / (2 * strip.lines); // Q points
  canvases.forEach((canvas, k) => {
    const size = Math.max(1, Math.round(canvas.clientWidth * dpr));
    if (canvas.width !== size) canvas.width = canvas.height = size;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, size, size);
    const [x0, x1, y0, y1] = strip.boxes[k];
    const sx = size / (x1 - x0);
    const sy = size / (y1 - y0);
    const px = (x) => (x - x0) * sx;
    const py = (y) => size - (y - y0) * sy;
    ctx.strokeStyle = "rgba(128, 128, 128, 0.55)";
    ctx.lineWidth = Math.max(1, dpr * 0.8);
    for (let line = 0; line < strip.lines; line += 1) {
      ctx.beginPath();
      for (let q = 0; q < perLine; q += 1) {
        const at = k * perGrid + (line * perLine + q) * 2;
        const [x, y] = [px(strip.grid[at]), py(strip.grid[at + 1])];
        if (q === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
    const radius = Math.max(1.5, 2.2 * dpr);
    for (let i = 0; i < strip.count; i += 1) {
      const at = (k * strip.count + i) * 2;
      const [x, y] = [px(strip.points[at]), py(strip.points[at + 1])];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      ctx.fillStyle = strip.colors[strip.labels[i] % strip.colors.length];
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
      ctx.fill();
    }
  });
  panel.root.dataset.strip = `${strip.serial}:${strip.step}`;
}

// ---- page runs ----

function applyData(panel, data) {
  const Plotly = panel.Plotly;
  // On a touch screen the mode bar has no hover to hide behind: it would sit on the legend.
  const touch = window.matchMedia("(pointer: coarse)").matches;
  panel.config = touch ? { ...data.config, displayModeBar: false } : data.config;
  panel.path = data.path;
  // Every page run: the labels follow the task (regression shows R² where accuracy was).
  for (const [name, label, help] of data.metric_labels) {
    panel.labels[name].textContent = label;
    panel.labels[name].parentElement.title = help ?? "";
  }
  panel.base = data.base;
  panel.fallbackMs = data.fallback_ms;
  panel.serial = data.serial;
  const figures = {};
  panel.heights = data.heights;
  for (const name of ["boundary", "curves", "preview"]) {
    const figure = JSON.parse(data.figures[name]);
    figure.layout.uirevision = `deqnet-live-${name}`; // keeps the user's zoom through updates
    if (name === "boundary" && panel.draw.on && data.draw) figure.layout.dragmode = false;
    figure.layout.height = chartHeight(panel, name);
    panel.charts[name].style.height = `${figure.layout.height}px`;
    figures[name] = {
      figure, drawing: false, readyAt: 0, timer: panel.figures[name]?.timer ?? null,
    };
  }
  const grid = { ...takeShading(figures.boundary.figure, panel, data.running), serial: data.serial,
    step: data.grid_step, fine: true };
  if (newer(grid, panel.grid)) panel.grid = grid;
  if (!panel.curves || data.serial !== panel.curves.serial) {
    curvesFromFigure(panel, figures.curves.figure, data);
  }
  panel.figures = figures;
  const texts = { serial: data.serial, step: data.step, budget: data.budget,
    status: data.status, metrics: data.metrics };
  if (!panel.texts || data.serial >= panel.texts.serial) {
    // A page run shows the session as it is now; frames already drawn may be newer.
    if (!panel.texts || data.serial > panel.texts.serial || data.step >= panel.texts.step) {
      panel.texts = texts;
    }
  }
  curvesTraces(panel);
  takeDrawData(panel, data);
  const shown = panel.stripData;
  if (data.strip && (!shown || data.serial !== shown.serial || data.grid_step >= shown.step)) {
    takeStrip(panel, data.strip, data.strip.arrays, data.serial, data.grid_step);
  }
  const boundary = figures.boundary.figure;
  return Promise.all([
    Plotly.react(panel.charts.boundary, boundary.data, boundary.layout, panel.config),
    Plotly.react(panel.charts.curves, figures.curves.figure.data, figures.curves.figure.layout,
      panel.config),
    Plotly.react(panel.charts.preview, figures.preview.figure.data,
      figures.preview.figure.layout, panel.config),
  ]).then(() => {
    if (!panel.listening) {
      // Zoom, pan and resizes move the plot area: paint the shading after every redraw.
      panel.charts.boundary.on("plotly_afterplot", () => paint(panel));
      panel.listening = true;
    }
    paint(panel);
    panel.shownTexts = null;
    schedule(panel);
    if (data.token !== panel.token) {
      panel.token = data.token;
      const old = panel.socket;
      panel.socket = null;
      if (old) old.close();
      clearTimeout(panel.retry);
      connect(panel);
    } else {
      connect(panel);
    }
  });
}

export default function render({ data, parentElement, setStateValue, setTriggerValue }) {
  let panel = panels.get(parentElement);
  if (!panel) {
    panel = {
      ...build(parentElement, data),
      figures: {}, dirty: { curves: false, preview: false }, frames: 0,
      socket: null, token: null, everOpened: false, failures: 0, failed: false, closed: false,
      queue: Promise.resolve(),
      draw: { on: false, cls: 0, pending: [], lastId: 0 },
    };
    panel.drawTools.toggle.addEventListener("click", () => setDrawing(panel, !panel.draw.on));
    panel.drawTools.clear.addEventListener("click", () => edit(panel, { op: "clear" }));
    panel.charts.boundary.addEventListener("click", (event) => onChartClick(panel, event));
    panel.send = (message) => {
      if (panel.socket?.readyState === WebSocket.OPEN) panel.socket.send(JSON.stringify(message));
    };
    panel.onVisibility = () => {
      panel.send({ visible: !document.hidden });
      if (!document.hidden && !panel.socket && panel.everOpened) {
        clearTimeout(panel.retry);
        connect(panel);
      }
    };
    document.addEventListener("visibilitychange", panel.onVisibility);
    watchSize(panel);
    panels.set(parentElement, panel);
  }
  panel.setStateValue = setStateValue;
  panel.setTriggerValue = setTriggerValue;
  // Page runs in order; frames meanwhile keep being drawn.
  panel.queue = panel.queue
    .then(() => loadPlotly(data.plotly_url))
    .then((Plotly) => {
      panel.Plotly = Plotly;
      return applyData(panel, data);
    })
    .then(() => preloadChartCode(panel, data.chart_code_url))
    .catch((error) => fail(panel, error.message));
  return () => {
    panel.closed = true;
    clearTimeout(panel.retry);
    document.removeEventListener("visibilitychange", panel.onVisibility);
    panel.resizer.disconnect();
    if (panel.socket) panel.socket.close();
    panels.delete(parentElement);
    if (window.Plotly) {
      for (const div of Object.values(panel.charts)) window.Plotly.purge(div);
    }
  };
}
