// The county's page (/county): a county manager logs in, sees every hall of the county live
// (asked again every LIVE_EVERY_MS), each town's village points (代办点), the county's KPIs and the
// halls ranked, and opens any hall's dashboard with a pass (the `county_pass` op). The server is
// the truth: what is shown is its last answer, and figures it says are old are shown as old, with
// their age.
// Protocol: docs/protocol.md ("The county's page"); scopes: docs/county.md.
"use strict";

const { WARNING_LEVEL_NAMES, HALL_LEVEL_NAMES } = VOCABULARY;
const LIVE_EVERY_MS = 2000;
const KPI_COLUMNS = ["issued", "finished", "no_show", "wait_mean_s", "service_level_pct",
                     "onsite_pct", "rating_rate_pct", "satisfied_pct"];

const app = { socket: null, timer: null, ready: false, everOnline: false };

function say(text, kind = "error") {
  $("message").textContent = text;
  $("message").dataset.kind = text ? kind : "";
}

function showScreen(screen) {
  document.body.dataset.screen = screen;
  $("login-screen").hidden = screen !== "login";
  $("main-screen").hidden = screen !== "main";
  $("logout-button").hidden = screen !== "main";
  if (screen === "login") $("user").focus();
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds} 秒`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} 分钟` : `${Math.floor(m / 60)} 小时 ${m % 60} 分`;
}

// --- the session ------------------------------------------------------------------------------

function logIn(user, password) {
  if (app.socket) app.socket.stop();
  app.everOnline = false;
  $("login-button").disabled = true;
  app.socket = new HallSocket({ role: "county", user, password },
                              { onStatus, onHello, onRefused }, "/county/ws");
}

function logOut(message) {
  if (app.socket) app.socket.stop();
  app.socket = null;
  app.ready = false;
  clearTimeout(app.timer);
  $("connection").dataset.state = "idle";
  $("who").textContent = "";
  showScreen("login");
  say(message || "", "info");
  $("login-button").disabled = false;
}

function onStatus(state) {
  $("connection").dataset.state = state;
  $("connection").textContent = { online: "已连接", connecting: "正在连接…", offline: "连接中断，正在重试" }[state] || "";
  if (state !== "online") app.ready = false;
  if (state === "offline" && document.body.dataset.screen === "login") {
    $("login-error").textContent = "无法连接到服务器，正在重试…";
  }
}

function onRefused(error) {
  logOut(error.code === "revoked" ? "登录已失效，您已退出" : "");
  $("login-error").textContent = error.message || "登录未通过";
  $("password").value = "";
  $("password").focus();
}

function onHello(reply) {
  app.ready = true;
  app.everOnline = true;
  $("login-form").reset();
  $("login-error").textContent = "";
  $("login-button").disabled = false;
  $("who").textContent = `${reply.name}（${VOCABULARY.ROLE_NAMES.county}）`;
  say("");
  showScreen("main");
  renderLive(reply);
  loadKpis();
  loadPoints();
  scheduleLive();
}

function scheduleLive() {
  clearTimeout(app.timer);
  app.timer = setTimeout(async () => {
    if (!app.socket) return;
    const reply = await app.socket.request("county_live");
    if (reply.ok) renderLive(reply);
    else if (reply.error.code !== "offline") say(`实时数据暂不可用：${reply.error.message}`);
    if (app.socket) scheduleLive();
  }, LIVE_EVERY_MS);
}

// --- the halls live ---------------------------------------------------------------------------

function stateBadge(hall) {
  if (hall.state === "none") return element("span", { class: "badge", dataset: { state: "none" }, textContent: "未运行" });
  if (hall.state === "stale") {
    return element("span", { class: "badge", dataset: { state: "stale" },
                             textContent: `数据 ${minutes(hall.age_s)}前（未在运行或正在切换服务器）` });
  }
  return element("span", { class: "badge", dataset: { state: hall.issuing ? "issuing" : "closed" },
                           textContent: hall.issuing ? "取号中" : "未在取号时段" });
}

function warningBadges(hall) {
  if (hall.state === "none" || !hall.warnings) return "无";
  const red = hall.red_warnings, yellow = hall.warnings - hall.red_warnings;
  return element("span", {},
    red ? element("span", { class: "badge", dataset: { level: "red" }, textContent: `${WARNING_LEVEL_NAMES.red} ${red}` }) : null,
    red && yellow ? " " : null,
    yellow ? element("span", { class: "badge", dataset: { level: "yellow" }, textContent: `${WARNING_LEVEL_NAMES.yellow} ${yellow}` }) : null);
}

