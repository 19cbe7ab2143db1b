// heyplayer log viewer. No external assets; every request carries the token.
// Everything is shown in words: nothing on the page is raw JSON.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const api = (path) => `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
const SVG = "http://www.w3.org/2000/svg";
const HOUR = 3600000;
const DAY = 86400000;
let records = [];
let hourly = [];
let rules = {};
let skew = 0; // server clock minus this browser's clock
let auditPage = 1;
const now = () => Date.now() + skew;

// ---------- small helpers ----------

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function pct(x) {
  return `${Math.round(Math.max(0, Math.min(1, Number(x) || 0)) * 100)}%`;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : (many || `${one}s`)}`;
}

const WEEKDAY = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const DAYNAME = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

function dayStart(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

// "Today, 14:03", "Yesterday, 09:12", "Sat 5 Dec, 14:03" (this browser's time zone).
function fmtWhen(ms) {
  const today = dayStart(now());
  const day = dayStart(ms);
  const clock = CLOCK.format(ms);
  if (day === today) return `Today, ${clock}`;
  if (day === today - DAY) return `Yesterday, ${clock}`;
  return `${WEEKDAY.format(ms)}, ${clock}`;
}

function fmtUtc(ms) {
  return `${new Date(ms).toISOString().replace(/\.\d{3}Z$/, "").replace("T", " ")} UTC`;
}

function timeEl(ms) {
  const t = el("time", fmtWhen(ms));
  t.dateTime = new Date(ms).toISOString();
  t.title = fmtUtc(ms);
  return t;
}

// A span of time in words: "23 h 59 min", "29 days", "4 min 10 s".
function fmtSpan(ms) {
  if (ms <= 0) return "a moment";
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d >= 2) return plural(d, "day");
  if (d === 1) return `1 day ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return plural(s, "second");
}

function fmtAgo(ms) {
  const d = now() - ms;
  if (d < 60000) return "just now";
  if (d < HOUR) return `${Math.floor(d / 60000)} min ago`;
  if (d < DAY) return `${Math.floor(d / HOUR)} h ago`;
  return `${plural(Math.floor(d / DAY), "day")} ago`;
}

// Retention rules as written ("24h", "30d", "1d12h", "never", "session").
function fmtRule(r) {
  if (r === "never") return "never kept";
  if (r === "session") return "kept in memory only, until heyplayer stops";
  const names = { y: "year", w: "week", d: "day", h: "hour", m: "minute", s: "second" };
  const parts = [...String(r).matchAll(/(\d+)([ywdhms])/g)].map(([, n, u]) => plural(Number(n), names[u]));
  return parts.length ? `kept ${parts.join(" ")}` : `kept: ${r}`;
}

const RULE_NAMES = {
  transcript: "Your words",
  command: "Commands and results",
  context: "Context",
  raw_audio: "Audio recordings",
  audit: "Audit log",
};

const KIND_WORDS = {
  transcript: "your words",
  command: "the command and its result",
  context: "the context (place, company, mood)",
  raw_audio: "audio recordings",
  audit: "the audit log",
};

const SHORT_KIND = {
  transcript: "your words",
  command: "the command",
  context: "the context",
  raw_audio: "the audio",
  audit: "audit entries",
};

function shortKind(k) {
  return SHORT_KIND[k] || kindWords(k);
}

// Retention rules as the store writes them ("transcript=24h command=30d …").
function rulesWords(v) {
  if (typeof v !== "string") return words(v);
  const parts = v.trim().split(/\s+/).map((kv) => {
    const [k, r] = kv.split("=");
    return r === undefined ? kv : `${RULE_NAMES[k] ? RULE_NAMES[k].toLowerCase() : shortKind(k)} ${fmtRule(r).replace(/^kept /, "")}`;
  });
  return parts.join(", ");
}

function kindWords(k) {
  return KIND_WORDS[k] || String(k).replace(/_/g, " ");
}

// Any value in words, never as JSON: used for details nobody planned for.
function words(v) {
  if (v === null || v === undefined) return "none";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.length ? v.map(words).join(v.every((x) => typeof x !== "object") ? ", " : "; ") : "none";
  return Object.entries(v).map(([k, x]) => `${humanKey(k)} ${words(x)}`).join(", ");
}

