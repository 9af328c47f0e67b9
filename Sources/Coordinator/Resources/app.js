// The labelmill dashboard: a jobs list and a live job page over the coordinator's JSON API, with the session
// cookie. Hand-written, no dependencies. Every value from the server goes into the page as text (never as HTML).
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const view = document.getElementById("view");
const connection = document.getElementById("connection");
let timer = null;
let generation = 0; // bumped on every navigation, so a late answer for an old page is dropped

// ---- helpers ----

function h(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") node.style.cssText = value; // CSSOM, which the page's CSP allows (style attributes it does not)
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const svgNS = "http://www.w3.org/2000/svg";
function s(tag, attributes, ...children) {
  const node = document.createElementNS(svgNS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: "same-origin" }));
  if (response.status === 401) { location.href = "/"; throw new Error("signed out"); }
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((body && body.error && body.error.message) || `${response.status} ${response.statusText}`);
  return { body, response };
}

function number(n) { return Number(n).toLocaleString("en-US"); }
function imageCount(n) { return `${number(n)} image${n === 1 ? "" : "s"}`; }
function rate(r) { return r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2); }
function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
  seconds = Math.round(seconds);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const hours = Math.floor(seconds / 3600);
  return hours < 48 ? `${hours} h ${Math.floor((seconds % 3600) / 60)} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
function ago(at) { return at ? `${duration(Date.now() / 1000 - at)} ago` : "—"; }
function when(at) { return at ? new Date(at * 1000).toLocaleString() : "—"; }

// The PASCAL VOC palette the label maps use: class c is colour c (bits of c spread over r, g, b).
const palette = Array.from({ length: 256 }, (_, c) => {
  let r = 0, g = 0, b = 0;
  for (let bit = 0, v = c; bit < 8; bit++, v >>= 3) {
    r |= ((v >> 0) & 1) << (7 - bit);
    g |= ((v >> 1) & 1) << (7 - bit);
    b |= ((v >> 2) & 1) << (7 - bit);
  }
  return [r, g, b];
});
function vocColor(c) { return `rgb(${palette[c].join(", ")})`; }

function progress(images) {
  const done = images.total ? images.done / images.total : 0;
  const failed = images.total ? images.failed / images.total : 0;
  const label = `${number(images.done)} of ${number(images.total)} labeled` + (images.failed ? `, ${number(images.failed)} failed` : "");
  return h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(images.total),
                    "aria-valuenow": String(images.done + images.failed), "aria-label": label, title: label },
    h("span", { class: "done", style: `width: ${(done * 100).toFixed(2)}%` }),
    h("span", { class: "failed", style: `width: ${(failed * 100).toFixed(2)}%` }));
}

// A setting as text: lists joined, a map (synonyms by class) as "class: name, name; class: name".
function settingText(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (value !== null && typeof value === "object") {
    return Object.entries(value).sort().map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : settingText(v)}`).join("; ");
  }
  return String(value);
}
function badge(state) { return h("span", { class: `badge state-${state}` }, state); }

// Replaces the page's content; the control that had the focus (by its id) keeps it, so a polled page or a
// filter that reloads the gallery does not throw a keyboard user back to the top.
function render(...nodes) {
  const focused = view.contains(document.activeElement) && document.activeElement.id;
  view.replaceChildren(...nodes.filter(node => node !== null && node !== undefined && node !== false));
  const again = focused && document.getElementById(focused);
  if (again) again.focus({ preventScroll: true });
}

// Model ids to the names they were registered under (a job records the id), fetched when an id is new.
const modelNames = new Map();
async function modelName(id) {
  if (!modelNames.has(id)) {
    try { for (const m of (await api("/v1/models")).body) modelNames.set(m.id, m.name); } catch (error) { /* show the id */ }
    if (!modelNames.has(id)) modelNames.set(id, id.slice(0, 12));
  }
  return modelNames.get(id);
}

function showError(error) {
  connection.textContent = `Not updated: ${error.message}`;
  connection.classList.add("warn");
}
function showOK() {
  connection.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  connection.classList.remove("warn");
}

