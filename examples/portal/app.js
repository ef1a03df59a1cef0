// kitestacks portal page: fetches the portal API with relative URLs (so it works served
// by kitestacks-portal and behind a proxy that forwards /api/), takes live updates from
// /api/events (server-sent events) and falls back to polling each card on its own timer
// when the stream is not there, pauses while the tab is hidden, and greys out only the
// card whose upstream failed. A card whose upstream is not configured is hidden and
// replaced by one line saying how to turn it on. Sparklines of the last hour (24 h, 7 d)
// come from /api/history. No build step, no external resources.
"use strict";

const PERIODS = {
  metrics: 3000,
  status: 30000,
  weather: 5 * 60000,
  activity: 60000,
  services: 5 * 60000,
  history: 60000,
  fleet: 15000,
};
const FETCH_TIMEOUT_MS = 10000;

const $ = (id) => document.getElementById(id);

/** Creates an element with a class and text (never HTML). */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** Bytes for people: binary units, "–" for null. */
function bytes(v) {
  if (!isNum(v)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[i]}`;
}

/** A rate in bytes/s; null (first sample, counter reset) is "–", never 0 or NaN. */
const rate = (v) => (isNum(v) ? `${bytes(v)}/s` : "–");

function percent(v, digits = 0) {
  return isNum(v) ? `${v.toFixed(digits)} %` : "–";
}

function duration(seconds) {
  if (!isNum(seconds)) return "–";
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m`;
}

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
function relative(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  const s = (t - Date.now()) / 1000;
  const steps = [
    ["year", 31536000],
    ["month", 2592000],
    ["week", 604800],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  for (const [unit, size] of steps) {
    if (Math.abs(s) >= size) return relativeFormat.format(Math.round(s / size), unit);
  }
  return relativeFormat.format(Math.round(s), "second");
}

function bar(pct) {
  const b = el("div", "bar");
  if (isNum(pct) && pct >= 90) b.classList.add("bad");
  else if (isNum(pct) && pct >= 75) b.classList.add("warn");
  const fill = el("span");
  fill.style.width = `${isNum(pct) ? Math.min(100, Math.max(0, pct)) : 0}%`;
  b.append(fill);
  return b;
}

/**
 * Fetches `api/<path>` as JSON. Never throws: answers {ok, status, data, reason, code,
 * message}, where reason is the error code and message of the portal's one error shape
 * (code and message apart), or the kind of network failure.
 */
async function api(path) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
  try {
    const resp = await fetch(`api/${path}`, {
      headers: { Accept: "application/json" },
      cache: "no-store",
      signal: ctrl.signal,
    });
    let data = null;
    try {
      data = await resp.json();
    } catch (_) {
      data = null;
    }
    if (!resp.ok) {
      const e = data && data.error;
      const reason = e && e.code ? `${e.code}: ${e.message}` : `HTTP ${resp.status}`;
      return { ok: false, status: resp.status, data, reason, code: e && e.code, message: e && e.message };
    }
    if (data === null) return { ok: false, status: resp.status, data, reason: "not JSON" };
    return { ok: true, status: resp.status, data, reason: null };
  } catch (err) {
    const reason = err && err.name === "AbortError" ? "timeout" : "unreachable";
    return { ok: false, status: 0, data: null, reason };
  } finally {
    clearTimeout(timer);
  }
}

/** Marks a card as working or degraded, with the reason shown on the card. */
function setDegraded(card, reason) {
  card.removeAttribute("aria-busy");
  const r = card.querySelector(":scope > .reason");
  card.classList.toggle("degraded", Boolean(reason));
  r.hidden = !reason;
  r.textContent = reason || "";
}

/** Shows (or, with `text` null, removes) the one line in #off-notes keyed `key`. */
function offNote(key, text) {
  const notes = $("off-notes");
  let note = notes.querySelector(`[data-off="${key}"]`);
  if (!text) {
    if (note) note.remove();
  } else {
    if (!note) {
      note = el("li");
      note.dataset.off = key;
      notes.append(note);
    }
    note.textContent = text;
  }
  notes.hidden = notes.children.length === 0;
}

/**
 * Hides a card that is turned off in the configuration and shows, instead, one line
 * saying so (`off`, "Weather is off") and how to turn it on (`how`, the portal's hint);
 * `how` null shows the card again.
 */