function humanKey(k) {
  const known = {
    wake_score: "wake word score", verified: "confirmed by a second check", kept: "kept",
    record: "record", records: "records", deleted: "deleted", reason: "reason", count: "how many",
    through_seq: "up to entry", pid: "process", since_ms: "since", at_ms: "at", at: "at",
    input: "listening to", models: "models", file: "file", all: "everything",
    kind: "kind", before: "made before", settings_sha256: "settings fingerprint",
    retention: "retention rules", from: "from", to: "to", until: "until", rule: "rule",
    name: "name", sha256: "fingerprint", by: "by", entry: "entry",
    transcript: "your words", command: "commands", context: "context", raw_audio: "audio", audit: "audit entries",
  };
  return known[k] || String(k).replace(/_/g, " ");
}

// A definition list of an object's fields, recursively, in words.
function detailList(obj) {
  const dl = el("dl", null, "kv");
  for (const [k, v] of Object.entries(obj)) {
    if (k === "at" && typeof obj.at_ms === "number") continue; // the same time, once
    dl.append(el("dt", humanKey(k)));
    const dd = el("dd");
    if (typeof v === "number" && /_ms$/.test(k)) dd.textContent = fmtUtc(v);
    else if (Array.isArray(v) && v.some((x) => x && typeof x === "object")) {
      const ul = el("ul");
      for (const x of v) {
        const li = el("li");
        if (x && typeof x === "object") li.append(detailList(x));
        else li.textContent = words(x);
        ul.append(li);
      }
      dd.append(ul);
    } else if (v && typeof v === "object" && !Array.isArray(v)) {
      dd.append(detailList(v));
    } else dd.textContent = words(v);
    dl.append(dd);
  }
  return dl;
}

// ---------- commands and their outcome ----------

const DONE = {
  play: ["Played", "Play"], pause: ["Paused", "Pause"], resume: ["Resumed", "Resume"],
  stop: ["Stopped the music", "Stop the music"], next: ["Skipped to the next track", "Skip to the next track"],
  previous: ["Went back a track", "Go back a track"], volume_up: ["Turned the volume up", "Turn the volume up"],
  volume_down: ["Turned the volume down", "Turn the volume down"], volume_set: ["Set the volume", "Set the volume"],
  mute: ["Muted", "Mute"], unmute: ["Unmuted", "Unmute"], shuffle_on: ["Turned shuffle on", "Turn shuffle on"],
  shuffle_off: ["Turned shuffle off", "Turn shuffle off"], repeat_on: ["Turned repeat on", "Turn repeat on"],
  repeat_off: ["Turned repeat off", "Turn repeat off"], like: ["Liked the track", "Like the track"],
  whats_playing: ["Said what is playing", "Say what is playing"],
};

// [past tense, infinitive] of a command.
function commandWords(c) {
  const [done, todo] = DONE[c.action] || [String(c.action).replace(/_/g, " "), String(c.action).replace(/_/g, " ")];
  let tail = "";
  if (c.action === "play") tail = c.query ? ` “${c.query}”` : " (whatever was queued)";
  else if (c.action === "volume_set" && c.value !== undefined) tail = ` to ${c.value}%`;
  else if (c.query) tail = ` “${c.query}”`;
  return [done + tail, todo.charAt(0).toLowerCase() + todo.slice(1) + tail];
}

// What was done, as { mark, text, more, state }.
function outcomeOf(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return { mark: "•", text: v, more: "", state: "pending" };
  if (v.not_understood !== undefined) {
    return { mark: "✗", text: "Not understood", more: `Why: ${words(v.not_understood)}`, state: "not_understood" };
  }
  if (v.command && typeof v.command === "object") {
    const [done, todo] = commandWords(v.command);
    const guided = v.guided ? ` (understood as “${v.guided}”)` : "";
    const o = v.outcome;
    if (!o) return { mark: "•", text: `Asked to ${todo}`, more: `No result was recorded.${guided}`, state: "pending" };
    const player = o.player === "dry-run" ? "dry run, no player was touched" : `on ${o.player}`;
    if (o.ok) return { mark: "✓", text: done, more: `${player}: ${o.detail}${guided}`, state: "ok" };
    return { mark: "✗", text: `Could not ${todo}`, more: `Why (${player}): ${o.detail}${guided}`, state: "failed" };
  }
  return { mark: "•", text: words(v), more: "", state: "pending" };
}

