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
function vocColor(c) {
  let r = 0, g = 0, b = 0;
  for (let bit = 0, v = c; bit < 8; bit++, v >>= 3) {
    r |= ((v >> 0) & 1) << (7 - bit);
    g |= ((v >> 1) & 1) << (7 - bit);
    b |= ((v >> 2) & 1) << (7 - bit);
  }
  return `rgb(${r}, ${g}, ${b})`;
}

function progress(images) {
  const done = images.total ? images.done / images.total : 0;
  const failed = images.total ? images.failed / images.total : 0;
  const label = `${number(images.done)} of ${number(images.total)} labeled` + (images.failed ? `, ${number(images.failed)} failed` : "");
  return h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(images.total),
                    "aria-valuenow": String(images.done + images.failed), "aria-label": label, title: label },
    h("span", { class: "done", style: `width: ${(done * 100).toFixed(2)}%` }),
    h("span", { class: "failed", style: `width: ${(failed * 100).toFixed(2)}%` }));
}

function badge(state) { return h("span", { class: `badge state-${state}` }, state); }

function render(...nodes) {
  view.replaceChildren(...nodes.filter(node => node !== null && node !== undefined && node !== false));
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

function chart(minutes) {
  if (!minutes.length) return h("p", { class: "muted" }, "No image has finished yet.");
  const width = 600, height = 120, pad = 2;
  // At least half an hour wide, the newest minute at the right.
  const last = minutes[minutes.length - 1].at;
  const span = Math.max(30, (last - minutes[0].at) / 60 + 1);
  const first = last - (span - 1) * 60;
  const max = Math.max(1, ...minutes.map(m => m.done + m.failed));
  const bar = Math.max(1, width / span - pad);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height + 16}`, role: "img", class: "chart",
                         "aria-label": `Images finished per minute, ${minutes.length} minutes with activity, at most ${max} in a minute` });
  for (const m of minutes) {
    const x = ((m.at - first) / 60) * (width / span);
    const done = (m.done / max) * height, failed = (m.failed / max) * height;
    svg.append(s("rect", { x, y: height - done, width: bar, height: done, class: "bar-done" },
      s("title", {}, `${new Date(m.at * 1000).toLocaleTimeString()}: ${m.done} labeled, ${m.failed} failed`)));
    if (m.failed) svg.append(s("rect", { x, y: height - done - failed, width: bar, height: failed, class: "bar-failed" }));
  }
  svg.append(s("text", { x: 0, y: height + 14, class: "axis" }, new Date(first * 1000).toLocaleTimeString()));
  svg.append(s("text", { x: width, y: height + 14, class: "axis", "text-anchor": "end" }, `${new Date(last * 1000).toLocaleTimeString()} · max ${max}/min`));
  return svg;
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
    job.images.failed ? h("button", { type: "button", id: "retry", onclick: event => action(`/v1/jobs/${encodeURIComponent(id)}/retry-failed`, event.target) }, `Retry ${number(job.images.failed)} failed`) : null);
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
  // Each class with its colour, index and share of the labeled pixels (counted when each label map was stored).
  const shares = new Map(activity.classes.map(entry => [entry.class, entry]));
  const allPixels = activity.classes.reduce((sum, entry) => sum + entry.pixels, 0);
  const share = c => {
    const entry = shares.get(c);
    if (!allPixels) return "";
    return entry ? ` · ${(100 * entry.pixels / allPixels).toFixed(1)}% of pixels, in ${number(entry.images)} images` : " · 0%";
  };
  const legend = h("ul", { class: "legend", "aria-label": "Classes, their colours and share of the labeled pixels" }, job.classes.map((name, c) =>
    h("li", { "data-class": String(c) }, h("span", { class: "swatch", style: `background: ${vocColor(c)}`, "aria-hidden": "true" }), `${c} ${name}`,
      h("span", { class: "small muted" }, share(c)))),
    shares.has(255) ? h("li", { "data-class": "255" }, h("span", { class: "swatch", style: `background: ${vocColor(255)}`, "aria-hidden": "true" }),
      "255 void", h("span", { class: "small muted" }, share(255))) : null);
  const counted = activity.countedImages ? h("p", { class: "small muted" }, `Shares over ${number(activity.countedImages)} label maps.`) : null;
  const settings = h("dl", { class: "settings" }, Object.entries(job.settings).sort().flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
  render(
    h("p", {}, h("a", { href: "#/" }, "← Jobs")),
    h("h1", {}, job.name || job.id, " ", badge(job.state)),
    job.failure ? h("p", { class: "error", role: "alert" }, job.failure) : null,
    job.stalled ? h("p", { class: "warn", role: "alert" }, "No image has finished for a while: see Problems.") : null,
    progress(job.images),
    h("dl", { class: "counts", id: "counts" }, counts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", { "data-count": k.toLowerCase() }, number(v))))),
    h("p", { id: "rate" }, `${rate(job.imagesPerSecond)} images/s`, job.state === "running" ? ` · ETA ${duration(job.etaSeconds)}` : "",
      ` · ${job.activeWorkers} active worker${job.activeWorkers === 1 ? "" : "s"}`, ` · model ${model}`, ` · created ${when(job.createdAt)}`),
    buttons,
    h("section", {}, h("h2", {}, "Throughput"), chart(activity.minutes)),
    h("section", {}, h("h2", {}, "Workers"), workers),
    h("section", {}, h("h2", {}, "Problems"), problems),
    h("section", {}, h("h2", {}, "Classes"), legend, counted),
    h("section", {}, h("h2", {}, "Settings"), settings));
}

// ---- routing ----

let refresh = async () => {};

function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

function route() {
  generation += 1;
  clearTimeout(timer);
  const hash = location.hash || "#/";
  const job = hash.match(/^#\/jobs\/([^/?]+)$/);
  const offset = Number((hash.match(/offset=(\d+)/) || [])[1] || 0);
  refresh = job ? () => jobPage(decodeURIComponent(job[1])) : () => jobsPage(offset);
  const mine = generation;
  const tick = async () => {
    try { await refresh(); showOK(); } catch (error) { showError(error); }
    if (mine === generation) timer = setTimeout(tick, job ? 2000 : 4000);
  };
  tick();
  view.focus({ preventScroll: true });
}

document.getElementById("sign-out").addEventListener("click", async () => {
  try { await api("/ui/sign-out", { method: "POST" }); } catch (error) { /* signed out either way */ }
  location.href = "/";
});
window.addEventListener("hashchange", route);
route();
