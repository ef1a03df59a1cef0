// Real-browser check of the portal page: Debian's headless Chromium, driven by
// playwright-core, loads the page from a running portal and checks what a person sees.
// Every request the browser makes outside 127.0.0.1 is aborted and fails the check.
// SCENARIO=live (the default) expects working weather, a degraded commits card and the
// probes of EXPECT_STATUS / EXPECT_REASONS; SCENARIO=first-run expects probes, Forgejo and
// weather off, each saying in one line how to turn it on; SCENARIO=containers is the first
// run on a host with the containers of .ci/cgroup_ticker.py, and checks their card too.
//
// usage: node portal.mjs BASE_URL SCREENSHOT.png [NARROW_SCREENSHOT.png]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, shot, narrowShot] = process.argv.slice(2);
if (!base || !shot) {
  console.error("usage: node portal.mjs BASE_URL SCREENSHOT.png [NARROW_SCREENSHOT.png]");
  process.exit(2);
}
const expectHostname = process.env.EXPECT_HOSTNAME;
const expectTemp = process.env.EXPECT_TEMPERATURE; // e.g. "9 °C"
const containersRun = process.env.SCENARIO === "containers";
const firstRun = process.env.SCENARIO === "first-run" || containersRun;

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}

const profile = mkdtempSync(join(tmpdir(), "kitestacks-chromium-"));
// launchPersistentContext is playwright's way to pass --user-data-dir (a fresh one).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // The machine's network is closed: without these Chromium keeps trying to reach
  // Google's services (component updates, sync, QUIC probes) and floods refused
  // connections. A fresh profile per run keeps the check reproducible.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});