function setOff(card, off, how) {
  card.removeAttribute("aria-busy");
  card.hidden = Boolean(how);
  offNote(card.id, how ? `${off} — ${how}` : null);
}

/**
 * Applies an upstream route's answer to its card: off (503 not_configured: `off` and the
 * portal's hint), degraded with the reason, or rendered. Answers whether to render.
 */
function settle(card, off, r) {
  if (!r.ok && r.status === 503 && r.code === "not_configured") {
    setOff(card, off, r.message);
    return false;
  }
  setOff(card, off, null);
  if (!r.ok) {
    setDegraded(card, r.reason);
    return false;
  }
  return true;
}

/** The reason a cached upstream answer is stale, if it is. */
function staleReason(data) {
  if (!data || !data.stale) return null;
  const e = data.error;
  const what = e ? `${e.kind}: ${e.message}` : "upstream failed";
  return `stale (${duration(data.age_seconds)} old): ${what}`;
}

// ------------------------------------------------------------------------- metrics

function renderMetrics(m) {
  const host = m.host || {};
  $("hostname").textContent = host.hostname || "?";
  $("answered-by").textContent = host.hostname || "?";
  const os = [host.os_pretty_name || host.os_name, host.kernel_release].filter(Boolean);
  $("host-os").textContent = os.join(" · ");
  $("uptime").textContent = duration(host.uptime_seconds);

  const cpu = m.cpu;
  $("cpu-busy").textContent = cpu ? percent(cpu.busy_percent) : "–";
  const cores = $("cores");
  const per = (cpu && cpu.per_core_busy_percent) || [];
  while (cores.children.length > per.length) cores.lastChild.remove();
  while (cores.children.length < per.length) {
    const c = el("div", "core");
    c.append(el("span"));
    cores.append(c);
  }
  per.forEach((p, i) => {
    const c = cores.children[i];
    c.title = `core ${i}: ${percent(p)}`;
    c.firstChild.style.height = `${isNum(p) ? Math.min(100, Math.max(0, p)) : 0}%`;
  });

  const mem = m.memory;
  $("mem-used").textContent = mem ? percent(mem.used_percent) : "–";
  $("mem-detail").textContent = mem
    ? `${bytes(mem.used_bytes)} of ${bytes(mem.total_bytes)} used · ${bytes(mem.available_bytes)} available`
    : "–";
  const swap = m.swap;
  $("swap-detail").textContent = !swap
    ? "–"
    : swap.total_bytes > 0
      ? `${bytes(swap.used_bytes)} of ${bytes(swap.total_bytes)} (${percent(swap.used_percent)})`
      : "none";
  const load = m.load;
  $("load").textContent = load ? load.load1.toFixed(2) : "–";
  if (load) {
    $("load").title = `1, 5, 15 min: ${load.load1.toFixed(2)} ${load.load5.toFixed(2)} ${load.load15.toFixed(2)}`;
  }
  const net = m.network || {};
  $("net-detail").textContent = `↓ ${rate(net.receive_bytes_per_second)}  ↑ ${rate(net.transmit_bytes_per_second)}`;

  const list = $("filesystems");
  const items = (m.filesystems || []).map((fs) => {
    const li = el("li");
    const line = el("div", "line");
    const mount = el("span", "mount", fs.mount_point);
    mount.title = `${fs.device} (${fs.fs_type})`;
    line.append(
      mount,
      el("span", "size", `${bytes(fs.used_bytes)} / ${bytes(fs.size_bytes)} · ${percent(fs.used_percent)}`),
    );
    li.append(line, bar(fs.used_percent), sparkSlot(`filesystem.used_percent[${fs.mount_point}]`));
    return li;
  });
  if (items.length === 0) items.push(el("li", "muted", "none reported"));
  list.replaceChildren(...items);
}

async function refreshMetrics() {
  if (liveFresh()) return; // the event stream brings every sample
  const r = await api("metrics");
  const card = $("host-card");
  if (!r.ok) return setDegraded(card, r.reason);
  renderMetrics(r.data);
  setDegraded(card, null);
}

// ------------------------------------------------------------------------- weather