// ---- jobs list ----

const pageSize = 20;

async function jobsPage(offset) {
  const mine = generation;
  const { body: jobs, response } = await api(`/v1/jobs?limit=${pageSize}&offset=${offset}`);
  if (mine !== generation) return;
  const total = Number(response.headers.get("X-Total-Count") || jobs.length);
  const models = await Promise.all(jobs.map(job => modelName(job.model)));
  if (mine !== generation) return;
  document.title = "Jobs · labelmill";
  const rows = jobs.map((job, i) => h("tr", { "data-job": job.id },
    h("td", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name || job.id)),
    h("td", { title: job.model }, models[i]),
    h("td", {}, job.settings.mode || "maskclip"),
    h("td", {}, badge(job.state)),
    h("td", { class: "wide" }, progress(job.images), h("span", { class: "small" }, `${number(job.images.done)} / ${number(job.images.total)}`)),
    h("td", { class: "num" }, rate(job.imagesPerSecond)),
    h("td", { class: "num" }, job.state === "running" ? duration(job.etaSeconds) : "—"),
    h("td", { class: "num" + (job.images.failed ? " bad" : "") }, number(job.images.failed)),
    h("td", {}, when(job.createdAt))));
  const pager = h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: offset === 0, onclick: () => go(`#/?offset=${Math.max(0, offset - pageSize)}`) }, "← Newer"),
    h("span", {}, total ? `${number(offset + 1)}–${number(offset + jobs.length)} of ${number(total)}` : "No jobs yet"),
    h("button", { type: "button", disabled: offset + jobs.length >= total, onclick: () => go(`#/?offset=${offset + pageSize}`) }, "Older →"));
  render(
    h("h1", {}, "Jobs"),
    jobs.length ? h("div", { class: "scroll" }, h("table", { class: "jobs" },
      h("thead", {}, h("tr", {}, ["Name", "Model", "Mode", "State", "Progress", "Images/s", "ETA", "Failed", "Created"]
        .map(title => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows))) :
      h("p", {}, "No jobs yet. Submit one with ", h("code", {}, "labelmill submit"), "."),
    pager);
}

// ---- job page ----

// Each class with its colour, index and share of the labeled pixels (counted when each label map was stored); a
// class's name opens the gallery of the images that contain it.
function classLegend(job, activity) {
  const shares = new Map(activity.classes.map(entry => [entry.class, entry]));
  const allPixels = activity.classes.reduce((sum, entry) => sum + entry.pixels, 0);
  const share = c => {
    const entry = shares.get(c);
    if (!allPixels) return "";
    return entry ? ` · ${(100 * entry.pixels / allPixels).toFixed(1)}% of pixels, in ${imageCount(entry.images)}` : " · 0%";
  };
  const swatch = c => h("span", { class: "swatch", style: `background: ${vocColor(c)}`, "aria-hidden": "true" });
  return h("ul", { class: "legend", "aria-label": "Classes, their colours and share of the labeled pixels" },
    job.classes.map((name, c) => h("li", { "data-class": String(c) }, swatch(c),
      h("a", { href: galleryHash(job.id, { class: String(c) }), title: `Labeled images containing ${name}` }, `${c} ${name}`),
      h("span", { class: "small muted" }, share(c)))),
    shares.has(255) ? h("li", { "data-class": "255" }, swatch(255), "255 void", h("span", { class: "small muted" }, share(255))) : null);
}

function chart(minutes) {
  if (!minutes.length) return h("p", { class: "muted" }, "No image has finished yet.");
  const width = 600, height = 120, pad = 2;
  // At least half an hour wide, the newest minute at the right.
  const last = minutes[minutes.length - 1].at;
  const span = Math.max(30, (last - minutes[0].at) / 60 + 1);
  const first = last - (span - 1) * 60;
  const max = Math.max(1, ...minutes.map(m => m.done + m.failed));
  const bar = Math.max(1, width / span - pad);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart",
                         "aria-label": `Images finished per minute, ${minutes.length} minutes with activity, at most ${max} in a minute` });
  for (const m of minutes) {
    const x = ((m.at - first) / 60) * (width / span);
    const done = (m.done / max) * height, failed = (m.failed / max) * height;
    svg.append(s("rect", { x, y: height - done, width: bar, height: done, class: "bar-done" },
      s("title", {}, `${new Date(m.at * 1000).toLocaleTimeString()}: ${m.done} labeled, ${m.failed} failed`)));
    if (m.failed) svg.append(s("rect", { x, y: height - done - failed, width: bar, height: failed, class: "bar-failed" }));
  }
  // The scale in a caption, not in the drawing: text in an SVG shrinks with it, and is cut at phone width.
  return h("figure", { class: "chart-box" }, svg,
    h("figcaption", { class: "small muted" },
      `${new Date(first * 1000).toLocaleTimeString()} to ${new Date(last * 1000).toLocaleTimeString()} · at most ${max} a minute`));
}