// ---------- context ----------

const AXES = [
  ["physical", "Where"],
  ["social", "With whom"],
  ["emotion", "Mood"],
];

const LABELS = {
  physical: {
    indoor_quiet: ["quiet room", "#1f5fa8"], indoor_busy: ["busy room", "#6b3fa0"], street: ["street", "#a14a00"],
    nature: ["outdoors", "#2b6e2f"], vehicle: ["vehicle", "#9c2a63"], unknown: ["not sure", "#767676"],
  },
  social: {
    alone: ["alone", "#1f5fa8"], conversation: ["conversation", "#a14a00"], crowd: ["crowd", "#9c2a63"],
    unknown: ["not sure", "#767676"],
  },
  emotion: {
    neutral: ["calm", "#00695c"], happy: ["happy", "#2b6e2f"], sad: ["sad", "#1f5fa8"], angry: ["angry", "#b3261e"],
    unknown: ["not sure", "#767676"],
  },
};

function labelName(axis, value) {
  const l = LABELS[axis] && LABELS[axis][value];
  return l ? l[0] : String(value).replace(/_/g, " ");
}

function labelColour(axis, value) {
  const l = LABELS[axis] && LABELS[axis][value];
  return l ? l[1] : "#555555";
}

// An axis's verdict from a stored context: { value, confidence, evidence }.
function axisOf(ctx, axis) {
  const x = ctx && ctx[axis];
  if (!x || typeof x !== "object") return null;
  const value = x.value ?? x.label;
  if (typeof value !== "string") return null;
  return { value, confidence: Number(x.confidence) || 0, evidence: Array.isArray(x.evidence) ? x.evidence : [] };
}

// One cue in words: AudioSet classes in lower case, their synonyms dropped.
function cueWords(c) {
  const name = Array.isArray(c) ? String(c[0]) : String(c);
  const score = Array.isArray(c) ? Number(c[1]) : NaN;
  if (name === "learned head") return "";
  let m = /^learned head: (.+)$/.exec(name);
  if (m) return `the model alone would say ${m[1].replace(/_/g, " ")}`;
  if (name === "pre-roll speech") return "talk just before the wake word";
  if (name === "too little speech") return "too little speech to tell";
  if (name.startsWith("no background sound")) return Number.isFinite(score) ? `no background sound (${Math.round(score)} dBFS)` : "no background sound";
  if (name === "Music") return "music playing (it hides the surroundings)";
  return name.split(",")[0].trim().toLowerCase();
}

function evidenceWords(evidence) {
  return evidence.map(cueWords).filter((w) => w).join(", ");
}

function chip(axis, title, a) {
  const li = el("li", null, "chip");
  li.dataset.axis = axis;
  li.dataset.value = a.value;
  const head = el("div", null, "chip-head");
  head.append(el("span", title, "axis"), el("strong", labelName(axis, a.value)));
  if (a.value !== "unknown" || a.confidence > 0) head.append(el("span", pct(a.confidence), "pct"));
  const bar = el("div", null, "bar");
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `confidence ${pct(a.confidence)}`);
  const fill = el("div", null, "fill");
  fill.style.width = pct(a.confidence);
  fill.style.background = labelColour(axis, a.value);
  bar.append(fill);
  li.append(head, bar);
  const ev = evidenceWords(a.evidence);
  if (ev) li.append(el("p", `heard: ${ev}`, "ev"));
  return li;
}

function arousalChip(ctx) {
  const a = ctx && ctx.arousal;
  if (!a || typeof a !== "object" || a.value === null || a.value === undefined) return null;
  const v = Number(a.value);
  // The stage's own level (issue 33) when the event has one: "unclear" when
  // the speech was too short or prosody and the vocal cues disagreed.
  const levels = { calm: "calm", neutral: "in between", energetic: "lively", unknown: "unclear" };
  const lv = a.level && typeof a.level.value === "string" ? levels[a.level.value] : undefined;
  const word = lv || (v < 0.4 ? "calm" : v > 0.6 ? "lively" : "in between");
  const li = el("li", null, "chip");
  li.dataset.axis = "arousal";
  const head = el("div", null, "chip-head");
  head.append(el("span", "Energy", "axis"), el("strong", word), el("span", pct(v), "pct"));
  const bar = el("div", null, "bar");
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `energy ${pct(v)}`);
  const fill = el("div", null, "fill");
  fill.style.width = pct(v);
  fill.style.background = "#5b4b8a";
  bar.append(fill);
  li.append(head, bar);
  const cues = Array.isArray(a.evidence) ? a.evidence.map(cueWords).filter((w) => w) : [];
  li.append(el("p", `heard: how you spoke${cues.length ? `, ${cues.join(", ")}` : ""}`, "ev"));
  return li;
}