function renderWeather(resp) {
  const w = resp.weather;
  const imperial = resp.units === "imperial";
  const temp = (c, f) => {
    const v = imperial ? f : c;
    return isNum(v) ? `${Math.round(v)} °${imperial ? "F" : "C"}` : "–";
  };
  $("weather-place").textContent = [w.location, w.country].filter(Boolean).join(", ");
  $("weather-temp").textContent = temp(w.temperature_celsius, w.temperature_fahrenheit);
  $("weather-desc").textContent = w.description || "";
  const wind = imperial
    ? `${Math.round(w.wind_speed_kmh / 1.609344)} mph`
    : `${Math.round(w.wind_speed_kmh)} km/h`;
  const facts = [
    ["Feels like", temp(w.feels_like_celsius, w.feels_like_fahrenheit)],
    ["Humidity", percent(w.humidity_percent)],
    ["Wind", `${wind} ${w.wind_direction_compass || ""}`.trim()],
  ];
  if (w.today) {
    const f = (c) => (imperial ? (c * 9) / 5 + 32 : c);
    const unit = imperial ? "°F" : "°C";
    facts.push(["Today", `${Math.round(f(w.today.min_celsius))} to ${Math.round(f(w.today.max_celsius))} ${unit}`]);
    if (w.today.sunrise_local && w.today.sunset_local) {
      facts.push(["Sun", `${w.today.sunrise_local} – ${w.today.sunset_local}`]);
    }
  }
  facts.push(["Observed", w.observed_local]);
  const dl = $("weather-facts");
  dl.replaceChildren(...facts.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));
}

async function refreshWeather() {
  const r = await api("weather");
  const card = $("weather-card");
  if (!settle(card, "Weather is off", r)) return;
  renderWeather(r.data);
  setDegraded(card, staleReason(r.data));
}

// ------------------------------------------------------------------------ activity

function renderActivity(resp) {
  const items = (resp.commits || []).map((c) => {
    const li = el("li");
    const title = el("a", "title", c.title);
    title.href = c.html_url;
    title.rel = "noopener";
    const meta = el("div", "meta");
    meta.append(el("span", null, `${c.repo} · `), el("code", null, c.short_sha), el("span", null, ` · ${c.author} · ${relative(c.date)}`));
    meta.title = c.date;
    li.append(title, meta);
    return li;
  });
  if (items.length === 0) items.push(el("li", "muted", "no commits yet"));
  $("commits").replaceChildren(...items);
}

async function refreshActivity() {
  const r = await api("activity");
  const card = $("activity-card");
  if (!settle(card, "Recent commits are off", r)) return;
  renderActivity(r.data);
  setDegraded(card, staleReason(r.data));
}

// ------------------------------------------------------------------------ services

const AUTH = {
  oidc: "SSO (OIDC)",
  "forward-auth": "SSO (forward auth)",
  "own-login": "own login",
  none: "no sign-in",
};
const serviceCards = new Map(); // service id -> card element
let servicesLoaded = false;
let lastStatus = null;

function serviceCard(s) {
  const card = el("article", "service");
  card.dataset.service = s.id;
  const head = el("div", "head");
  const dot = el("span", "dot unknown");
  dot.title = "status unknown";
  dot.setAttribute("role", "img");
  dot.setAttribute("aria-label", "status unknown");
  const name = s.url ? el("a", "name", s.name) : el("span", "name", s.name);
  if (s.url) {
    name.href = s.url;
    name.rel = "noopener";
  }
  head.append(dot, name, el("span", "latency"));
  head.append(sparkSlot(`probe.latency_ms[${s.id}]`));
  const why = el("p", "why");
  why.hidden = true;
  const uptime = el("p", "uptime");
  uptime.hidden = true;
  const tags = el("div", "tags");
  for (const h of s.hosts || []) tags.append(el("span", "tag", h));
  tags.append(el("span", "tag", AUTH[s.auth] || s.auth));
  if (s.visibility === "internal") tags.append(el("span", "tag", "internal"));
  card.append(head, why, uptime, el("p", "desc", s.description), tags);
  return card;
}

function renderServices(reg) {
  if (reg.homelab) {
    $("homelab").textContent = reg.homelab;
    document.title = reg.homelab;
  }
  serviceCards.clear();
  const groups = (reg.categories || []).map((cat) => {
    const members = (reg.services || []).filter((s) => s.category === cat.id);
    if (members.length === 0) return null;
    const section = el("section", "group");
    section.dataset.category = cat.id;
    const grid = el("div", "service-grid");
    for (const s of members) {
      const card = serviceCard(s);
      serviceCards.set(s.id, card);
      grid.append(card);
    }
    section.append(el("h2", null, cat.title), grid);
    return section;
  });
  $("service-groups").replaceChildren(...groups.filter(Boolean));
  applyStatus(lastStatus);
}