async function action(path, button, confirmText) {
  if (confirmText && !confirm(confirmText)) return;
  button.disabled = true;
  try {
    await api(path, { method: "POST" });
    await refresh();
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
}

async function jobPage(id) {
  const mine = generation;
  const [{ body: job }, { body: activity }] = await Promise.all([
    api(`/v1/jobs/${encodeURIComponent(id)}`), api(`/v1/jobs/${encodeURIComponent(id)}/activity`)]);
  const model = await modelName(job.model);
  if (mine !== generation) return;
  document.title = `${job.name || job.id} · labelmill`;
  const finished = ["done", "failed", "cancelled"].includes(job.state);
  const counts = [["Total", job.images.total], ["Pending", job.images.pending], ["Running", job.images.running],
                  ["Labeled", job.images.done], ["Failed", job.images.failed]];
  const buttons = h("div", { class: "actions" },
    finished ? null : h("button", { type: "button", id: "cancel", onclick: event => action(`/v1/jobs/${encodeURIComponent(id)}/cancel`, event.target, "Cancel this job? Its unfinished images will not be labeled.") }, "Cancel job"),
    job.images.failed ? h("button", { type: "button", id: "retry", onclick: event => action(`/v1/jobs/${encodeURIComponent(id)}/retry-failed`, event.target) }, `Retry ${number(job.images.failed)} failed`) : null,
    h("a", { class: "button", id: "open-gallery", href: galleryHash(id, {}) }, "Gallery"),
    job.images.failed ? h("a", { class: "button", href: galleryHash(id, { state: "failed" }) }, "Failed images") : null);
  const problems = job.problems.length ? h("ul", { class: "problems" }, job.problems.map(p => h("li", {},
      h("strong", {}, `${number(p.count)} × `), h("span", { class: "reason" }, p.reason),
      h("span", { class: "small muted" }, ` (${p.scope}; last ${ago(p.lastAt)}; e.g. ${p.examples.join(", ")})`)))) :
    h("p", { class: "muted" }, "None.");
  const workers = activity.workers.length ? h("div", { class: "scroll" }, h("table", { class: "workers" },
      h("thead", {}, h("tr", {}, ["Worker", "Labeled", "Failed", "Images/s", "Last seen", "Current task"].map(t => h("th", { scope: "col" }, t)))),
      h("tbody", {}, activity.workers.map(w => h("tr", {},
        h("td", {}, w.name), h("td", { class: "num" }, number(w.imagesDone)), h("td", { class: "num" }, number(w.imagesFailed)),
        h("td", { class: "num" }, rate(w.imagesPerSecond)), h("td", {}, ago(w.lastSeenAt)),
        h("td", {}, w.currentTask === null || w.currentTask === undefined ? "—" : `#${w.currentTask}`)))))) :
    h("p", { class: "muted" }, "No worker has taken a task of this job yet.");
  const counted = activity.countedImages ? h("p", { class: "small muted" }, `Shares over ${number(activity.countedImages)} label maps.`) : null;
  const settings = h("dl", { class: "settings" }, Object.entries(job.settings).sort().flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-setting": k }, settingText(v))]));
  render(
    h("p", {}, h("a", { href: "#/" }, "← Jobs")),
    h("h1", {}, job.name || job.id, " ", badge(job.state)),
    job.failure ? h("p", { class: "error", role: "alert" }, job.failure) : null,
    job.stalled ? h("p", { class: "warn", role: "alert" }, "No image has finished for a while: see Problems.") : null,
    job.preparation ? h("p", { id: "preparation" }, `Reading the manifest: ${number(job.preparation.linesRead)} lines, ` +
      `${Math.floor(100 * job.preparation.bytesRead / Math.max(1, job.preparation.bytesTotal))}%`) : null,
    progress(job.images),
    h("dl", { class: "counts", id: "counts" }, counts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", { "data-count": k.toLowerCase() }, number(v))))),
    h("p", { id: "rate" }, `${rate(job.imagesPerSecond)} images/s`, job.state === "running" ? ` · ETA ${duration(job.etaSeconds)}` : "",
      ` · ${job.activeWorkers} active worker${job.activeWorkers === 1 ? "" : "s"}`, ` · model ${model}`, ` · created ${when(job.createdAt)}`),
    buttons,
    h("section", {}, h("h2", {}, "Throughput"), chart(activity.minutes)),
    h("section", {}, h("h2", {}, "Workers"), workers),
    h("section", {}, h("h2", {}, "Problems"), problems),
    h("section", {}, h("h2", {}, "Classes"), classLegend(job, activity), counted),
    h("section", {}, h("h2", {}, "Settings"), settings));
}

// ---- label maps ----

// A label map is a PNG of class indices: palette or grayscale, 1 to 8 bits, maybe interlaced. The browser's own
// decoder would hand back colours (through the file's palette, and its gamma if it has one), so the dashboard
// reads the indices itself: the chunks, zlib through DecompressionStream, then PNG's scanline filters.
async function decodeLabel(buffer) {
  const bytes = new Uint8Array(buffer), view = new DataView(buffer);
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) throw new Error("the label map is not a PNG");
  let header = null;
  const data = [];
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at), type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === "IHDR") header = { width: view.getUint32(at + 8), height: view.getUint32(at + 12), depth: bytes[at + 16],
                                    color: bytes[at + 17], interlaced: bytes[at + 20] === 1 };
    else if (type === "IDAT") data.push(bytes.subarray(at + 8, at + 8 + length));
    else if (type === "IEND") break;
    at += 12 + length;
  }
  if (!header || ![0, 3].includes(header.color) || ![1, 2, 4, 8].includes(header.depth)) {
    throw new Error("the label map is not a palette or grayscale PNG of at most 8 bits");
  }
  const stream = new Blob(data).stream().pipeThrough(new DecompressionStream("deflate"));
  const inflated = new Uint8Array(await new Response(stream).arrayBuffer());
  const { width, height, depth } = header;
  const indices = new Uint8Array(width * height);
  // Adam7's seven passes (first column, first row, column step, row step), or the whole image in one.
  const passes = header.interlaced ?
    [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] : [[0, 0, 1, 1]];
  const mask = (1 << depth) - 1;
  let at = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const columns = Math.ceil((width - x0) / dx), rows = Math.ceil((height - y0) / dy);
    if (columns <= 0 || rows <= 0) continue;
    const stride = Math.ceil((columns * depth) / 8);
    let previous = new Uint8Array(stride);
    for (let row = 0; row < rows; row++, at += 1 + stride) {
      if (at + 1 + stride > inflated.length) throw new Error("the label map's PNG data ends early");
      const line = inflated.slice(at + 1, at + 1 + stride);
      unfilter(inflated[at], line, previous);
      const y = y0 + row * dy;
      for (let i = 0; i < columns; i++) {
        const bit = i * depth;
        indices[y * width + x0 + i * dx] = (line[bit >> 3] >> (8 - depth - (bit & 7))) & mask;
      }
      previous = line;
    }
  }
  return { width, height, indices };
}