// ---------- records ----------

function expiries(r) {
  return Object.values(r.items).map((i) => i.expires_ms).filter((x) => x !== null && x !== undefined);
}

function countdown(prefix, ms, cls) {
  const p = el("p", null, cls || "countdown");
  if (ms === null || ms === undefined) {
    p.textContent = `${prefix}: kept in memory only, until heyplayer stops`;
  } else {
    p.dataset.expires = String(ms);
    p.dataset.prefix = prefix;
    p.textContent = `${prefix} in ${fmtSpan(ms - now())}`;
    p.title = `at ${fmtUtc(ms)}`;
  }
  return p;
}

function field(label, cls) {
  const d = el("div", null, `field ${cls}`);
  d.append(el("p", label, "label"));
  return d;
}

function renderRecord(r) {
  const li = el("li", null, "record");
  li.dataset.id = r.id;
  const items = r.items || {};

  const when = el("div", null, "when");
  const h = el("h3");
  h.append(timeEl(r.at_ms));
  when.append(h, el("p", fmtAgo(r.at_ms), "muted"));
  when.append(el("p", `wake word ${pct(r.wake_score)} sure${r.verified ? ", confirmed" : ""}`, "muted"));

  const said = field("You said", "said");
  const t = items.transcript;
  if (t && typeof t.value === "string") {
    said.append(el("p", `“${t.value}”`, "quote"));
    said.append(countdown("Words deleted", t.expires_ms));
  } else {
    const rule = rules.transcript;
    const why = rule === "never" ? "Your words are never kept (your setting)." :
      rule ? `Your words are no longer kept (${fmtRule(rule)}).` : "Your words are no longer kept.";
    said.append(el("p", why, "muted"));
  }

  const done = field("What it did", "done");
  const o = outcomeOf(items.command ? items.command.value : undefined);
  if (o) {
    const p = el("p", null, `outcome ${o.state}`);
    p.append(el("span", o.mark, "mark"), document.createTextNode(` ${o.text}`));
    p.querySelector(".mark").setAttribute("aria-hidden", "true");
    if (o.state === "ok" || o.state === "failed") {
      p.prepend(el("span", o.state === "ok" ? "Done: " : "Failed: ", "sr"));
    }
    done.append(p);
    if (o.more) done.append(el("p", o.more, "muted"));
  } else {
    done.append(el("p", "Nothing kept about the command.", "muted"));
  }
  if (items.raw_audio) {
    const a = items.raw_audio.value || {};
    const secs = Number(a.seconds);
    done.append(el("p", `Audio recording kept${Number.isFinite(secs) ? ` (${secs.toFixed(1)} s)` : ""}`, "muted"));
    done.append(countdown("Recording deleted", items.raw_audio.expires_ms));
  }

  const ctxf = field("Around you", "ctx");
  const ctx = items.context ? items.context.value : null;
  const chips = el("ul", null, "chips");
  for (const [axis, title] of AXES) {
    const a = axisOf(ctx, axis);
    if (a) chips.append(chip(axis, title, a));
  }
  const ar = arousalChip(ctx);
  if (ar) chips.append(ar);
  if (chips.children.length) ctxf.append(chips);
  else ctxf.append(el("p", "No context kept.", "muted"));

  const act = el("div", null, "act");
  const ex = expiries(r);
  const del = el("button", "Delete", "del");
  del.type = "button";
  del.dataset.delete = r.id;
  const what = t && typeof t.value === "string" ? `“${t.value}”` : fmtWhen(r.at_ms);
  del.setAttribute("aria-label", `Delete record ${r.id}, ${what}`);
  del.addEventListener("click", () => deleteRecord(r.id, what));
  act.append(del);
  if (ex.length) act.append(countdown("All of it deleted", Math.max(...ex), "countdown small"));
  else act.append(el("p", "Kept in memory only, until heyplayer stops", "muted small"));

  li.append(when, said, done, ctxf, act);
  return li;
}