function hallRow(hall) {
  const known = hall.state !== "none";
  const value = (key) => (known ? String(hall[key]) : "—");
  const enter = element("button", { type: "button", class: "small enter", textContent: "进入管理页面",
                                    title: `打开${hall.name}的管理页面` });
  enter.addEventListener("click", () => openHall(hall, enter));
  const name = element("td", {}, hall.name, hall.level ? element("span", { class: "visually-hidden", textContent: `（${HALL_LEVEL_NAMES[hall.level]}）` }) : null);
  return element("tr", { class: hall.level === "county" ? "county-row" : null },
    name,
    element("td", {}, stateBadge(hall)),
    element("td", { class: "num", textContent: value("waiting") }),
    element("td", { class: "num wait", dataset: { level: String(known ? hall.wait_level : 0) },
                    textContent: known ? minutes(hall.longest_wait_s) : "—" }),
    element("td", { class: "num", textContent: known ? `${hall.windows_open} / ${hall.windows}` : "—" }),
    element("td", { class: "num", textContent: value("serving") }),
    element("td", { class: "num", textContent: value("issued") }),
    element("td", { class: "num", textContent: value("finished") }),
    element("td", {}, warningBadges(hall)),
    element("td", {}, enter));
}

function renderLive(reply) {
  const county = reply.halls.find((h) => h.level === "county");
  if (county) {
    $("county-name").textContent = county.name;
    document.title = `${county.name} · 全县监控`;
  }
  $("halls-body").replaceChildren(...reply.halls.map(hallRow));
  const t = reply.totals;
  $("live-summary").textContent = `共 ${t.halls} 个大厅，${t.live} 个有实时数据`;
  const zone = (county || reply.halls[0] || {}).timezone;   // the county's own time
  $("live-at").textContent = `更新于 ${new Date(reply.at).toLocaleTimeString("zh-CN", { timeZone: zone, hourCycle: "h23" })}`;
  const tile = (name, value, level) => element("div", { class: "total", dataset: { level: level || "" } },
    name, element("b", { textContent: String(value) }));
  $("totals").replaceChildren(
    tile("全县等候", `${t.waiting} 人`),
    tile("最长等候", minutes(t.longest_wait_s)),
    tile("开放窗口", `${t.windows_open} / ${t.windows}`),
    tile("今日取号", t.issued),
    tile("今日办结", t.finished),
    tile("未处理预警", t.warnings, t.red_warnings ? "red" : ""));
}

async function openHall(hall, button) {
  // The tab is opened now, in the click, so that no pop-up blocker stops it, cut off from this
  // page (no opener), and sent to the hall's dashboard when the pass comes. Blocked all the
  // same, this page stays as it is and says so: the county's view is not given up.
  const tab = window.open("", "_blank");
  if (!tab) {
    say("浏览器阻止了新窗口：请允许本页面打开新窗口（弹出式窗口）后再点“进入管理页面”");
    return;
  }
  tab.opener = null;
  button.disabled = true;
  const reply = await app.socket.request("county_pass", { hall: hall.code });
  button.disabled = false;
  if (!reply.ok) {
    tab.close();
    say(`无法进入${hall.name}：${reply.error.message}`);
    return;
  }
  tab.location = reply.url;
}

// --- the KPIs --------------------------------------------------------------------------------

function metricText(key, value) {
  if (value === null || value === undefined) return "—";
  if (key.endsWith("_s")) return minutes(Math.round(value));
  if (key.endsWith("_pct")) return `${value.toFixed(1)}%`;
  return String(value);
}