async function refreshServices() {
  const r = await api("services");
  const section = $("services");
  if (!r.ok) {
    if (!servicesLoaded) setDegraded(section, r.reason);
    return;
  }
  servicesLoaded = true;
  renderServices(r.data);
  setDegraded(section, null);
}

const latency = (ms) => (ms < 1 ? "<1 ms" : `${Math.round(ms)} ms`);

/** A probe failure's name (as /api/status, /api/activity and the log name it) explained. */
const FAILURES = {
  timeout: "no answer in time",
  refused: "connection refused",
  dns: "host name did not resolve",
  tls: "TLS handshake failed",
  connection: "connection failed",
};

/** A probe's failure_reason (as /api/status, /metrics and the log name it) explained. */
const REASONS = {
  dns_not_found: "the name does not exist",
  dns_timeout: "the resolver did not answer",
  dns_mismatch: "not the expected address",
  connect_refused: "nothing listens on the port",
  connect_timeout: "the connection was not accepted in time",
  connect_failed: "network or host unreachable",
  tls_handshake: "TLS handshake failed",
  tls_expired: "the certificate has expired",
  tls_untrusted: "the certificate is not trusted",
  tls_hostname: "the certificate is for another name",
  body_mismatch: "the answer lacks the expected text",
  timeout: "no answer in time",
  protocol: "the connection broke off",
  icmp_no_reply: "no echo reply",
  icmp_not_permitted: "this server may not ping",
  missed_heartbeat: "the job did not report in time",
  pushed_down: "the job reported a failure",
};

/** Why a down service is down, for its card: "down · dns not found — the name does not exist". */
function downReason(s) {
  const reason = s.failure_reason || s.error;
  const name = reason || "unknown failure";
  const detail = (reason === "http_status" || reason === "unexpected_status") && s.http_status
    ? `HTTP ${s.http_status}` : REASONS[reason] || FAILURES[reason];
  return `down · ${name.replace(/_/g, " ")}${detail ? ` — ${detail}` : ""}`;
}

const uptimePercent = (r) => `${Math.floor(r * 1000) / 10}%`;

/** A card's uptime line: "uptime 24h 100% · 30d 99.9% · last down 3 Dec 10:31 (timeout)". */
function uptimeLine(s) {
  const u = (s && s.uptime) || {};
  const parts = [["24h", u["24h"]], ["30d", u["30d"]]].filter(([, r]) => isNum(r)).map(([w, r]) => `${w} ${uptimePercent(r)}`);
  if (parts.length === 0) return "";
  let line = `uptime ${parts.join(" · ")}`;
  const last = s.incidents && s.incidents[0];
  if (last && isNum(last.start_seconds)) {
    const at = new Date(last.start_seconds * 1000).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    line += ` · last down ${at} (${last.reason.replace(/_/g, " ")})`;
  }
  return line;
}

const STATE_LABELS = {
  up: "up",
  down: "down",
  unprobed: "not probed",
  unknown: "status unknown",
};

/**
 * Paints each service's dot and, when it is down, its reason on the card: `unprobed` when
 * probing is off or the service has no probe, `unknown` until the first result.
 */
function applyStatus(status) {
  const byId = new Map();
  for (const s of (status && status.services) || []) byId.set(s.id, s);
  const probing = Boolean(status && status.enabled !== false);
  for (const [id, card] of serviceCards) {
    const s = byId.get(id);
    let state = "unknown";
    if (status && (!probing || !s)) state = "unprobed";
    else if (s && (s.state === "up" || s.state === "down")) state = s.state;
    const dot = card.querySelector(".dot");
    dot.className = `dot ${state}`;
    let label = STATE_LABELS[state];
    if (state === "up" && s.http_status) label += ` (HTTP ${s.http_status})`;
    const why = card.querySelector(".why");
    why.hidden = state !== "down";
    why.textContent = state === "down" ? downReason(s) : "";
    if (state === "down") label = why.textContent;
    dot.title = label;
    dot.setAttribute("aria-label", label);
    card.dataset.state = state;
    card.querySelector(".latency").textContent =
      state === "up" && isNum(s.latency_ms) ? latency(s.latency_ms) : "";
    const uptime = card.querySelector(".uptime");
    uptime.textContent = state === "unprobed" ? "" : uptimeLine(s);
    uptime.hidden = uptime.textContent === "";
  }
}