try {
  const offLoopback = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.hostname === "127.0.0.1") return route.continue();
    offLoopback.push(url.href);
    return route.abort();
  });

  const page = await context.newPage();
  const consoleErrors = [];
  // The degraded activity card's own failed request; in the first run, the 503s of the
  // routes that are off.
  const expectedFailures = [];
  const expectedFailing = firstRun ? ["/api/activity", "/api/weather", "/api/fleet"] : ["/api/activity"];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const where = msg.location().url || "";
    // Chromium logs every 4xx/5xx fetch as "Failed to load resource"; the one the test
    // provokes on purpose (Forgejo is broken, so /api/activity answers 502) is expected.
    if (msg.text().startsWith("Failed to load resource") && expectedFailing.some((p) => where.endsWith(p))) {
      expectedFailures.push(where);
      return;
    }
    consoleErrors.push(`${msg.text()} (${where})`);
  });
  page.on("pageerror", (err) => consoleErrors.push(`pageerror: ${err.message}`));

  const resp = await page.goto(`${base}/`, { waitUntil: "load" });
  check("the page loads", resp && resp.status() === 200, resp && String(resp.status()));

  // host card: real host name and live numbers
  await page.waitForFunction(() => {
    const h = document.getElementById("hostname").textContent;
    return h && h !== "…" && document.querySelector("#filesystems li");
  }, null, { timeout: 15000 }).catch(() => {});
  const hostname = (await page.textContent("#hostname")).trim();
  check("host card shows the host name", hostname.length > 0 && hostname !== "…" &&
    (!expectHostname || hostname === expectHostname), `${hostname} (expected ${expectHostname})`);
  check("header says which host answered", (await page.textContent("#answered-by")).trim() === hostname);
  const mem = (await page.textContent("#mem-used")).trim();
  check("memory shows a percentage", /^\d+ %$/.test(mem), mem);
  const memDetail = (await page.textContent("#mem-detail")).trim();
  check("memory detail is in binary units", /[KMGT]iB of [\d.]+ [KMGT]iB used/.test(memDetail), memDetail);
  // the CPU share needs two samples: wait for the next refresh
  await page.waitForFunction(() => /^\d+ %$/.test(document.getElementById("cpu-busy").textContent), null,
    { timeout: 15000 }).catch(() => {});
  const cpu = (await page.textContent("#cpu-busy")).trim();
  check("CPU shows a percentage", /^\d+ %$/.test(cpu), cpu);
  check("a bar per core", (await page.locator("#cores .core").count()) > 0);
  const net = (await page.textContent("#net-detail")).trim();
  check("network rates are formatted or –, never NaN", !/NaN|undefined/.test(net) && /↓ .+ ↑ .+/.test(net), net);
  const body = await page.textContent("body");
  check("no NaN or undefined anywhere", !/NaN|undefined/.test(body));

  if (containersRun) {
    // .ci/cgroup_ticker.py's containers: their CPU shares need two samples.
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll("#containers-cpu li");
      return rows.length === 4 && /^\d/.test(rows[3].querySelector(".fig").textContent);
    }, null, { timeout: 15000 }).catch(() => {});
    const rows = async (list) => page.$$eval(`#${list} li`, (lis) => lis.map((li) => ({
      name: li.querySelector(".name").textContent,
      fig: li.querySelector(".fig").textContent,
      why: li.classList.contains("alert") ? li.querySelector(".why").textContent : "",
    })));
    const cpuRows = await rows("containers-cpu");
    const memRows = await rows("containers-mem");
    check("the containers card counts them", await page.isVisible("#containers-card") &&
      (await page.textContent("#containers-count")).trim() === "4", await page.textContent("#containers-count"));
    const shares = cpuRows.map((r) => [r.name, parseFloat(r.fig)]);
    const wantShares = [["authentik-server", 40], ["forgejo", 20], ["karakeep", 10], ["grafana", 5]];
    // The ticker's writes lag its clock by up to a tick and a busy machine delays them,
    // so one interval's shares can be off by a quarter; their ratios cannot (one write
    // covers all four).
    check("top CPU in order, as shares of one core",
      shares.length === 4 && shares[0][1] > 25 && shares[0][1] < 60 &&
        shares.every(([n, v], i) => n === wantShares[i][0] &&
          Math.abs(v / shares[0][1] - wantShares[i][1] / wantShares[0][1]) < 0.05),
      JSON.stringify(shares));
    check("top memory in order, with limits where there are",
      JSON.stringify(memRows.map((r) => [r.name, r.fig])) === JSON.stringify([
        ["authentik-server", "950 MiB / 1.00 GiB"], ["forgejo", "300 MiB"],
        ["grafana", "200 MiB / 512 MiB"], ["karakeep", "100 MiB / 2.00 GiB"]]),
      JSON.stringify(memRows));
    const why = Object.fromEntries(memRows.map((r) => [r.name, r.why]));
    check("a container near its memory limit stands out", why["authentik-server"] === "93 % of its limit",
      why["authentik-server"]);
    check("a recent OOM kill stands out", /^OOM kill /.test(why.grafana), why.grafana);
    check("an unhealthy container stands out", why.forgejo === "unhealthy", why.forgejo);
    check("the others do not", why.karakeep === "", why.karakeep);
  }

  if (firstRun) {
    // weather and commits are off: their cards give way to one line each
    await page.waitForFunction(() => document.querySelectorAll("#off-notes li").length >= 3, null,
      { timeout: 15000 }).catch(() => {});
    const notes = await page.$$eval("#off-notes li", (ls) => Object.fromEntries(ls.map((l) => [l.dataset.off, l.textContent])));
    const want = {
      "weather-card": "Weather is off — set [weather] location to show the weather",
      "activity-card": "Recent commits are off — set [forgejo] url to show recent commits",
      status: "Status probes are off — set [status] enabled = true to see which services are up",
    };
    check("each part that is off says in one line how to turn it on", JSON.stringify(notes) === JSON.stringify(want),
      JSON.stringify(notes));
    check("the off notes are visible", await page.isVisible("#off-notes"));
    check("the weather card is hidden", !(await page.isVisible("#weather-card")));
    check("the commits card is hidden", !(await page.isVisible("#activity-card")));
    check("no greyed-out card", (await page.locator(".card.degraded").count()) === 0);
    const visibleDashes = await page.evaluate(() => [...document.querySelectorAll(".card:not([hidden]) .value, .card:not([hidden]) dd")]
      .filter((e) => e.offsetParent !== null && e.textContent.trim() === "–").map((e) => e.id || e.className));
    check("no stray – on the page", visibleDashes.length === 0, visibleDashes.join(" "));
  } else {
  // weather: the fixture's temperature
  await page.waitForFunction(() => document.getElementById("weather-temp").textContent !== "–", null,
    { timeout: 10000 }).catch(() => {});
  const temp = (await page.textContent("#weather-temp")).trim();
  check("weather shows the fixture's temperature", expectTemp ? temp === expectTemp : /°[CF]$/.test(temp),
    `${temp} (expected ${expectTemp})`);
  check("weather card is not degraded", !(await page.locator("#weather-card.degraded").count()));

  // activity: Forgejo is broken, so the card is degraded with a reason; the rest works
  await page.waitForSelector("#activity-card.degraded", { timeout: 15000 }).catch(() => {});
  check("activity card is degraded", (await page.locator("#activity-card.degraded").count()) === 1);
  const reason = (await page.textContent("#activity-card > .reason")).trim();
  check("activity card says why", /bad_upstream|upstream_timeout|unavailable|HTTP 5/.test(reason), reason);
  check("the off notes are hidden when everything is on", !(await page.isVisible("#off-notes")));
  }
  check("host card is not degraded", !(await page.locator("#host-card.degraded").count()));

  // the fleet strip (/api/fleet): one card per host, the answering one marked, a click
  // shows its figures and sparklines; a service down from one host only says so
  if (firstRun) {
    check("without [fleet] there is no host strip", !(await page.isVisible("#fleet")));
  } else {
    await page.waitForSelector("#host-strip .host-card", { timeout: 15000 }).catch(() => {});
    const hostCards = await page.$$eval("#host-strip .host-card", (cs) => cs.map((c) => [
      c.dataset.host, c.querySelector(".dot").className, Boolean(c.querySelector(".here")), c.classList.contains("stale"),
    ]));
    check("a card per host, monk answering and up, kscloud1's scrape failing",
      JSON.stringify(hostCards) === JSON.stringify([["monk", "dot up", true, false], ["kscloud1", "dot down", false, true]]),
      JSON.stringify(hostCards));
    const monkFigs = (await page.textContent('#host-strip .host-card[data-host="monk"] .figs')).trim();
    check("monk's card shows CPU, memory, root disk and uptime", /CPU 13 %\s*Mem 40 %\s*Disk \/ 63 %\s*Up 1d/.test(monkFigs), monkFigs);
    const kWhy = (await page.textContent('#host-strip .host-card[data-host="kscloud1"] .why')).trim();
    check("kscloud1's card says its scrape fails", kWhy === "scrape failing; never scraped", kWhy);
    await page.click('#host-strip .host-card[data-host="monk"]');
    await page.waitForFunction(() => document.querySelectorAll("#fleet-sparks svg.sparkline polyline").length >= 4, null,
      { timeout: 15000 }).catch(() => {});
    check("a click shows the host's figures", await page.isVisible("#fleet-detail") &&
      (await page.textContent("#fleet-detail-name")).trim() === "monk (answered)");
    const fleetSparks = await page.$$eval("#fleet-sparks dd", (dds) => dds.map((d) => d.querySelectorAll("svg.sparkline polyline").length));
    check("and its sparklines from /api/fleet/{host}/history", fleetSparks.length === 4 && fleetSparks.every((n) => n > 0),
      JSON.stringify(fleetSparks));
    await page.waitForSelector('.service[data-service="grafana"] .fleet-note', { timeout: 15000 }).catch(() => {});
    const note = await page.$eval('.service[data-service="grafana"]', (c) => [c.classList.contains("partial"),
      c.querySelector(".fleet-note") && c.querySelector(".fleet-note").textContent]).catch(() => null);
    check("grafana says it is down from kscloud1 only", JSON.stringify(note) ===
      JSON.stringify([true, "down from kscloud1 only; up from the other hosts"]), JSON.stringify(note));
  }

  // services: grouped by category, in the order of `categories`
  const registry = await (await context.request.get(`${base}/api/services`)).json();
  await page.waitForSelector(".service", { timeout: 10000 }).catch(() => {});
  const groups = await page.$$eval(".group", (gs) => gs.map((g) => ({
    id: g.dataset.category,
    services: [...g.querySelectorAll(".service")].map((s) => s.dataset.service),
  })));
  const expected = registry.categories
    .map((c) => ({ id: c.id, services: registry.services.filter((s) => s.category === c.id).map((s) => s.id) }))
    .filter((g) => g.services.length > 0);
  check("service cards are grouped by category in order", JSON.stringify(groups) === JSON.stringify(expected),
    `${JSON.stringify(groups)} != ${JSON.stringify(expected)}`);
  const first = registry.services[0];
  const card = page.locator(`.service[data-service="${first.id}"]`);
  check("a service card has name, description and sign-in",
    (await card.textContent()).includes(first.name) && (await card.textContent()).includes(first.description));

  // status dots: every card has one; with probes on loopback, some are known
  const states = await page.$$eval(".service", (cs) => cs.map((c) => c.dataset.state));
  check("every service card has a status", states.length > 0 && states.every((s) => ["up", "down", "unprobed", "unknown"].includes(s)),
    JSON.stringify(states));
  const legend = (await page.$$eval("#legend li", (ls) => ls.map((l) => [l.querySelector(".dot").className, l.textContent.trim()])));
  check("a legend explains the dots", JSON.stringify(legend) === JSON.stringify([
    ["dot up", "up"], ["dot down", "down (the reason is on the card)"],
    ["dot unprobed", "not probed"], ["dot unknown", "unknown (no result yet)"],
  ]), JSON.stringify(legend));
  if (firstRun) {
    await page.waitForFunction(() => document.querySelector('.service[data-state="unprobed"]'), null, { timeout: 15000 })
      .catch(() => {});
    const all = await page.$$eval(".service", (cs) => cs.map((c) => c.dataset.state));
    check("with probes off every dot reads not probed", all.length > 0 && all.every((s) => s === "unprobed"),
      JSON.stringify(all));
    check("no down reason without probes", (await page.locator(".service .why:not([hidden])").count()) === 0);
  }
  if (process.env.EXPECT_STATUS) {
    await page.waitForFunction(() => document.querySelector('.service[data-state="up"]'), null, { timeout: 20000 })
      .catch(() => {});
    const known = await page.$$eval(".service", (cs) => Object.fromEntries(cs.map((c) => [c.dataset.service, c.dataset.state])));
    const want = JSON.parse(process.env.EXPECT_STATUS);
    check("status dots match the probes", Object.entries(want).every(([id, s]) => known[id] === s),
      `${JSON.stringify(known)} vs ${JSON.stringify(want)}`);
    const latency = (await page.textContent(`.service[data-state="up"] .latency`)).trim();
    check("an up service shows its latency", /^(<1|\d+) ms$/.test(latency), latency);
  }
  if (process.env.EXPECT_REASONS) {
    const want = JSON.parse(process.env.EXPECT_REASONS);
    const shown = await page.$$eval(".service", (cs) => Object.fromEntries(cs.map((c) => {
      const why = c.querySelector(".why");
      return [c.dataset.service, why && !why.hidden ? why.textContent : null];
    })));
    check("a down service shows its reason on the card", Object.entries(want).every(([id, r]) => shown[id] === r),
      `${JSON.stringify(shown)} vs ${JSON.stringify(want)}`);
    const up = Object.entries(shown).filter(([id, r]) => r !== null && !(id in want));
    check("only down services show a reason", up.length === 0, JSON.stringify(up));
  }
  if (process.env.EXPECT_UPTIME) {
    // uptime on the cards: each line starts as expected (the date of the last outage varies)
    const want = JSON.parse(process.env.EXPECT_UPTIME);
    const shown = await page.$$eval(".service", (cs) => Object.fromEntries(cs.map((c) => {
      const u = c.querySelector(".uptime");
      return [c.dataset.service, u && !u.hidden ? u.textContent : null];
    })));
    check("service cards show their uptime and last outage",
      Object.entries(want).every(([id, line]) => (shown[id] || "").startsWith(line)),
      `${JSON.stringify(shown)} vs ${JSON.stringify(want)}`);
    check("a service without a probe shows no uptime", shown.gitforge === null, JSON.stringify(shown.gitforge));
  }

  // live updates: samples arrive over /api/events and change the figures without a
  // reload or a poll of /api/metrics while the stream delivers
  const metricsPolls = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/api/metrics") metricsPolls.push(r.url());
  });
  const events0 = await page.evaluate(() => window.kitestacks.events);
  const updated0 = (await page.textContent("#updated")).trim();
  await page.waitForFunction((n) => window.kitestacks.events >= n + 2, events0, { timeout: 15000 }).catch(() => {});
  const events1 = await page.evaluate(() => window.kitestacks.events);
  check("samples arrive as server-sent events", events1 >= events0 + 2, `${events0} -> ${events1}`);
  const updated1 = (await page.textContent("#updated")).trim();
  check("the figures change without a reload", updated1 !== updated0 && /^updated /.test(updated1), `${updated0} -> ${updated1}`);
  check("no /api/metrics poll while the stream delivers", metricsPolls.length === 0, metricsPolls.join(" "));

  // sparklines from /api/history: drawn once the history has points (the 1 h button
  // asks again), a gap where a point is null, and the range switch asks for 24 h
  await page.click('#range button[data-range="1h"]');
  await page.waitForFunction(() => document.querySelectorAll("#sparks svg.sparkline").length >= 3 &&
    [...document.querySelectorAll("#filesystems li")].filter((l) => l.querySelector(".line"))
      .every((l) => l.querySelector(".spark svg.sparkline")), null, { timeout: 15000 }).catch(() => {});
  const sparks = await page.$$eval("#sparks dd", (dds) => dds.map((d) => [d.dataset.series, d.querySelectorAll("svg.sparkline polyline").length]));
  check("CPU, memory and network sparklines are drawn", sparks.filter(([, n]) => n > 0).length >= 3, JSON.stringify(sparks));
  const fsSparks = await page.$$eval("#filesystems li", (ls) => ls.filter((l) => l.querySelector(".line"))
    .map((l) => [l.querySelector(".mount").textContent, l.querySelectorAll(".spark svg.sparkline polyline").length]));
  check("each filesystem has a sparkline", fsSparks.length > 0 && fsSparks.every(([, n]) => n > 0), JSON.stringify(fsSparks));
  const gap = await page.evaluate(() => {
    const svg = window.kitestacks.sparkline([[0, 1, 1, 2], [1, 2, 2, 3], [2, null, null, null], [3, 3, 3, 4], [4, 1, 2, 3]], "percent");
    return [svg.querySelectorAll("polyline").length, svg.querySelectorAll("polygon").length];
  });
  check("a null point is a gap in the sparkline, not a line across it", JSON.stringify(gap) === "[2,2]", JSON.stringify(gap));
  const asked = page.waitForRequest((r) => r.url().includes("/api/history?series=") && r.url().includes("range=24h"),
    { timeout: 10000 }).then(() => true, () => false);
  await page.click('#range button[data-range="24h"]');
  check("the range switch asks /api/history for 24 h", await asked);
  check("the pressed range is marked", (await page.getAttribute('#range button[data-range="24h"]', "aria-pressed")) === "true");
  await page.click('#range button[data-range="1h"]');

  // the page pauses while hidden and refreshes on return (no errors on the way)
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await page.waitForTimeout(500);

  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  if (narrowShot) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check("no horizontal overflow at 390 px", overflow <= 0, `${overflow}px`);
    await page.screenshot({ path: narrowShot, fullPage: true });
    console.log(`screenshot: ${narrowShot}`);
  }

  check("no console errors", consoleErrors.length === 0, consoleErrors.join(" | "));
  check("no request left 127.0.0.1", offLoopback.length === 0, offLoopback.join(" "));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
