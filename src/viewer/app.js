// heyplayer log viewer. No external assets; every request carries the token.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const api = (path) => `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
let records = [];
let nowMs = Date.now();
let skew = 0; // server clock minus this browser's clock

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmtTime(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z").replace("T", " ");
}

function fmtLeft(ms) {
  if (ms <= 0) return "now";
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min ${s % 60} s`;
}

function summary(v) {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  if (v.command) {
    const c = v.command;
    return c.action + (c.query ? ` "${c.query}"` : "") + (c.value !== undefined ? ` ${c.value}` : "") +
      (v.outcome ? ` → ${JSON.stringify(v.outcome)}` : "");
  }
  if (v.not_understood) return `not understood: ${v.not_understood}`;
  return JSON.stringify(v);
}

function contextText(v) {
  if (!v) return "";
  return Object.entries(v).map(([k, x]) => (x && x.label) ? `${k}: ${x.label} ${(x.confidence ?? 0).toFixed(2)}` : `${k}: ${JSON.stringify(x)}`).join(", ");
}

function nextExpiry(r) {
  const ex = Object.values(r.items).map((i) => i.expires_ms).filter((x) => x !== null && x !== undefined);
  return ex.length ? Math.min(...ex) : null;
}

function renderRecords() {
  const q = document.getElementById("q").value.trim().toLowerCase();
  const onlyVerified = document.getElementById("verified").checked;
  const kind = document.getElementById("kind").value;
  const body = document.querySelector("#records tbody");
  body.replaceChildren();
  const now = Date.now() + skew;
  let shown = 0;
  for (const r of records) {
    const t = r.items.transcript ? r.items.transcript.value : "";
    const c = summary(r.items.command ? r.items.command.value : undefined);
    if (onlyVerified && !r.verified) continue;
    if (kind && !r.items[kind]) continue;
    if (q && !(`${t} ${c}`.toLowerCase().includes(q))) continue;
    const tr = el("tr");
    tr.dataset.id = r.id;
    tr.append(el("td", r.id), el("td", fmtTime(r.at_ms)), el("td", `${r.wake_score.toFixed(2)}${r.verified ? " ✓" : ""}`),
      el("td", t), el("td", c), el("td", contextText(r.items.context ? r.items.context.value : null)));
    const ex = nextExpiry(r);
    const left = el("td", ex === null ? "when heyplayer stops (memory only)" : fmtLeft(ex - now), ex === null ? "memory" : "");
    left.dataset.expires = ex === null ? "" : ex;
    const del = el("button", "Delete");
    del.dataset.delete = r.id;
    del.addEventListener("click", () => deleteRecord(r.id));
    const td = el("td");
    td.append(del);
    tr.append(left, td);
    body.append(tr);
    shown++;
  }
  document.getElementById("empty").hidden = shown > 0;
}

function tickCountdowns() {
  const now = Date.now() + skew;
  for (const td of document.querySelectorAll("#records td[data-expires]")) {
    if (td.dataset.expires) td.textContent = fmtLeft(Number(td.dataset.expires) - now);
  }
}

function renderTimeline() {
  const svg = document.getElementById("timeline");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const hour = 3600000;
  const end = Math.ceil((Date.now() + skew) / hour) * hour;
  const bins = new Array(48).fill(0);
  for (const r of records) {
    const i = 47 - Math.floor((end - 1 - r.at_ms) / hour);
    if (i >= 0 && i < 48) bins[i]++;
  }
  const max = Math.max(1, ...bins);
  const w = 960 / 48;
  bins.forEach((n, i) => {
    const h = Math.round((n / max) * 96);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", String(i * w + 1));
    rect.setAttribute("y", String(104 - h));
    rect.setAttribute("width", String(w - 2));
    rect.setAttribute("height", String(h));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${n} capture(s), hour starting ${fmtTime(end - (48 - i) * hour)}`;
    rect.append(title);
    svg.append(rect);
  });
  for (const [i, label] of [[0, "48 h ago"], [24, "24 h ago"], [47, "now"]]) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", String(i * w + 2));
    t.setAttribute("y", "117");
    t.textContent = label;
    svg.append(t);
  }
  const m = document.createElementNS(ns, "text");
  m.setAttribute("x", "2");
  m.setAttribute("y", "10");
  m.textContent = `max ${max}/h`;
  svg.append(m);
}

async function getJson(path, opts) {
  const r = await fetch(api(path), opts);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

async function loadRecords() {
  const d = await getJson("/api/records");
  records = d.records;
  skew = d.now_ms - Date.now();
  renderRecords();
  renderTimeline();
}

async function loadAudit() {
  const d = await getJson("/api/audit");
  const body = document.querySelector("#audit tbody");
  body.replaceChildren();
  for (const e of d.entries) {
    const tr = el("tr");
    tr.append(el("td", e.seq), el("td", fmtTime(e.t_ms)), el("td", e.action), el("td", e.actor), el("td", e.kind || "-"), el("td", e.detail, "detail"));
    body.append(tr);
  }
}

function showStatus(s) {
  const l = document.getElementById("listening");
  if (s.listening && s.alive) {
    l.dataset.state = "on";
    l.textContent = `listening now (after the wake word), since ${fmtTime(s.listening.since_ms)} on ${s.listening.input}`;
  } else {
    l.dataset.state = "off";
    l.textContent = "not listening";
  }
  const c = document.getElementById("chain");
  if (s.chain.first_broken) {
    c.dataset.state = "broken";
    c.textContent = `audit chain BROKEN at entry ${s.chain.first_broken.seq}`;
  } else {
    c.dataset.state = "ok";
    c.textContent = `audit chain intact (${s.chain.entries} entries)`;
  }
  document.getElementById("rules").textContent = Object.entries(s.retention).map(([k, v]) => `${k}: ${v}`).join(" · ");
  document.getElementById("status").textContent = `Data in ${s.data_dir} · ${s.records} record(s) on disk`;
}

async function refresh() {
  await Promise.all([loadRecords(), loadAudit(), getJson("/api/status").then(showStatus)]);
}

async function deleteRecord(id) {
  if (!confirm(`Delete record ${id} and everything kept of it? This cannot be undone.`)) return;
  await getJson(`/api/records/${id}/delete`, { method: "POST" });
  await refresh();
}

async function purgeAll() {
  if (!confirm("Delete EVERYTHING heyplayer stored, the audit log included? This cannot be undone.")) return;
  await getJson("/api/purge", { method: "POST" });
  await refresh();
}

function live() {
  const es = new EventSource(api("/api/events"));
  es.addEventListener("status", (m) => {
    const s = JSON.parse(m.data);
    showStatus(s);
    if (s.changed) refresh();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["q", "verified", "kind"]) document.getElementById(id).addEventListener("input", renderRecords);
  document.getElementById("purge").addEventListener("click", purgeAll);
  refresh().catch((e) => { document.getElementById("status").textContent = String(e); });
  live();
  setInterval(tickCountdowns, 1000);
});