async function refreshStatus() {
  const r = await api("status");
  lastStatus = r.ok ? r.data : null;
  applyStatus(lastStatus);
  const off = r.ok && r.data.enabled === false;
  offNote("status", off ? "Status probes are off — set [status] enabled = true to see which services are up" : null);
  if (r.ok && isNum(r.data.interval_seconds) && r.data.interval_seconds >= 5) {
    tasks.status.period = r.data.interval_seconds * 1000;
  }
}

// -------------------------------------------------------------------------- history

let historyRange = "1h";
const sparkNodes = new Map(); // series name -> its sparkline's element, kept across renders

/**
 * The element a series' sparkline is drawn in: the same one every time it is asked for,
 * so cards that re-render keep their sparklines.
 */
function sparkSlot(series) {
  let node = sparkNodes.get(series);
  if (!node) {
    node = el("span", "spark");
    node.dataset.series = series;
    sparkNodes.set(series, node);
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

/**
 * An inline SVG sparkline of `[t, min, avg, max]` points: the average as a line, the
 * min-max band behind it, and a gap wherever a point is null (no sample: the portal was
 * down, a rate was unknown), never a line drawn across it.
 */
function sparkline(points, unit) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 20");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "sparkline");
  const known = points.filter((p) => isNum(p[2]));
  const top = unit === "percent" || unit === "up" ? 100 : Math.max(1e-9, ...known.map((p) => p[3]));
  const scale = unit === "up" ? 100 : 1;
  const n = Math.max(1, points.length - 1);
  const x = (i) => ((i / n) * 100).toFixed(2);
  const y = (v) => (20 - (Math.min(top, Math.max(0, v * scale)) / top) * 19 - 0.5).toFixed(2);
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    const band = document.createElementNS(SVG, "polygon");
    band.setAttribute("class", "band");
    const upper = run.map(([i, p]) => `${x(i)},${y(p[3])}`);
    const lower = run.map(([i, p]) => `${x(i)},${y(p[1])}`).reverse();
    band.setAttribute("points", upper.concat(lower).join(" "));
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("class", "line");
    const pts = run.map(([i, p]) => `${x(i)},${y(p[2])}`);
    if (pts.length === 1) pts.push(pts[0].replace(/^[\d.]+/, (v) => String(Number(v) + 0.8)));
    line.setAttribute("points", pts.join(" "));
    svg.append(band, line);
    run = [];
  };
  points.forEach((p, i) => {
    if (isNum(p[2])) run.push([i, p]);
    else flush();
  });
  flush();
  const last = known.length ? known[known.length - 1] : null;
  const title = document.createElementNS(SVG, "title");
  title.textContent = last ? `last ${historyRange}: now ${formatValue(last[2], unit)}, peak ${formatValue(Math.max(...known.map((p) => p[3])), unit)}` : `no history for the last ${historyRange}`;
  svg.append(title);
  return svg;
}

function formatValue(v, unit) {
  if (unit === "percent") return percent(v);
  if (unit === "bytes_per_second") return rate(v);
  if (unit === "bytes") return bytes(v);
  if (unit === "milliseconds") return latency(v);
  if (unit === "up") return v >= 0.5 ? "up" : "down";
  return isNum(v) ? v.toFixed(2) : "–";
}

/** Draws every sparkline on the page from /api/history (only the series it holds). */
async function refreshHistory() {
  for (const dd of document.querySelectorAll("#sparks dd[data-series]")) {
    if (!dd.firstChild) dd.append(sparkSlot(dd.dataset.series));
  }
  const index = await api("history");
  if (!index.ok) return;
  const held = new Map((index.data.series || []).map((s) => [s.name, s.unit]));
  for (const [series, node] of sparkNodes) {
    if (!node.isConnected) continue;
    if (!held.has(series)) {
      node.replaceChildren();
      continue;
    }
    const r = await api(`history?series=${encodeURIComponent(series)}&range=${historyRange}`);
    if (r.ok) node.replaceChildren(sparkline(r.data.points || [], r.data.unit));
  }
}