// Undoes one scanline's filter in place. Every label format has one sample of at most 8 bits per pixel, so the
// filters look one byte back.
function unfilter(filter, line, previous) {
  for (let i = 0; i < line.length; i++) {
    const left = i ? line[i - 1] : 0, up = previous[i], upLeft = i ? previous[i - 1] : 0;
    if (filter === 1) line[i] += left;
    else if (filter === 2) line[i] += up;
    else if (filter === 3) line[i] += (left + up) >> 1;
    else if (filter === 4) {
      const p = left + up - upLeft, pa = Math.abs(p - left), pb = Math.abs(p - up), pc = Math.abs(p - upLeft);
      line[i] += pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    } else if (filter !== 0) throw new Error(`the label map's PNG has an unknown filter ${filter}`);
  }
}

// The label map in the class colours, void (255) transparent, at its own resolution.
function colourLabel(label) {
  const canvas = document.createElement("canvas");
  canvas.width = label.width;
  canvas.height = label.height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(label.width, label.height);
  for (let i = 0; i < label.indices.length; i++) {
    const c = label.indices[i];
    if (c === 255) continue;
    image.data[4 * i] = palette[c][0];
    image.data[4 * i + 1] = palette[c][1];
    image.data[4 * i + 2] = palette[c][2];
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

// ---- gallery ----

const opacityKey = "labelmill.overlayOpacity";
let overlayOpacity = Number(localStorage.getItem(opacityKey) ?? 60);
const painted = new Map(); // the canvases on screen, repainted when the opacity changes

// The thumbnail (smoothly scaled) with the label map over it (nearest neighbour), at the overlay's opacity.
function paint(canvas, item) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (item.picture) {
    context.imageSmoothingEnabled = true;
    context.drawImage(item.picture, 0, 0, canvas.width, canvas.height);
  }
  context.imageSmoothingEnabled = false;
  context.globalAlpha = item.picture ? overlayOpacity / 100 : 1;
  if (item.overlay) context.drawImage(item.overlay, 0, 0, canvas.width, canvas.height);
  context.globalAlpha = 1;
  if (item.cursor) {
    const sx = canvas.width / item.label.width, sy = canvas.height / item.label.height;
    context.lineWidth = Math.max(1, sx / 4);
    context.strokeStyle = "#fff";
    context.strokeRect(item.cursor.x * sx, item.cursor.y * sy, sx, sy);
  }
}

// The label opacity slider (the gallery has one, the large view another; they move together).
function opacityControl(id) {
  const output = h("output", { for: id, class: "opacity-value" }, `${overlayOpacity}%`);
  const input = h("input", { type: "range", id, class: "opacity", min: "0", max: "100", step: "5", value: String(overlayOpacity),
    oninput: event => {
      overlayOpacity = Number(event.target.value);
      localStorage.setItem(opacityKey, String(overlayOpacity));
      for (const element of document.querySelectorAll("input.opacity")) element.value = String(overlayOpacity);
      for (const element of document.querySelectorAll("output.opacity-value")) element.textContent = `${overlayOpacity}%`;
      for (const [canvas, item] of painted) paint(canvas, item);
    } });
  return h("label", { class: "control" }, "Label opacity ", input, " ", output);
}

// One image's thumbnail and label map, fetched once while its page is open. A job with an output (docs/STORAGE.md)
// keeps its label maps there, out of the coordinator's reach: its cards show the thumbnail alone.
const loaded = new Map();
function load(job, image) {
  const key = `${job}/${image.id}`;
  if (!loaded.has(key)) {
    const base = `/v1/jobs/${encodeURIComponent(job)}`;
    const get = async path => {
      const response = await fetch(path, { credentials: "same-origin" });
      if (!response.ok) throw Object.assign(new Error(`${path}: ${response.status} ${response.statusText}`), { status: response.status });
      return response;
    };
    loaded.set(key, (async () => {
      const [picture, label] = await Promise.all([
        image.thumbnail ? get(`${base}/thumbnails/${encodeURIComponent(image.id)}`).then(r => r.blob()).then(createImageBitmap) : null,
        get(`${base}/labels/${encodeURIComponent(image.id)}`).then(r => r.arrayBuffer()).then(decodeLabel)
          .catch(error => { if (error.status === 409) return null; throw error; })]);
      return { picture, label, overlay: label ? colourLabel(label) : null };
    })());
  }
  return loaded.get(key);
}

function classText(names, classes, total) {
  const name = c => (c === 255 ? "void" : names[c] ?? `class ${c}`);
  return classes.slice(0, 3).map(entry => `${name(entry.class)} ${(100 * entry.pixels / total).toFixed(0)}%`).join(", ") +
    (classes.length > 3 ? `, +${classes.length - 3}` : "");
}

// Keyset paging: per filter, the cursors of the pages seen from the first ("" is the first page), so "Previous"
// can go back a page however this one was reached (Next, the browser's Back, a bookmark).
const trails = new Map();

function galleryHash(id, query) {
  const parameters = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const text = parameters.toString();
  return `#/jobs/${encodeURIComponent(id)}/gallery${text ? `?${text}` : ""}`;
}

async function galleryPage(id, query) {
  const mine = generation;
  const state = query.get("state") === "failed" ? "failed" : "done";
  const chosen = state === "done" ? query.get("class") ?? "" : "";
  const after = query.get("after") ?? "";
  const parameters = new URLSearchParams({ state, limit: "24" });
  if (chosen !== "") parameters.set("class", chosen);
  if (after) parameters.set("after", after);
  const base = `/v1/jobs/${encodeURIComponent(id)}`;
  const [{ body: job }, { body: activity }, { body: page }] = await Promise.all([
    api(base), api(`${base}/activity`), api(`${base}/gallery?${parameters}`)]);
  if (mine !== generation) return;
  document.title = `Gallery · ${job.name || job.id} · labelmill`;
  const filterKey = `${id}|${state}|${chosen}`;
  const trail = trails.get(filterKey) || [""];
  trails.set(filterKey, trail);
  const at = trail.indexOf(after);
  if (at >= 0) trail.length = at + 1; else trail.push(after);
  const previous = trail.length > 1 ? trail[trail.length - 2] : null;

  const counts = new Map(activity.classes.map(entry => [entry.class, entry.images]));
  const stateSelect = h("select", { id: "state", onchange: event => go(galleryHash(id, { state: event.target.value, class: chosen })) },
    h("option", { value: "done", selected: state === "done" }, `Labeled (${number(job.images.done)})`),
    h("option", { value: "failed", selected: state === "failed" }, `Failed (${number(job.images.failed)})`));
  const classSelect = h("select", { id: "class", disabled: state !== "done",
                                    onchange: event => go(galleryHash(id, { state, class: event.target.value })) },
    h("option", { value: "" }, "All classes"),
    job.classes.map((name, c) => h("option", { value: String(c), selected: chosen === String(c) },
      `${c} ${name} (${imageCount(counts.get(c) || 0)})`)));
  const controls = h("div", { class: "controls" },
    h("label", { class: "control" }, "Show ", stateSelect), h("label", { class: "control" }, "Containing ", classSelect),
    state === "done" ? opacityControl("opacity") : null);

  painted.clear();
  loaded.clear();
  const cards = page.images.map(image => image.state === "failed" ? failedCard(id, image) : labeledCard(id, job, image));
  const showing = page.images.length ? `${number(page.images.length)} of ${number(page.total)}` : "";
  const summary = page.total ? `${number(page.total)} ${state === "failed" ? "failed" : "labeled"} image${page.total === 1 ? "" : "s"}` +
      (chosen !== "" ? ` containing ${job.classes[Number(chosen)] ?? `class ${chosen}`}` : "") + ` · showing ${showing}` :
    state === "failed" ? "No failed images." : chosen !== "" ? "No labeled image contains this class yet." : "No image is labeled yet.";
  const pager = h("nav", { class: "pager", "aria-label": "Gallery pages" },
    h("button", { type: "button", id: "gallery-previous", disabled: previous === null,
                  onclick: () => go(galleryHash(id, { state, class: chosen, after: previous })) }, "← Previous"),
    h("button", { type: "button", id: "gallery-next", disabled: !page.next,
                  onclick: () => go(galleryHash(id, { state, class: chosen, after: page.next })) }, "Next →"));
  render(
    h("p", {}, h("a", { href: `#/jobs/${encodeURIComponent(id)}` }, `← ${job.name || job.id}`)),
    h("h1", {}, "Gallery ", h("span", { class: "muted" }, job.name || job.id)),
    controls,
    state === "done" ? classLegend(job, activity) : null,
    h("p", { class: "muted", id: "gallery-summary" }, summary),
    h("div", { class: "gallery", id: "gallery" }, cards),
    pager,
    viewerDialog());
}

function labeledCard(id, job, image) {
  const total = image.classes.reduce((sum, entry) => sum + entry.pixels, 0) || 1;
  const canvas = h("canvas", { width: "256", height: "192", "aria-hidden": "true" });
  const button = h("button", { type: "button", class: "open", "aria-label": `Open ${image.id}`, onclick: () => openViewer(id, job, image) }, canvas);
  const card = h("figure", { class: "card", "data-image": image.id }, button,
    h("figcaption", {}, h("span", { class: "id", title: image.id }, image.id),
      h("span", { class: "small muted" }, classText(job.classes, image.classes, total))));
  load(id, image).then(item => {
    if (!item.label) {
      button.disabled = true;
      card.querySelector("figcaption").append(h("span", { class: "small muted" }, `label map in ${job.settings.output ?? "the job's output"}`));
    }
    const size = item.picture || item.label;
    if (!size) return;
    const scale = item.picture ? 1 : Math.min(1, 256 / Math.max(size.width, size.height));
    canvas.width = Math.max(1, Math.round(size.width * scale));
    canvas.height = Math.max(1, Math.round(size.height * scale));
    painted.set(canvas, item);
    paint(canvas, item);
    card.dataset.painted = "true";
  }, error => {
    button.replaceWith(h("p", { class: "error small" }, `Could not show it: ${error.message}`));
  });
  return card;
}

function failedCard(id, image) {
  const retry = h("button", { type: "button", class: "retry-image", onclick: async event => {
    event.target.disabled = true;
    try {
      await api(`/v1/jobs/${encodeURIComponent(id)}/images/${encodeURIComponent(image.id)}/retry`, { method: "POST" });
      event.target.replaceWith(h("span", { class: "ok", role: "status" }, "Sent back to the queue"));
    } catch (error) {
      showError(error);
      event.target.disabled = false;
    }
  } }, "Retry");
  return h("figure", { class: "card failed", "data-image": image.id },
    h("p", { class: "reason" }, image.error || "failed"),
    h("figcaption", {}, h("span", { class: "id", title: image.id }, image.id), retry));
}

// ---- large view ----

let viewerDialogElement = null;
function viewerDialog() {
  viewerDialogElement = h("dialog", { id: "viewer", "aria-labelledby": "viewer-title", onclose: () => {
    for (const [canvas] of painted) if (canvas.id === "viewer-canvas") painted.delete(canvas);
  } });
  return viewerDialogElement;
}

async function openViewer(id, job, image) {
  const dialog = viewerDialogElement;
  const item = Object.assign({}, await load(id, image), { cursor: null });
  const { label } = item;
  const name = c => (c === 255 ? "void" : job.classes[c] ?? `class ${c}`);
  // At least 512 pixels on the long side, so the label's pixels are visible; the canvas is scaled by CSS after.
  const scale = Math.max(1, Math.ceil(512 / Math.max(label.width, label.height)));
  const canvas = h("canvas", { id: "viewer-canvas", width: String(label.width * scale), height: String(label.height * scale),
                               tabindex: "0", role: "img",
                               "aria-label": `${image.id} with its labels; arrow keys move a cursor that names the class under it` });
  const readout = h("p", { id: "pixel", role: "status", "aria-live": "polite" },
    "Point at the picture, or focus it and use the arrow keys, to see the class of a pixel.");
  const total = label.width * label.height;
  const show = (x, y) => {
    const c = label.indices[y * label.width + x];
    readout.textContent = `Pixel (${x}, ${y}): ${c === 255 ? "void (255)" : `${c} ${name(c)}`}`;
    readout.dataset.class = String(c);
  };
  canvas.addEventListener("mousemove", event => {
    const box = canvas.getBoundingClientRect();
    const x = Math.min(label.width - 1, Math.floor(((event.clientX - box.left) / box.width) * label.width));
    const y = Math.min(label.height - 1, Math.floor(((event.clientY - box.top) / box.height) * label.height));
    if (x >= 0 && y >= 0) show(x, y);
  });
  canvas.addEventListener("keydown", event => {
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (!steps[event.key]) return;
    event.preventDefault();
    const step = event.shiftKey ? 10 : 1, cursor = item.cursor || { x: 0, y: 0 };
    if (item.cursor) {
      cursor.x = Math.max(0, Math.min(label.width - 1, cursor.x + steps[event.key][0] * step));
      cursor.y = Math.max(0, Math.min(label.height - 1, cursor.y + steps[event.key][1] * step));
    }
    item.cursor = cursor;
    paint(canvas, item);
    show(cursor.x, cursor.y);
  });
  const classes = h("ul", { class: "legend" }, image.classes.map(entry => h("li", {},
    h("span", { class: "swatch", style: `background: ${vocColor(entry.class)}`, "aria-hidden": "true" }),
    `${entry.class === 255 ? "255" : entry.class} ${name(entry.class)}`,
    h("span", { class: "small muted" }, ` ${(100 * entry.pixels / total).toFixed(1)}%`))));
  dialog.replaceChildren(
    h("div", { class: "viewer-head" }, h("h2", { id: "viewer-title" }, image.id),
      h("button", { type: "button", id: "viewer-close", onclick: () => dialog.close() }, "Close")),
    h("div", { class: "viewer-body" }, canvas),
    readout, opacityControl("viewer-opacity"), classes,
    h("p", { class: "small muted" }, `Label map ${label.width} × ${label.height}` +
      (item.picture ? `, shown over the ${item.picture.width} × ${item.picture.height} thumbnail.` : "; the worker sent no thumbnail.")));
  painted.set(canvas, item);
  paint(canvas, item);
  dialog.showModal();
  canvas.focus();
}

// ---- routing ----

let refresh = async () => {};

function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

function route() {
  generation += 1;
  clearTimeout(timer);
  const hash = location.hash || "#/";
  const gallery = hash.match(/^#\/jobs\/([^/?]+)\/gallery(?:\?(.*))?$/);
  const job = hash.match(/^#\/jobs\/([^/?]+)$/);
  const offset = Number((hash.match(/offset=(\d+)/) || [])[1] || 0);
  // The job page and the jobs list poll; the gallery loads once (its pictures do not change under the reader).
  let every = 4000;
  if (gallery) [refresh, every] = [() => galleryPage(decodeURIComponent(gallery[1]), new URLSearchParams(gallery[2] || "")), 0];
  else if (job) [refresh, every] = [() => jobPage(decodeURIComponent(job[1])), 2000];
  else refresh = () => jobsPage(offset);
  if (!gallery) { painted.clear(); loaded.clear(); }
  const mine = generation;
  const tick = async () => {
    try { await refresh(); showOK(); } catch (error) { showError(error); }
    if (mine === generation && every) timer = setTimeout(tick, every);
  };
  tick();
  const focused = document.activeElement;
  if (!(view.contains(focused) && focused.id)) view.focus({ preventScroll: true }); // else render() keeps it
}

document.getElementById("sign-out").addEventListener("click", async () => {
  try { await api("/ui/sign-out", { method: "POST" }); } catch (error) { /* signed out either way */ }
  location.href = "/";
});
window.addEventListener("hashchange", route);
route();
