// The 统计报表 tab of the manager's page (/manager#reports): KPI tables by period and dimension,
// the hourly and per-window charts, the month's rankings and the exports, all from the server's
// `stats` and `export` ops (docs/kpis.md says what each figure means). It shares the
// dashboard's login and connection: manager.js hands it `request` through Reports.attach.
// A refusal (an old server without `stats`, a bad date) is shown in words where the figures
// would be.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  // The figures shown unless 显示全部指标 is ticked.
  const CORE = ["issued", "accepted", "finished", "no_show", "wait_mean_s", "wait_p90_s",
                "service_level_pct", "service_mean_s", "onsite_pct", "rated", "rating_rate_pct",
                "satisfied_pct", "post_a", "post_b", "unattended_min"];
  const { DIMENSION_NAMES, PERIOD_NAMES, CASE_DIMENSIONS, BOOKING_DIMENSIONS,
          CASE_REPORT_NAMES, POINT_DIMENSION_NAMES } = VOCABULARY;   // the server's words
  const SLOW_MS = 120000;   // a year of a county's tickets takes a while

  let api = null;
  const state = { loaded: false, kpis: null, cases: null, hourly: null, windows: null, sort: null,
                  ranking: null, drawn: 0 };

  function text(id, value, kind = "") {
    const node = $(id);
    node.textContent = value;
    node.dataset.kind = kind;
  }

  function failed(box, what, reply) {
    box.textContent = "";
    const p = document.createElement("p");
    p.className = "op-result";
    p.dataset.kind = "error";
    p.setAttribute("role", "alert");
    p.textContent = `无法获取${what}：${reply.error.message}`;
    box.append(p);
  }

  // --- dates -----------------------------------------------------------------------------------

  const isoDay = (d) => d.toISOString().slice(0, 10);
  const parseDay = (s) => new Date(`${s}T00:00:00Z`);

  // "2026-11-01", "2026/11/1", "2026.11.1", "20261101", "2026年11月1日" → "2026-11-01"; null if
  // it is not a real date.
  function normalDay(value) {
    const t = value.trim();
    const m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(t) || /^(\d{4})(\d{2})(\d{2})$/.exec(t);
    if (!m) return null;
    const day = `${m[1]}-${m[2].padStart(2, "0")}-${m[3].padStart(2, "0")}`;
    const d = parseDay(day);
    return Number.isNaN(d.getTime()) || isoDay(d) !== day ? null : day;
  }

  // The dates asked for, written the one way; an error message instead when they are not dates.
  function chosenSpan() {
    const from = normalDay($("report-from").value);
    const to = normalDay($("report-to").value);
    if (!from || !to) return { error: "请按“2026-11-01”的格式填写起止日期" };
    $("report-from").value = from;
    $("report-to").value = to;
    if (from > to) return { error: "开始日期不能晚于结束日期" };
    return { from, to };
  }

  // The month lists (`data-months`: the ranking's, the 台账's, the complaints register's): this
  // month and the 23 before it.
  function fillMonths() {
    const today = api.today();
    for (const select of document.querySelectorAll("select[data-months]")) {
      if (!today || select.options.length) continue;
      const d = parseDay(today);
      for (let i = 0; i < 24; i += 1) {
        const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
        const value = isoDay(m).slice(0, 7);
        const option = document.createElement("option");
        option.value = value;
        option.textContent = `${m.getUTCFullYear()}年${m.getUTCMonth() + 1}月`;
        select.append(option);
      }
    }
  }

  // A month's first and last day ("2026-11" → 2026-11-01, 2026-11-30).
  function monthSpan(month) {
    const first = parseDay(`${month}-01`);
    const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0));
    return { from: isoDay(first), to: isoDay(last) };
  }

  // The closed loop's KPIs are grouped by the chosen dimension where a case belongs to one,
  // else for the whole hall.
  const caseDimension = (by) => (CASE_DIMENSIONS.includes(by) ? by : "hall");
  // So are the appointments' (by hall or category).
  const bookingDimension = (by) => (BOOKING_DIMENSIONS.includes(by) ? by : "hall");

  function setRange(range) {
    const today = api.today();
    if (!today) return;
    const d = parseDay(today);
    let from = d;
    if (range === "week") from = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86400000);
    if (range === "month") from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    if (range === "quarter") from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - (d.getUTCMonth() % 3), 1));
    if (range === "year") from = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
    $("report-from").value = isoDay(from);
    $("report-to").value = today;
    const period = { today: "day", week: "all", month: "all", quarter: "month", year: "month" }[range];
    if (period) $("report-period").value = period;
  }

  function periodLabel(key, period) {
    if (period === "all" || key === "all") return "合计";
    if (period === "week") {
      const m = /^(\d{4})-W(\d{2})$/.exec(key);
      if (m) return `${m[1]}年第${Number(m[2])}周`;
    }
    if (period === "quarter") {
      const m = /^(\d{4})-Q(\d)$/.exec(key);
      if (m) return `${m[1]}年第${m[2]}季度`;
    }
    if (period === "month") {
      const m = /^(\d{4})-(\d{2})$/.exec(key);
      if (m) return `${m[1]}年${Number(m[2])}月`;
    }
    if (period === "year" && /^\d{4}$/.test(key)) return `${key}年`;
    return key;
  }

  // --- figures as text -------------------------------------------------------------------------

  function shownUnit(metric) {
    return metric.unit === "秒" ? "分钟" : metric.unit;
  }

  function valueText(value, metric) {
    if (value === null || value === undefined) return "—";
    if (metric.unit === "秒") return (value / 60).toFixed(1);
    if (metric.unit === "%") return `${Number(value).toFixed(1)}%`;
    if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(1);
    return String(value);
  }

  // --- loading ---------------------------------------------------------------------------------

  async function load() {
    const span = chosenSpan();
    if (span.error) {
      text("report-status", span.error, "error");
      return;
    }
    const { from, to } = span;
    const by = $("report-by").value;
    const period = $("report-period").value;
    state.loaded = true;
    $("report-run").disabled = true;
    text("report-status", "正在查询…");
    const [kpis, hourly, windows, cases, bookings] = await Promise.all([
      api.request("stats", { view: "kpis", from, to, by, period }, SLOW_MS),
      api.request("stats", { view: "hourly", from, to }, SLOW_MS),
      api.request("stats", { view: "kpis", from, to, by: "window", period: "all" }, SLOW_MS),
      api.request("stats", { view: "cases", from, to, by: caseDimension(by), period }, SLOW_MS),
      api.request("stats", { view: "bookings", from, to, by: bookingDimension(by), period }, SLOW_MS),
    ]);
    $("report-run").disabled = false;
    state.kpis = kpis.ok ? { ...kpis, by, period, from, to } : null;
    state.hourly = hourly.ok ? hourly : null;
    state.windows = windows.ok ? windows : null;
    state.sort = null;
    if (kpis.ok) renderKpis();
    else {
      failed($("kpi-table"), "指标", kpis);
      $("kpi-summary").textContent = "";
    }
    if (cases.ok) renderCases({ ...cases, by: caseDimension(by), period, from, to });
    else {
      failed($("case-kpi-table"), "好差评闭环指标", cases);
      $("case-kpi-summary").textContent = "";
    }
    if (bookings.ok) renderBookings({ ...bookings, by: bookingDimension(by), period });
    else {
      failed($("booking-kpi-table"), CASE_REPORT_NAMES.bookings, bookings);
      $("booking-kpi-summary").textContent = "";
    }
    if (hourly.ok) drawHourly();
    else for (const id of ["chart-hourly", "chart-wait"]) failed($(id), "分时段数据", hourly);
    if (windows.ok) drawSatisfaction();
    else failed($("chart-satisfaction"), "各窗口满意率", windows);
    const refusal = [kpis, hourly, windows, cases, bookings].find((r) => !r.ok);
    if (refusal) text("report-status", `查询未完成：${refusal.error.message}`, "error");
    else text("report-status", `已更新：${from} 至 ${to}`, "ok");
    fillMonths();
    for (const id of ["ranking-month", "ledger-month", "errand-month"]) {
      if ([...$(id).options].some((o) => o.value === to.slice(0, 7))) $(id).value = to.slice(0, 7);
    }
    loadRanking();
    loadErrands();
  }

  async function loadRanking() {
    const month = $("ranking-month").value;
    if (!month) return;
    const reply = await api.request("stats", { view: "ranking", month }, SLOW_MS);
    if (!reply.ok) {
      $("ranking-formula").textContent = "";
      failed($("ranking-windows"), "窗口排名", reply);
      failed($("ranking-clerks"), "工作人员排名", reply);
      return;
    }
    state.ranking = reply;
    renderRanking();
  }

  // --- the KPI table ---------------------------------------------------------------------------

  function renderKpis() {
    const reply = state.kpis;
    const box = $("kpi-table");
    box.textContent = "";
    const all = $("kpi-all").checked;
    const rows = reply.rows.slice();
    const metrics = reply.metrics.filter((m) => (all || CORE.includes(m.key))
      && rows.some((r) => r[m.key] !== null && r[m.key] !== undefined));
    $("kpi-summary").textContent = `${reply.by === "hall" ? DIMENSION_NAMES.hall : `按${DIMENSION_NAMES[reply.by]}`} · ${PERIOD_NAMES[reply.period]} · `
      + `${reply.from} 至 ${reply.to} · ${rows.length} 行`;
    if (!rows.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "所选时段没有数据";
      box.append(p);
      return;
    }
    if (state.sort) {
      const { key, dir } = state.sort;
      rows.sort((a, b) => {
        const x = a[key];
        const y = b[key];
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * dir;
      });
    }
    const table = document.createElement("table");
    table.className = "kpi-table";
    const caption = document.createElement("caption");
    caption.className = "visually-hidden";
    caption.textContent = `绩效指标，${$("kpi-summary").textContent}`;
    table.append(caption);
    const head = table.createTHead().insertRow();
    const th = (label, key) => {
      const cell = document.createElement("th");
      cell.scope = "col";
      if (key) {
        const metric = reply.metrics.find((m) => m.key === key);
        const button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        const sorted = state.sort && state.sort.key === key;
        button.append(label, sorted ? (state.sort.dir > 0 ? " ▲" : " ▼") : "");
        const unit = document.createElement("span");
        unit.className = "unit";
        unit.textContent = shownUnit(metric);
        button.append(unit);
        button.title = `按${label}排序`;
        if (sorted) cell.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
        button.addEventListener("click", () => {
          state.sort = { key, dir: sorted ? -state.sort.dir : -1 };
          renderKpis();
        });
        cell.append(button);
      } else {
        cell.textContent = label;
      }
      head.append(cell);
    };
    th("周期");
    th("名称");
    for (const m of metrics) th(m.name, m.key);
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.insertCell().textContent = periodLabel(row.period, reply.period);
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = row.name || (row.key === "" ? "未归属" : row.key);
      tr.append(name);
      for (const m of metrics) {
        const td = tr.insertCell();
        td.className = row[m.key] === null || row[m.key] === undefined ? "num none" : "num";
        td.textContent = valueText(row[m.key], m);
      }
    }
    box.append(table);
  }

  // --- the closed loop's KPIs (docs/kpis.md, 差评工单) ---------------------------------------------

  // The 投诉建议 of the span in one line (`kpis.complaint_kpis`), under the closed loop's table.
  function complaintLine(reply) {
    const p = document.createElement("p");
    p.className = "summary complaint-kpis";
    p.id = "complaint-kpis";
    p.textContent = reply.complaint_metrics.map((m) => {
      const value = reply.complaints[m.key];
      return `${m.name} ${valueText(value, m)}${value === null || m.unit === "%" ? "" : ` ${m.unit}`}`;
    }).join(" · ");
    return p;
  }

  function renderCases(reply) {
    const box = $("case-kpi-table");
    box.textContent = "";
    const summary = summarise("case-kpi-summary", reply);
    if (!reply.rows.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "所选时段没有评价";
      box.append(p, complaintLine(reply));
      return;
    }
    box.append(metricTable(reply, "case-kpi-table", `好差评闭环指标，${summary}`),
               complaintLine(reply));
  }

  // --- the appointments' KPIs (docs/kpis.md, 预约) ------------------------------------------------

  function renderBookings(reply) {
    const box = $("booking-kpi-table");
    box.textContent = "";
    const summary = summarise("booking-kpi-summary", reply);
    if (!reply.rows.length) {
      box.append(element("p", { class: "empty", textContent: "所选时段没有预约" }));
      return;
    }
    box.append(metricTable(reply, "booking-kpi-table", `${CASE_REPORT_NAMES.bookings}，${summary}`));
  }

  // What a table of `stats` rows shows, in its panel's summary line (`id`): "按部门 · 按月 · 3 行".
  function summarise(id, reply) {
    const where = reply.by === "hall" ? DIMENSION_NAMES.hall : `按${DIMENSION_NAMES[reply.by]}`;
    $(id).textContent = `${where} · ${PERIOD_NAMES[reply.period]} · ${reply.rows.length} 行`;
    return $(id).textContent;
  }

  // A table of `stats` rows (the closed loop's, the appointments'): 周期, 名称, then each of the
  // reply's `metrics` with its unit.
  function metricTable(reply, className, title) {
    const table = document.createElement("table");
    table.className = `kpi-table ${className}`;
    const caption = document.createElement("caption");
    caption.className = "visually-hidden";
    caption.textContent = title;
    table.append(caption);
    const head = table.createTHead().insertRow();
    for (const [label, unit] of [["周期", ""], ["名称", ""], ...reply.metrics.map((m) => [m.name, shownUnit(m)])]) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.append(label);
      if (unit) {
        const span = document.createElement("span");
        span.className = "unit";
        span.textContent = unit;
        cell.append(span);
      }
      head.append(cell);
    }
    const body = table.createTBody();
    for (const row of reply.rows) {
      const tr = body.insertRow();
      tr.insertCell().textContent = periodLabel(row.period, reply.period);
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = row.name || "未归属";
      tr.append(name);
      for (const m of reply.metrics) {
        const td = tr.insertCell();
        td.className = row[m.key] === null ? "num none" : "num";
        td.textContent = valueText(row[m.key], m);
      }
    }
    return table;
  }

  // --- charts ----------------------------------------------------------------------------------

  function drawHourly() {
    const hours = (state.hourly && state.hourly.hours) || [];
    const labels = hours.map((h) => `${h.hour}时`);
    HallCharts.columns($("chart-hourly"), {
      title: "分时段取号与办结（日均人次）",
      labels,
      unit: "人次/日",
      series: [
        { name: "取号", values: hours.map((h) => h.arrivals_per_day), color: "#0b57a4" },
        { name: "办结", values: hours.map((h) => h.served_per_day), color: "#0d6b35" },
      ],
    });
    HallCharts.columns($("chart-wait"), {
      title: "分时段平均等候时间（按取号时段）",
      labels,
      unit: "分钟",
      series: [{ name: METRIC_NAMES.wait_mean_s, kind: "line", color: "#8a4b00",
                 values: hours.map((h) => (h.wait_mean_s === null ? null : h.wait_mean_s / 60)) }],
    });
  }

  function drawSatisfaction() {
    const box = $("chart-satisfaction");
    const rated = ((state.windows && state.windows.rows) || [])
      .filter((r) => r.satisfied_pct !== null && r.satisfied_pct !== undefined)
      .sort((a, b) => (b.satisfied_pct - a.satisfied_pct) || (b.rated - a.rated));
    const rows = rated.map((r) => ({ label: r.name, value: r.satisfied_pct, note: `评价 ${r.rated} 条` }));
    const few = rows.length <= 20;
    HallCharts.hbars(box, {
      title: few ? "各窗口满意率（从高到低）" : "满意率最高和最低的各 10 个窗口",
      rows: few ? rows : [...rows.slice(0, 10), ...rows.slice(-10)],
      omitted: few ? 0 : rows.length - 20,
      unit: "%",
      spread: true,
    });
    if (rows.length) {
      const unrated = ((state.windows && state.windows.rows) || []).length - rated.length;
      box.append(HallCharts.dataTable("各窗口满意率", [DIMENSION_NAMES.window, METRIC_NAMES.satisfied_pct, METRIC_NAMES.rated, METRIC_NAMES.rating_rate_pct],
        rated.map((r) => [r.name, `${r.satisfied_pct.toFixed(1)}%`, String(r.rated),
                          r.rating_rate_pct === null ? "—" : `${r.rating_rate_pct.toFixed(1)}%`])));
      if (unrated > 0) {
        const note = document.createElement("p");
        note.className = "hint";
        note.textContent = `另有 ${unrated} 个窗口在所选时段没有评价`;
        box.append(note);
      }
    }
  }

  function redraw() {
    if (!state.loaded || $("reports-screen").hidden) return;
    if (state.hourly) drawHourly();
    if (state.windows) drawSatisfaction();
  }

  // --- rankings --------------------------------------------------------------------------------

  function renderRanking() {
    const reply = state.ranking;
    $("ranking-formula").textContent = `${reply.month} 排名方法：${reply.formula}`;
    for (const [id, rows, what] of [["ranking-windows", reply.windows, DIMENSION_NAMES.window],
                                    ["ranking-clerks", reply.clerks, DIMENSION_NAMES.clerk]]) {
      const box = $(id);
      box.textContent = "";
      if (!rows.length) {
        const p = document.createElement("p");
        p.className = "empty";
        p.textContent = `本月还没有符合排名条件的${what}`;
        box.append(p);
        continue;
      }
      const best = document.createElement("p");
      best.className = "best";
      best.textContent = `★ 本月最佳${what}：${rows[0].name}（${Number(rows[0].score).toFixed(1)} 分）`;
      box.append(best);
      const table = document.createElement("table");
      const caption = document.createElement("caption");
      caption.className = "visually-hidden";
      caption.textContent = `${reply.month} ${what}排名`;
      table.append(caption);
      const head = table.createTHead().insertRow();
      for (const h of ["名次", what, "综合得分", ...["satisfied_pct", "service_level_pct", "rating_rate_pct",
                                                 "finished"].map((key) => METRIC_NAMES[key])]) {
        const cell = document.createElement("th");
        cell.scope = "col";
        cell.textContent = h;
        head.append(cell);
      }
      const body = table.createTBody();
      for (const r of rows.slice(0, 10)) {
        const tr = body.insertRow();
        if (r.rank === 1) tr.className = "first";
        const pct = (v) => (v === null || v === undefined ? "—" : `${Number(v).toFixed(1)}%`);
        const cells = [r.rank === 1 ? "★ 第 1 名" : `第 ${r.rank} 名`, r.name,
                       Number(r.score).toFixed(1), pct(r.satisfied_pct), pct(r.service_level_pct),
                       pct(r.rating_rate_pct), String(r.finished)];
        cells.forEach((c, i) => {
          const td = tr.insertCell();
          td.textContent = c;
          if (i >= 2) td.className = "num";
          if (i === 0) td.className = "rank";
        });
      }
      box.append(table);
      if (rows.length > 10) {
        const more = document.createElement("p");
        more.className = "hint";
        more.textContent = `共 ${rows.length} 个参与排名，只列前 10 名；完整数据请导出指标表`;
        box.append(more);
      }
    }
  }

  // --- the 代办月报表 (docs/kpis.md): the village points' cases of a month ------------------------

  async function loadErrands() {
    const month = $("errand-month").value;
    if (!month) return;
    const box = $("errand-table");
    const reply = await api.request("stats", { view: "errands", month, by: $("errand-by").value },
                                    SLOW_MS);
    if (!reply.ok) {
      $("errand-summary").textContent = "";
      failed(box, CASE_REPORT_NAMES.errands, reply);
      return;
    }
    box.textContent = "";
    const cases = reply.cells.length - 1;   // the last row is the 合计
    $("errand-summary").textContent = `${month} · 按${POINT_DIMENSION_NAMES[reply.by]} · ${cases} 行`;
    if (!cases) {
      box.append(element("p", { class: "empty", textContent: "该月没有代办件" }));
      return;
    }
    const table = element("table", { class: "kpi-table errand-table" });
    table.append(element("caption", { class: "visually-hidden",
                                      textContent: `${CASE_REPORT_NAMES.errands}，${$("errand-summary").textContent}` }));
    const head = table.createTHead().insertRow();
    for (const header of reply.headers) {   // "受理数（件）": the unit under the name, as the KPIs'
      const [, name, unit] = /^(.*)（(.+)）$/.exec(header) || [header, header, null];
      head.append(element("th", { scope: "col", title: header }, name,
                          unit && element("span", { class: "unit", textContent: unit })));
    }
    const body = table.createTBody();
    reply.cells.forEach((row, index) => {
      const tr = body.insertRow();
      if (index === cases) tr.className = "total";
      row.forEach((value, i) => {
        const td = tr.insertCell();
        const shown = reply.headers[i].endsWith("（%）") && value !== null ? value.toFixed(1) : value;
        td.textContent = value === null || value === "" ? (i < 2 ? "" : "—") : String(shown);
        if (i >= 2) td.className = "num";
      });
    });
    box.append(table);
  }

  // --- exports ---------------------------------------------------------------------------------

  const EXPORT_NAMES = { ...VOCABULARY.REPORT_NAMES, ...VOCABULARY.CASE_REPORT_NAMES, all: "全部表格" };
  const RESULT_OF = { kpis: "report-status", cases: "report-status", bookings: "report-status",
                      ledger: "ledger-result", errands: "errand-result",
                      complaints: "register-result" };
  const FORMAT_NAMES = { csv: "CSV", xlsx: "Excel", print: "打印页" };

  async function exportTable(what, format, button) {
    const show = (message, kind) => text(RESULT_OF[what] || "export-result", message, kind);
    // the 台账 and the register are a month's (the button names its list); the rest the chosen
    // span's
    const span = button.dataset.month ? monthSpan($(button.dataset.month).value) : chosenSpan();
    if (span.error) {
      show(span.error, "error");
      return;
    }
    const { from, to } = span;
    const params = { what, format, from, to };
    if (["kpis", "all", "cases", "bookings"].includes(what)) {
      const by = $("report-by").value;
      params.by = { cases: caseDimension(by), bookings: bookingDimension(by) }[what] || by;
      params.period = $("report-period").value;
    }
    if (what === "errands") params.by = $("errand-by").value;
    button.disabled = true;
    const reply = await api.request("export", params);
    button.disabled = false;
    if (!reply.ok) {
      show(`无法导出${EXPORT_NAMES[what]}：${reply.error.message}`, "error");
      return;
    }
    if (format === "print") {   // the page to print, beside this one
      window.open(reply.url, "_blank", "noopener");
      show(`${EXPORT_NAMES[what]}（${from} 至 ${to}）已在新页面打开，请用浏览器打印（A4 横向）`, "ok");
      return;
    }
    const link = document.createElement("a");
    link.href = reply.url;
    link.download = "";
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    show(`${EXPORT_NAMES[what]}（${FORMAT_NAMES[format]}，${from} 至 ${to}）已开始下载`, "ok");
  }

  // --- wiring ----------------------------------------------------------------------------------

  function attach(dashboard) {
    api = dashboard;
    for (const [id, names] of [["report-period", PERIOD_NAMES], ["report-by", DIMENSION_NAMES],
                               ["errand-by", POINT_DIMENSION_NAMES]]) {
      const select = $(id);
      select.append(...Object.entries(names).map(([value, textContent]) => new Option(
        textContent, value, value === select.dataset.chosen, value === select.dataset.chosen)));
    }
    api.onHello(() => {
      if (!$("report-from").value) setRange("month");
      fillMonths();
    });
    $("report-form").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    for (const button of document.querySelectorAll("[data-range]")) {
      button.addEventListener("click", () => {
        setRange(button.dataset.range);
        load();
      });
    }
    for (const label of document.querySelectorAll("[data-report]")) {
      label.textContent = EXPORT_NAMES[label.dataset.report];
    }
    for (const button of document.querySelectorAll("[data-export]")) {
      button.addEventListener("click", () => exportTable(button.dataset.export, button.dataset.format, button));
    }
    $("kpi-all").addEventListener("change", () => { if (state.kpis) renderKpis(); });
    $("ranking-month").addEventListener("change", loadRanking);
    for (const id of ["errand-month", "errand-by"]) $(id).addEventListener("change", loadErrands);
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(redraw, 150);
    });
  }

  // The tab is on screen: the first time, fill in this month and ask.
  function shown() {
    if (!api || !api.hall()) return;
    if (!$("report-from").value) setRange("month");
    if (!state.loaded) load();
    else redraw();
  }

  window.Reports = { attach, shown };
})();