$("range").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-range]");
  if (!button) return;
  historyRange = button.dataset.range;
  for (const b of $("range").querySelectorAll("button")) {
    b.setAttribute("aria-pressed", String(b === button));
  }
  tick(tasks.history);
  tick(tasks.fleetHistory);
});

// --------------------------------------------------------------------------- fleet
// /api/fleet (with [fleet] configured): a strip of host cards at the top, the answering
// host marked; a click shows that host's figures and sparklines from
// /api/fleet/{host}/history. Without [fleet] (503 not_configured) the strip stays hidden.
// When Prometheus fails, the last answer stays with each card greyed and why; the
// service cards say when a service is down from some hosts only (not an outage).

let fleetHosts = new Map(); // host -> its latest figures
let fleetOpen = null; // the host whose detail is shown

function hostCard(h, stale) {
  const b = el("button", "host-card");
  b.type = "button";
  b.dataset.host = h.host;
  b.setAttribute("aria-pressed", String(fleetOpen === h.host));
  b.classList.toggle("stale", stale || h.stale);
  const state = h.up === true ? "up" : h.up === false ? "down" : "unknown";
  const dot = el("span", `dot ${state}`);
  dot.setAttribute("role", "img");
  dot.setAttribute("aria-label", state);
  const head = el("div", "head");
  head.append(dot, el("span", "name", h.host));
  if (h.this_host) head.append(el("span", "here", "answered"));
  const figs = el("div", "figs");
  for (const [label, value] of [
    ["CPU", percent(h.cpu_busy_percent)],
    ["Mem", percent(h.memory_used_percent)],
    ["Disk /", percent(h.root_used_percent)],
    ["Up", duration(h.uptime_seconds)],
  ]) {
    const f = el("span", null, `${label} `);
    f.append(el("b", null, value));
    figs.append(f);
  }
  b.append(head, figs);
  if (h.up !== true) {
    const seen = isNum(h.age_seconds) ? `last scrape ${duration(h.age_seconds)} ago` : "never scraped";
    b.append(el("p", "why", h.up === false ? `scrape failing; ${seen}` : "no data in Prometheus"));
  }
  return b;
}

function renderFleetDetail() {
  const panel = $("fleet-detail");
  const h = fleetOpen && fleetHosts.get(fleetOpen);
  panel.hidden = !h;
  if (!h) return;
  $("fleet-detail-name").textContent = h.host + (h.this_host ? " (answered)" : "");
  const facts = $("fleet-detail-facts");
  facts.replaceChildren();
  const rows = [
    ["CPU", percent(h.cpu_busy_percent)],
    ["Memory", percent(h.memory_used_percent)],
    ["Swap", percent(h.swap_used_percent)],
    ["Load", isNum(h.load1) ? h.load1.toFixed(2) : "–"],
    ["Network", `↓ ${rate(h.network_receive_bytes_per_second)} ↑ ${rate(h.network_transmit_bytes_per_second)}`],
    ["Uptime", duration(h.uptime_seconds)],
  ];
  for (const fs of h.filesystems || []) rows.push([fs.mount_point, percent(fs.used_percent)]);
  for (const [k, v] of rows) facts.append(el("dt", null, k), el("dd", null, v));
}

async function refreshFleetHistory() {
  const host = fleetOpen;
  if (!host) return;
  for (const dd of $("fleet-sparks").querySelectorAll("dd[data-series]")) {
    const q = `series=${encodeURIComponent(dd.dataset.series)}&range=${historyRange}`;
    const r = await api(`fleet/${encodeURIComponent(host)}/history?${q}`);
    if (host !== fleetOpen) return;
    dd.replaceChildren(r.ok ? sparkline(r.data.points || [], r.data.unit) : el("span", "muted", r.reason));
  }
}

/** Notes on the service cards what every probing host saw, when they disagree. */
function applyChecks(checks) {
  const byId = new Map((checks || []).map((c) => [c.service, c]));
  for (const [id, card] of serviceCards) {
    const c = byId.get(id);
    const partial = Boolean(c && c.state === "partial");
    card.classList.toggle("partial", partial);
    let note = card.querySelector(".fleet-note");
    if (!partial) {
      if (note) note.remove();
      continue;
    }
    if (!note) {
      note = el("p", "fleet-note");
      card.querySelector(".head").after(note);
    }
    const down = c.hosts.filter((h) => !h.up).map((h) => h.host);
    note.textContent = `down from ${down.join(", ")} only; up from the other hosts`;
  }
}