// The span asked for; none at first: the server's default, this month of the county's own day.
async function loadKpis() {
  const span = {};
  if ($("kpi-from").value) span.from = $("kpi-from").value;
  if ($("kpi-to").value) span.to = $("kpi-to").value;
  $("kpi-button").disabled = true;
  $("kpi-summary").textContent = "正在统计…";
  const reply = await app.socket.request("county_kpis", span, 60000);
  $("kpi-button").disabled = false;
  if (!reply.ok) {
    $("kpi-summary").textContent = `统计失败：${reply.error.message}`;
    return;
  }
  $("kpi-from").value = reply.from;
  $("kpi-to").value = reply.to;
  $("kpi-summary").textContent = `${reply.from} 至 ${reply.to}，各大厅及全县合计`;
  $("kpi-head").replaceChildren(element("th", { scope: "col", textContent: "大厅" }),
    ...KPI_COLUMNS.map((key) => element("th", { scope: "col", class: "num", textContent: METRIC_NAMES[key] })));
  const rows = reply.rows.map((row) => element("tr", { class: row.by === "county" ? "total-row" : null },
    element("td", { textContent: row.name }),
    ...KPI_COLUMNS.map((key) => element("td", { class: "num", textContent: metricText(key, row[key]) }))));
  if (!rows.length) {
    rows.push(element("tr", {}, element("td", { colSpan: KPI_COLUMNS.length + 1, textContent: "这段时间没有取号记录" })));
  }
  $("kpi-body").replaceChildren(...rows);
  $("formula").textContent = reply.formula;
  const ranked = reply.ranking.map((r) => element("tr", {},
    element("td", { class: "num", textContent: String(r.rank) }),
    element("td", { textContent: r.name }),
    element("td", { class: "num", textContent: r.score.toFixed(1) }),
    element("td", { class: "num", textContent: metricText("satisfied_pct", r.satisfied_pct) }),
    element("td", { class: "num", textContent: metricText("service_level_pct", r.service_level_pct) }),
    element("td", { class: "num", textContent: metricText("rating_rate_pct", r.rating_rate_pct) }),
    element("td", { class: "num", textContent: String(r.finished) })));
  if (!ranked.length) {
    ranked.push(element("tr", {}, element("td", { colSpan: 7, textContent: "没有大厅达到参与排名的办结数" })));
  }
  $("ranking-body").replaceChildren(...ranked);
}

// --- the village points (代办点): each hall's line of the month's 代办月报表 -------------------------

const POINT_NAMES = Object.fromEntries(VOCABULARY.POINT_METRICS.map(([key, name]) => [key, name]));
const POINT_WORD = VOCABULARY.POINT_DIMENSION_NAMES.point;   // 代办点
const POINT_COLUMNS = ["recorded", "delivered", "on_time_pct", "overdue", "finished", "visited"];

// When a point was last seen, in its hall's time zone ("12-07 09:30"); never: 从未联系.
function seenText(at, timezone) {
  if (!at) return "从未联系";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("zh-CN", {
    timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

async function loadPoints() {
  const reply = await app.socket.request("county_points", {}, 60000);
  if (!reply.ok) {
    $("points-summary").textContent = `统计失败：${reply.error.message}`;
    return;
  }
  const { county } = reply;
  $("points-summary").textContent = `${reply.month}，${county.halls} 个乡镇有代办点；件数按受理月份，各件按当前进展统计`;
  $("points-totals").replaceChildren(
    ...[[POINT_WORD, county.points], [`本月${POINT_NAMES.recorded}`, county.recorded],
        [POINT_NAMES.on_time_pct, metricText("on_time_pct", county.on_time_pct)],
        [POINT_NAMES.overdue, county.overdue]].map(([label, value]) => element("div", {
      class: "total", dataset: label === POINT_NAMES.overdue && value > 0 ? { level: "red" } : {} },
      label, element("b", { textContent: String(value) }))));
  $("points-head").replaceChildren(element("th", { scope: "col", textContent: "大厅" }),
    element("th", { scope: "col", class: "num", textContent: POINT_WORD }),
    ...POINT_COLUMNS.map((key) => element("th", { scope: "col", class: "num", textContent: POINT_NAMES[key] })),
    element("th", { scope: "col", textContent: "最久未联系的代办点" }));
  const cells = (row) => POINT_COLUMNS.map((key) => element("td", {
    class: key === "overdue" && row.overdue > 0 ? "num late" : "num", textContent: metricText(key, row[key]) }));
  const rows = reply.halls.map((hall) => element("tr", {},
    element("td", { textContent: hall.name }),
    element("td", { class: "num", textContent: String(hall.points) }), ...cells(hall),
    element("td", { textContent: `${hall.least_seen}：${seenText(hall.least_seen_at, hall.timezone)}` })));
  if (rows.length) {
    rows.push(element("tr", { class: "total-row" }, element("td", { textContent: "全县合计" }),
      element("td", { class: "num", textContent: String(county.points) }), ...cells(county),
      element("td", {})));
  } else {
    rows.push(element("tr", {}, element("td", { colSpan: POINT_COLUMNS.length + 3, textContent: "还没有乡镇登记代办点" })));
  }
  $("points-body").replaceChildren(...rows);
}

// --- start --------------------------------------------------------------------------------------

function start() {
  onLoginForm(logIn);
  $("logout-button").addEventListener("click", () => logOut("已退出登录"));
  $("span-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadKpis();
    loadPoints();
  });
  showScreen("login");
}

start();