function matches(r) {
  const q = document.getElementById("q").value.trim().toLowerCase();
  const onlyVerified = document.getElementById("verified").checked;
  const kind = document.getElementById("kind").value;
  const outcome = document.getElementById("outcome").value;
  if (onlyVerified && !r.verified) return false;
  if (kind && !r.items[kind]) return false;
  const o = outcomeOf(r.items.command ? r.items.command.value : undefined);
  if (outcome && (!o || o.state !== outcome)) return false;
  if (q) {
    const t = r.items.transcript ? String(r.items.transcript.value) : "";
    const hay = `${t} ${o ? `${o.text} ${o.more}` : ""}`.toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

function renderRecords() {
  const list = document.getElementById("records");
  list.replaceChildren();
  let shown = 0;
  for (const r of records) {
    if (!matches(r)) continue;
    list.append(renderRecord(r));
    shown++;
  }
  document.getElementById("empty").hidden = shown > 0;
  document.getElementById("rcount").textContent = records.length === shown ?
    `${plural(records.length, "wake-up")} with something kept.` :
    `Showing ${shown} of ${plural(records.length, "wake-up")} with something kept.`;
}

function tickCountdowns() {
  for (const p of document.querySelectorAll("[data-expires]")) {
    p.textContent = `${p.dataset.prefix} in ${fmtSpan(Number(p.dataset.expires) - now())}`;
  }
}

// ---------- charts ----------

function chartWidth(id) {
  return Math.max(240, Math.floor(document.getElementById(id).clientWidth));
}

function renderHours() {
  const box = document.getElementById("hours");
  const W = chartWidth("hours");
  const H = 128, top = 10, base = 104;
  const end = Math.ceil(now() / HOUR) * HOUR;
  const kept = new Array(48).fill(0), none = new Array(48).fill(0);
  for (const c of hourly) {
    const i = 47 - Math.floor((end - 1 - c.t_ms) / HOUR);
    if (i < 0 || i >= 48) continue;
    if (c.kept) kept[i]++;
    else none[i]++;
  }
  const total = kept.map((k, i) => k + none[i]);
  const max = Math.max(1, ...total);
  const left = 28, w = (W - left - 4) / 48;
  const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
  const sum = total.reduce((a, b) => a + b, 0);
  const busiest = total.indexOf(Math.max(...total));
  const label = sum === 0 ? "No wake-ups in the last 48 hours." :
    `${plural(sum, "wake-up")} in the last 48 hours; the busiest hour started ${fmtWhen(end - (48 - busiest) * HOUR)} (${total[busiest]}).`;
  s.setAttribute("aria-label", label);
  for (const y of [0, max]) {
    const yy = base - (y / max) * (base - top);
    s.append(svg("line", { x1: left, x2: W - 2, y1: yy, y2: yy, class: "grid" }));
    const t = svg("text", { x: left - 4, y: yy + 4, "text-anchor": "end" });
    t.textContent = String(y);
    s.append(t);
  }
  total.forEach((n, i) => {
    if (!n) return;
    const x = left + i * w + 1;
    const hk = (kept[i] / max) * (base - top), hn = (none[i] / max) * (base - top);
    const g = svg("g");
    const title = svg("title");
    title.textContent = `${fmtWhen(end - (48 - i) * HOUR)}: ${plural(n, "wake-up")}, ${kept[i]} with something kept`;
    g.append(title);
    if (hk) g.append(svg("rect", { x, y: base - hk, width: Math.max(1, w - 2), height: hk, class: "kept" }));
    if (hn) g.append(svg("rect", { x, y: base - hk - hn, width: Math.max(1, w - 2), height: hn, class: "none" }));
    s.append(g);
  });
  const ticks = W < 500 ? [0, 24, 47] : [0, 12, 24, 36, 47];
  for (const i of ticks) {
    const t = svg("text", { x: left + i * w + w / 2, y: base + 16, "text-anchor": i === 0 ? "start" : i === 47 ? "end" : "middle" });
    t.textContent = i === 47 ? "now" : `${48 - i} h ago`;
    s.append(t);
  }
  box.replaceChildren(s);
  const legend = el("ul", null, "legend");
  legend.setAttribute("aria-hidden", "true");
  const k = el("li");
  k.append(el("span", null, "swatch kept"), document.createTextNode("something kept"));
  const n = el("li");
  n.append(el("span", null, "swatch none"), document.createTextNode("nothing kept (not for heyplayer, or your rules)"));
  legend.append(k, n);
  box.append(legend);
  document.getElementById("hours-sum").textContent = label;
}

function renderContext() {
  const box = document.getElementById("ctxchart");
  box.replaceChildren();
  const W = chartWidth("ctxchart");
  const today = dayStart(now());
  const withCtx = records.filter((r) => r.items.context);
  if (!withCtx.length) {
    box.append(el("p", "No context is kept right now.", "note"));
    return;
  }
  const oldest = Math.min(...withCtx.map((r) => dayStart(r.at_ms)));
  const days = Math.max(7, Math.min(31, Math.round((today - oldest) / DAY) + 1));
  const left = 4, w = (W - left - 4) / days;
  for (const [axis, title] of AXES) {
    const bins = Array.from({ length: days }, () => new Map());
    const seen = new Map();
    for (const r of withCtx) {
      const a = axisOf(r.items.context.value, axis);
      if (!a) continue;
      const i = days - 1 - Math.round((today - dayStart(r.at_ms)) / DAY);
      if (i < 0 || i >= days) continue;
      bins[i].set(a.value, (bins[i].get(a.value) || 0) + 1);
      seen.set(a.value, (seen.get(a.value) || 0) + 1);
    }
    const fig = el("figure", null, "ctxrow");
    const cap = el("figcaption");
    cap.append(el("strong", title));
    const H = 46, base = 30;
    const s = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
    const top = [...seen.entries()].sort((a, b) => b[1] - a[1]);
    s.setAttribute("aria-label", `${title}, last ${days} days: ${top.map(([v, n]) => `${labelName(axis, v)} ${n}`).join(", ") || "nothing kept"}`);
    s.append(svg("line", { x1: left, x2: W - 4, y1: base + 0.5, y2: base + 0.5, class: "grid" }));
    bins.forEach((m, i) => {
      const n = [...m.values()].reduce((a, b) => a + b, 0);
      if (!n) return;
      let y = base;
      const g = svg("g");
      const tt = svg("title");
      tt.textContent = `${DAYNAME.format(today - (days - 1 - i) * DAY)}: ${[...m.entries()].map(([v, c]) => `${labelName(axis, v)} ${c}`).join(", ")}`;
      g.append(tt);
      for (const [v, c] of [...m.entries()].sort((a, b) => b[1] - a[1])) {
        const hh = (c / n) * (base - 2);
        y -= hh;
        g.append(svg("rect", { x: left + i * w + 1, y, width: Math.max(1, w - 2), height: hh, fill: labelColour(axis, v) }));
      }
      s.append(g);
    });
    for (const i of [0, days - 1]) {
      const t = svg("text", { x: left + i * w + (i === 0 ? 0 : w), y: base + 14, "text-anchor": i === 0 ? "start" : "end" });
      t.textContent = i === days - 1 ? "today" : DAYNAME.format(today - (days - 1 - i) * DAY);
      s.append(t);
    }
    const legend = el("ul", null, "legend");
    for (const [v, n] of top) {
      const li = el("li");
      const sw = el("span", null, "swatch");
      sw.style.background = labelColour(axis, v);
      li.append(sw, document.createTextNode(`${labelName(axis, v)} (${n})`));
      legend.append(li);
    }
    cap.append(legend);
    fig.append(cap, s);
    box.append(fig);
  }
}

// ---------- the audit log ----------

function keptWords(kept) {
  if (!Array.isArray(kept) || !kept.length) return "nothing kept";
  const parts = kept.map((k) => {
    if (k.rule === "never") return null;
    if (k.rule === "session") return `${shortKind(k.kind)} in memory only`;
    return `${shortKind(k.kind)} for ${fmtRule(k.rule).replace(/^kept /, "")}`;
  }).filter((x) => x);
  return parts.length ? `kept ${parts.join(", ")}` : "nothing kept (your rules)";
}

function countsWords(c) {
  if (!c || typeof c !== "object") return "";
  const parts = Object.entries(c).map(([k, n]) => `${n > 1 ? `${n} × ` : ""}${shortKind(k)}`);
  return parts.join(", ");
}

// An audit entry in one sentence: { who, text }.
function sentence(e, d) {
  const by = { user: "You", purge: "You", sweeper: "Automatic", heyplayer: "heyplayer" }[e.actor] || e.actor;
  switch (e.action) {
    case "capture": {
      if (!d.verified && (d.record === null || d.record === undefined)) {
        return [by, `Heard something like the wake word (${pct(d.wake_score)} sure), not confirmed; nothing kept.`];
      }
      const conf = d.verified ? "confirmed" : "not confirmed";
      return [by, `Heard the wake word (${pct(d.wake_score)}, ${conf}); ${keptWords(d.kept)}${d.record ? ` as record ${d.record}` : ""}.`];
    }
    case "delete": {
      const what = countsWords(d.deleted);
      if (e.actor === "sweeper") {
        const ids = Array.isArray(d.records) ? d.records : [];
        const n = d.count ?? ids.length;
        return [by, `Deleted ${what || shortKind(e.kind)} of ${plural(n, "record")}${ids.length ? ` (${ids.join(", ")})` : ""}: their time to be kept ran out.`];
      }
      if (e.actor === "purge" && d.all) return [by, `Deleted everything${what ? `: ${what}` : ""}, the audit log before this entry included.`];
      if (Array.isArray(d.records)) return [by, `Deleted record ${d.records.join(", ")}${what ? ` (${what})` : ""}.`];
      return [by, `Deleted ${what || "data"}${d.before ? ` made before ${d.before}` : ""}.`];
    }
    case "listen_start": return [by, `Started listening to ${d.input || "an input"}.`];
    case "listen_stop": return [by, `Stopped listening${d.reason ? `: ${d.reason}` : ""}.`];
    case "config": {
      if (d.retention) {
        const was = d.retention.from ? ` (they were: ${rulesWords(d.retention.from)})` : "";
        return [by, `${d.retention.from ? "Changed how long things are kept" : "Set how long things are kept"}: ${rulesWords(d.retention.to)}${was}.`];
      }
      return [by, "Settings changed (their fingerprint is in the details)."];
    }
    case "export": return [by, `Everything was exported to ${d.file} (${plural(d.records ?? 0, "record")}).`];
    case "prune": return [by, `Removed ${plural(d.count ?? 0, "audit entry", "audit entries")} older than the audit log's rule.`];
    default: return [by, `${String(e.action).replace(/_/g, " ")}.`];
  }
}

function renderAuditEntry(e) {
  const li = el("li", null, "entry");
  li.dataset.seq = e.seq;
  li.dataset.action = e.action;
  let d = {};
  try {
    d = JSON.parse(e.detail);
  } catch (_) {
    d = null;
  }
  const [who, text] = d && typeof d === "object" ? sentence(e, d) : [e.actor, "(details unreadable)"];
  const head = el("div", null, "entry-head");
  head.append(timeEl(e.t_ms), el("span", who, `who ${e.actor}`));
  li.append(head, el("p", text, "what"));
  const det = el("details");
  det.append(el("summary", "Details"));
  const actors = { user: "you", purge: "you (delete everything)", sweeper: "automatic, when the time to keep ran out", heyplayer: "heyplayer" };
  const info = { entry: e.seq, at_ms: e.t_ms, by: actors[e.actor] || e.actor };
  if (e.kind) info.kind = kindWords(e.kind);
  let shown = d;
  if (d && e.action === "config" && d.retention && typeof d.retention === "object") {
    shown = { ...d, retention: { from: d.retention.from ? rulesWords(d.retention.from) : "none before", to: rulesWords(d.retention.to) } };
  }
  det.append(detailList(shown && typeof shown === "object" ? { ...info, ...shown } : info));
  det.append(el("p", `Fingerprint ${e.hash.slice(0, 16)}…, chained to ${e.prev.slice(0, 16)}…`, "muted small"));
  li.append(det);
  return li;
}

async function loadAudit(more) {
  if (!more) auditPage = 1;
  const action = document.getElementById("action").value;
  const q = `/api/audit?page=${auditPage}${action ? `&action=${action}` : ""}`;
  const d = await getJson(q);
  const list = document.getElementById("audit");
  if (!more) list.replaceChildren();
  for (const e of d.entries) list.append(renderAuditEntry(e));
  document.getElementById("older").hidden = list.children.length >= d.total;
}

// ---------- data and live status ----------

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
  renderContext();
}

async function loadHours() {
  const since = Math.floor(now() / HOUR) * HOUR - 47 * HOUR;
  const d = await getJson(`/api/audit?action=capture&since_ms=${since}&limit=0`);
  hourly = d.entries.map((e) => {
    let kept = false;
    try {
      const x = JSON.parse(e.detail);
      kept = x.record !== null && x.record !== undefined;
    } catch (_) { /* counted as nothing kept */ }
    return { t_ms: e.t_ms, kept };
  });
  renderHours();
}

const STATE_WORDS = {
  idle: "waiting for “Hey, player”",
  listening: "waiting for “Hey, player”",
  awake: "heard the wake word, listening to your command",
  processing: "working on your command",
};

function showStatus(s) {
  const l = document.getElementById("listening");
  if (s.listening && s.alive) {
    l.dataset.state = "on";
    const st = s.state && STATE_WORDS[s.state.state] ? `, ${STATE_WORDS[s.state.state]}` : "";
    l.textContent = `Listening now${st} (since ${fmtWhen(s.listening.since_ms)}, on ${s.listening.input})`;
  } else {
    l.dataset.state = "off";
    if (s.listening) l.textContent = "Not listening (heyplayer ended without saying so)";
    else if (s.last_stop && s.last_stop.at_ms) l.textContent = `Not listening (stopped ${fmtWhen(s.last_stop.at_ms)})`;
    else l.textContent = "Not listening";
  }
  const c = document.getElementById("chain");
  if (s.chain.first_broken) {
    c.dataset.state = "broken";
    c.textContent = `Audit log TAMPERED WITH at entry ${s.chain.first_broken.seq}`;
  } else {
    c.dataset.state = "ok";
    c.textContent = `Audit log intact (${plural(s.chain.entries, "entry", "entries")})`;
  }
  rules = s.retention || {};
  const ul = document.getElementById("rules");
  ul.replaceChildren();
  for (const k of ["transcript", "command", "context", "raw_audio", "audit"]) {
    if (!rules[k]) continue;
    const li = el("li");
    li.append(el("strong", RULE_NAMES[k]), el("span", fmtRule(rules[k]).replace(/^kept /, "")));
    ul.append(li);
  }
  document.getElementById("status").textContent = `Stored in ${s.data_dir}: ${plural(s.records, "record")} on disk.`;
}

async function refresh() {
  const st = await getJson("/api/status");
  showStatus(st);
  await Promise.all([loadRecords(), loadAudit(false), loadHours()]);
}

async function deleteRecord(id, what) {
  if (!confirm(`Delete record ${id} (${what}) and everything kept of it? This cannot be undone.`)) return;
  await getJson(`/api/records/${id}/delete`, { method: "POST" });
  await refresh();
  document.getElementById("records-h").focus();
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
    if (s.error) {
      document.getElementById("status").textContent = `Cannot read the store: ${s.error}`;
      return;
    }
    showStatus(s);
    if (s.changed) refresh().catch(showError);
  });
}

function showError(e) {
  document.getElementById("status").textContent = `Cannot load: ${e.message || e}`;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["q", "verified", "kind", "outcome"]) {
    for (const ev of ["input", "change"]) document.getElementById(id).addEventListener(ev, renderRecords);
  }
  document.getElementById("action").addEventListener("input", () => loadAudit(false).catch(showError));
  document.getElementById("older").addEventListener("click", () => {
    auditPage++;
    loadAudit(true).catch(showError);
  });
  document.getElementById("purge").addEventListener("click", purgeAll);
  let resized = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => { renderHours(); renderContext(); }, 100);
  });
  refresh().catch(showError);
  live();
  setInterval(tickCountdowns, 1000);
});