async function refreshFleet() {
  const section = $("fleet");
  const r = await api("fleet");
  if (!r.ok && r.status === 503 && r.code === "not_configured") {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const reason = section.querySelector(":scope > .reason");
  const why = r.ok ? staleReason(r.data) : `hosts: ${r.reason}`;
  reason.hidden = !why;
  reason.textContent = why || "";
  const strip = $("host-strip");
  if (!r.ok) {
    // Keep the last cards, greyed: Prometheus (or the portal) did not answer.
    for (const b of strip.querySelectorAll(".host-card")) b.classList.add("stale");
    return;
  }
  fleetHosts = new Map((r.data.hosts || []).map((h) => [h.host, h]));
  strip.replaceChildren(
    ...(r.data.hosts || []).map((h) => {
      const li = el("li");
      li.append(hostCard(h, r.data.stale));
      return li;
    }),
  );
  renderFleetDetail();
  applyChecks(r.data.checks);
}

$("host-strip").addEventListener("click", (e) => {
  const card = e.target.closest(".host-card");
  if (!card) return;
  fleetOpen = fleetOpen === card.dataset.host ? null : card.dataset.host;
  for (const b of $("host-strip").querySelectorAll(".host-card")) {
    b.setAttribute("aria-pressed", String(b.dataset.host === fleetOpen));
  }
  renderFleetDetail();
  refreshFleetHistory();
});

// ------------------------------------------------------------------------ containers

/** Seconds: an OOM kill this recent marks its container. */
const RECENT_OOM_S = 3600;

/** Why a container stands out (near its memory limit, a recent OOM kill, unhealthy), or "". */
function containerAlert(c) {
  const why = [];
  const m = c.memory || {};
  if (isNum(m.percent_of_limit) && m.percent_of_limit >= 90) why.push(`${percent(m.percent_of_limit)} of its limit`);
  if (isNum(m.last_oom_kill_seconds) && Date.now() / 1000 - m.last_oom_kill_seconds < RECENT_OOM_S) {
    why.push(`OOM kill ${relative(new Date(m.last_oom_kill_seconds * 1000).toISOString())}`);
  }
  if (c.health === "unhealthy") why.push("unhealthy");
  return why.join(", ");
}

/** One row: name, figure, a bar, and why it stands out. */
function containerRow(c, figure, pct) {
  const li = el("li");
  const why = containerAlert(c);
  if (why) li.classList.add("alert");
  const line = el("div", "line");
  const name = el("span", "name", c.name);
  name.title = [c.image, c.id, c.state, c.health].filter(Boolean).join(" · ");
  line.append(name, el("span", "fig", figure));
  li.append(line, bar(pct));
  if (why) li.append(el("div", "why", why));
  return li;
}

const TOP_CONTAINERS = 5;

function renderContainers(d) {
  const card = $("containers-card");
  const list = (d && d.containers) || [];
  card.hidden = list.length === 0;
  card.removeAttribute("aria-busy");
  $("containers-count").textContent = list.length ? String(list.length) : "";
  const cpu = (c) => (c.cpu && isNum(c.cpu.percent_of_one_core) ? c.cpu.percent_of_one_core : -1);
  const mem = (c) => (c.memory ? c.memory.working_set_bytes : -1);
  const top = (key) => [...list].sort((a, b) => key(b) - key(a)).slice(0, TOP_CONTAINERS);
  $("containers-cpu").replaceChildren(
    ...top(cpu).map((c) => {
      const p = c.cpu || {};
      const limit = isNum(p.limit_cores) ? ` of ${p.limit_cores} cores` : "";
      return containerRow(c, `${percent(p.percent_of_one_core, 1)}${limit}`, isNum(p.percent_of_limit) ? p.percent_of_limit : p.percent_of_one_core);
    }),
  );
  $("containers-mem").replaceChildren(
    ...top(mem).map((c) => {
      const m = c.memory || {};
      const limit = isNum(m.limit_bytes) ? ` / ${bytes(m.limit_bytes)}` : "";
      return containerRow(c, `${bytes(m.working_set_bytes)}${limit}`, m.percent_of_limit);
    }),
  );
}

async function refreshContainers() {
  if (liveFresh()) return; // the event stream brings them with each sample
  const r = await api("containers");
  if (r.ok) {
    renderContainers(r.data);
    setDegraded($("containers-card"), null);
  } else if (r.status !== 404) setDegraded($("containers-card"), r.reason);
}

// ---------------------------------------------------------------------- live updates

let live = null; // the EventSource while the tab is visible
let lastEventAt = 0;
let sampleEvery = PERIODS.metrics;
window.kitestacks = { events: 0, sparkline };

/** Whether the event stream delivered recently enough that polling can rest. */
function liveFresh() {
  return live !== null && Date.now() - lastEventAt < 3 * Math.max(sampleEvery, 1000);
}

function markUpdated() {
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

/** Opens /api/events; without it (an older portal, a proxy that buffers) polling goes on. */
function startLive() {
  if (live || !("EventSource" in window)) return;
  const es = new EventSource("api/events");
  live = es;
  es.addEventListener("sample", (e) => {
    lastEventAt = Date.now();
    window.kitestacks.events++;
    const m = JSON.parse(e.data);
    if (isNum(m.interval_seconds)) sampleEvery = m.interval_seconds * 1000;
    renderMetrics(m);
    setDegraded($("host-card"), null);
    markUpdated();
  });
  es.addEventListener("status", (e) => {
    lastEventAt = Date.now();
    window.kitestacks.events++;
    lastStatus = JSON.parse(e.data);
    applyStatus(lastStatus);
  });
  // An upstream's cache changed (another visitor's request refreshed it).
  es.addEventListener("activity", (e) => {
    const d = JSON.parse(e.data);
    const card = $("activity-card");
    setOff(card, "Recent commits are off", null);
    renderActivity(d);
    setDegraded(card, staleReason(d));
  });
  es.addEventListener("weather", (e) => {
    const d = JSON.parse(e.data);
    const card = $("weather-card");
    setOff(card, "Weather is off", null);
    renderWeather(d);
    setDegraded(card, staleReason(d));
  });
  es.addEventListener("containers", (e) => renderContainers(JSON.parse(e.data)));
  // Events were missed and are gone: fetch everything again.
  es.addEventListener("reset", () => startAll());
  es.addEventListener("error", () => {
    // EventSource reconnects by itself; a refusal (404, 503) closes it: poll instead.
    if (es.readyState === EventSource.CLOSED && live === es) live = null;
  });
}

function stopLive() {
  if (live) live.close();
  live = null;
}

// ----------------------------------------------------------------------- scheduling

const tasks = {
  metrics: { run: refreshMetrics, period: PERIODS.metrics },
  weather: { run: refreshWeather, period: PERIODS.weather },
  activity: { run: refreshActivity, period: PERIODS.activity },
  services: { run: refreshServices, period: PERIODS.services },
  status: { run: refreshStatus, period: PERIODS.status },
  history: { run: refreshHistory, period: PERIODS.history },
  fleet: { run: refreshFleet, period: PERIODS.fleet },
  fleetHistory: { run: refreshFleetHistory, period: PERIODS.history },
  containers: { run: refreshContainers, period: PERIODS.metrics },
};

/** Runs a task now, then again `period` after it finished; stops while the tab is hidden. */
async function tick(task) {
  clearTimeout(task.timer);
  task.timer = undefined;
  if (task.running) {
    task.again = true; // asked for while it runs (a new range): run once more after
    return;
  }
  task.running = true;
  try {
    do {
      task.again = false;
      await task.run();
    } while (task.again);
  } catch (_) {
    // a rendering bug must not stop the timers; the card keeps its last state
  } finally {
    task.running = false;
  }
  if (!document.hidden) task.timer = setTimeout(() => tick(task), task.period);
  if (task === tasks.metrics && !liveFresh()) markUpdated();
}

function startAll() {
  startLive();
  for (const task of Object.values(tasks)) tick(task);
}

function stopAll() {
  stopLive();
  for (const task of Object.values(tasks)) {
    clearTimeout(task.timer);
    task.timer = undefined;
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) stopAll();
  else startAll();
});

// services first so status dots have cards to land on; the others in parallel
refreshServices().finally(() => {
  tasks.services.timer = setTimeout(() => tick(tasks.services), PERIODS.services);
  tick(tasks.status);
});
startLive();
tick(tasks.metrics);
tick(tasks.weather);
tick(tasks.activity);
tick(tasks.history);
tick(tasks.fleet);
tick(tasks.fleetHistory);
tick(tasks.containers);
