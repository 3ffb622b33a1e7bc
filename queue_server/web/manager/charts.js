// Small SVG charts for the reports page, drawn at the pixel width they are shown at (so that
// text is real 12–13 px type, not scaled), with Chinese axis labels. Each chart is an
// <svg role="img"> with a <title> and a <desc> that says what it shows, value labels on the
// marks where they fit, and under it a <details> table with every value as text.
"use strict";

(() => {
  const NS = "http://www.w3.org/2000/svg";
  let uid = 0;

  function svgNode(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A "nice" axis: 0 … max in 4–6 round steps.
  function niceAxis(max) {
    if (!(max > 0)) return { top: 1, step: 0.25 };
    const raw = max / 5;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
    return { top: Math.ceil(max / step) * step, step };
  }

  // A percentage axis that shows the spread: from 5 points under the lowest value, down to a
  // multiple of 5, to 100 (92–99 % draws from 85 %; anything under 10 % from 0). Ticks at the
  // start and at every multiple of the first of 5, 10, 20, 25 that gives at most 5 steps.
  // A start above 0 is said on the chart itself: bars then do not show their whole value.
  function spreadAxis(low) {
    const from = Math.max(0, Math.floor((low - 5) / 5) * 5);
    const step = [5, 10, 20, 25].find((s) => (100 - from) / s <= 5);
    const ticks = [from];
    for (let v = Math.floor(from / step) * step + step; v <= 100; v += step) {
      if (v - from >= step / 2) ticks.push(v);
    }
    if (ticks[ticks.length - 1] !== 100) ticks.push(100);
    return { from, ticks };
  }

  const trim = (n) => (Number.isInteger(n) ? String(n) : String(Math.round(n * 10) / 10));

  function frame(width, height, title, desc) {
    const id = `chart-${++uid}`;
    const svg = svgNode("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                                 "aria-labelledby": `${id}-t ${id}-d` });
    svg.append(svgNode("title", { id: `${id}-t` }, title), svgNode("desc", { id: `${id}-d` }, desc));
    return svg;
  }

  function dataTable(caption, headers, rows) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = `${caption}（数据表）`;
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const h of headers) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      head.append(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      row.forEach((cell, i) => {
        const td = tr.insertCell();
        td.textContent = cell;
        if (i) td.className = "num";
      });
    }
    details.append(summary, table);
    return details;
  }

  function empty(box, text) {
    box.textContent = "";
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = text;
    box.append(p);
  }

  // Vertical bars by category (the hours), one or more series side by side, optional line
  // series on the same axis. series: [{name, values: [number|null], kind: "bar"|"line", color}].
  function columns(box, { title, labels, series, unit, format = trim, caption }) {
    box.textContent = "";
    const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
    if (!labels.length || !values.length) {
      empty(box, "所选时段没有数据");
      return;
    }
    const width = Math.max(280, Math.floor(box.clientWidth || 420));
    const height = 250;
    const left = 46;
    const right = 10;
    const top = 30;
    const bottom = 40;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const axis = niceAxis(Math.max(...values));
    const y = (v) => top + plotH - (v / axis.top) * plotH;
    const band = plotW / labels.length;
    const bars = series.filter((s) => s.kind !== "line");
    const barW = Math.max(2, Math.min(26, (band * 0.8) / Math.max(1, bars.length)));
    const desc = series.map((s) => `${s.name}：` + labels.map((l, i) =>
      `${l} ${s.values[i] === null || s.values[i] === undefined ? "无" : format(s.values[i])}`).join("，")).join("；");
    const svg = frame(width, height, title, `${desc}（单位：${unit}）`);

    // legend
    let lx = left;
    for (const s of series) {
      const g = svgNode("g", { "aria-hidden": "true" });
      if (s.kind === "line") {
        g.append(svgNode("line", { x1: lx, y1: 12, x2: lx + 16, y2: 12, stroke: s.color, "stroke-width": 3 }),
                 svgNode("circle", { cx: lx + 8, cy: 12, r: 3.5, fill: s.color }));
      } else {
        g.append(svgNode("rect", { x: lx, y: 6, width: 14, height: 12, fill: s.color }));
      }
      const label = svgNode("text", { x: lx + 20, y: 17, "font-size": 13, fill: "#1a1a1a" }, s.name);
      g.append(label);
      svg.append(g);
      lx += 34 + [...s.name].length * 13;
    }
    svg.append(svgNode("text", { x: width - right, y: 17, "font-size": 12, fill: "#4a4a4a",
                                 "text-anchor": "end", "aria-hidden": "true" }, `单位：${unit}`));

    // grid and y axis
    for (let v = 0; v <= axis.top + 1e-9; v += axis.step) {
      svg.append(svgNode("line", { x1: left, x2: width - right, y1: y(v), y2: y(v),
                                   stroke: v ? "#dde3ea" : "#6b7785" }));
      svg.append(svgNode("text", { x: left - 6, y: y(v) + 4, "font-size": 12, fill: "#4a4a4a",
                                   "text-anchor": "end", "aria-hidden": "true" }, trim(v)));
    }
    // x labels: every one if they fit, else every other
    const every = band < 28 ? 2 : 1;
    labels.forEach((label, i) => {
      if (i % every) return;
      svg.append(svgNode("text", { x: left + band * (i + 0.5), y: height - bottom + 16, "font-size": 12,
                                   fill: "#1a1a1a", "text-anchor": "middle", "aria-hidden": "true" }, label));
    });
    // bars
    const showValues = band >= bars.length * 22;
    bars.forEach((s, k) => {
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const x = left + band * i + (band - barW * bars.length) / 2 + k * barW;
        const rect = svgNode("rect", { x, y: y(v), width: barW - 1, height: Math.max(0, y(0) - y(v)),
                                       fill: s.color });
        rect.append(svgNode("title", {}, `${labels[i]} ${s.name} ${format(v)} ${unit}`));
        svg.append(rect);
        if (showValues && v > 0) {
          svg.append(svgNode("text", { x: x + barW / 2, y: y(v) - 3, "font-size": 11, fill: "#1a1a1a",
                                       "text-anchor": "middle", "aria-hidden": "true" }, format(v)));
        }
      });
    });
    // lines
    for (const s of series.filter((x) => x.kind === "line")) {
      const points = s.values.map((v, i) => (v === null || v === undefined ? null
        : [left + band * (i + 0.5), y(v), v, i]));
      let d = "";
      let pen = "M";
      for (const p of points) {
        if (!p) { pen = "M"; continue; }
        d += `${pen}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
        pen = "L";
      }
      svg.append(svgNode("path", { d, fill: "none", stroke: s.color, "stroke-width": 2.5 }));
      for (const p of points.filter(Boolean)) {
        const dot = svgNode("circle", { cx: p[0], cy: p[1], r: 3.5, fill: s.color });
        dot.append(svgNode("title", {}, `${labels[p[3]]} ${s.name} ${format(p[2])} ${unit}`));
        svg.append(dot);
        if (showValues && bars.length === 0) {
          svg.append(svgNode("text", { x: p[0], y: p[1] - 7, "font-size": 11, fill: "#1a1a1a",
                                       "text-anchor": "middle", "aria-hidden": "true" }, format(p[2])));
        }
      }
    }
    box.append(svg, dataTable(caption || title, ["时段", ...series.map((s) => `${s.name}（${unit}）`)],
      labels.map((l, i) => [l, ...series.map((s) => (s.values[i] === null || s.values[i] === undefined
        ? "—" : format(s.values[i])))])));
  }

  // Horizontal bars, one per row, in the order given. rows: [{label, value (0–100), note}].
  // spread: the axis starts under the lowest value (spreadAxis), not at 0.
  function hbars(box, { title, rows, unit, max = 100, caption, omitted = 0, spread = false }) {
    box.textContent = "";
    if (!rows.length) {
      empty(box, "所选时段没有评价");
      return;
    }
    const width = Math.max(280, Math.floor(box.clientWidth || 420));
    const rowH = 22;
    const labelW = Math.min(240, Math.floor(width * 0.42));
    const fits = Math.max(4, Math.floor((labelW - 4) / 12.5));   // characters of a label that fit
    const valueW = 54;
    const top = 6;
    const gapRow = omitted ? 1 : 0;
    const axis = spread ? spreadAxis(Math.min(...rows.map((r) => r.value)))
      : { from: 0, ticks: [0, 25, 50, 75, 100].map((v) => (v / 100) * max) };
    const cut = axis.from > 0 ? `横轴从 ${axis.from}${unit} 起，条形长度只表示高出 ${axis.from}${unit} 的部分` : "";
    const height = top + (rows.length + gapRow) * rowH + 22 + (cut ? 18 : 0);
    const plotW = width - labelW - valueW - 8;
    const scale = (v) => ((v - axis.from) / (max - axis.from)) * plotW;
    const desc = rows.map((r) => `${r.label} ${trim(r.value)}${unit}${r.note ? `（${r.note}）` : ""}`).join("，")
      + (cut ? `（${cut}）` : "");
    const svg = frame(width, height, title, desc);
    let row = 0;
    const half = omitted ? rows.length / 2 : Infinity;
    rows.forEach((r, i) => {
      if (i === half) {
        svg.append(svgNode("text", { x: labelW + 8, y: top + row * rowH + 15, "font-size": 12, fill: "#4a4a4a" },
                           `…… 中间 ${omitted} 个窗口略（见数据表）`));
        row += 1;
      }
      const yy = top + row * rowH;
      const label = [...r.label].length > fits ? `${[...r.label].slice(0, fits - 1).join("")}…` : r.label;
      const text = svgNode("text", { x: labelW, y: yy + 15, "font-size": 12.5, fill: "#1a1a1a",
                                     "text-anchor": "end", "aria-hidden": "true" }, label);
      svg.append(text);
      const w = Math.max(1, scale(r.value));
      const bar = svgNode("rect", { x: labelW + 6, y: yy + 4, width: w, height: rowH - 8,
                                    fill: "#0b57a4" });
      bar.append(svgNode("title", {}, `${r.label} ${trim(r.value)}${unit}${r.note ? `（${r.note}）` : ""}`));
      svg.append(bar);
      svg.append(svgNode("text", { x: labelW + 10 + w, y: yy + 15, "font-size": 12, fill: "#1a1a1a",
                                   "aria-hidden": "true" }, `${trim(r.value)}${unit}`));
      row += 1;
    });
    const axisY = top + row * rowH + 4;
    svg.append(svgNode("line", { x1: labelW + 6, x2: labelW + 6 + plotW, y1: axisY, y2: axisY, stroke: "#6b7785" }));
    for (const v of axis.ticks) {
      const x = labelW + 6 + scale(v);
      svg.append(svgNode("line", { x1: x, x2: x, y1: axisY, y2: axisY + 4, stroke: "#6b7785",
                                   class: "tick" }));
      svg.append(svgNode("text", { x, y: axisY + 16, "font-size": 11, fill: "#4a4a4a", "text-anchor": "middle",
                                   class: "tick-label", "aria-hidden": "true" }, `${trim(v)}${unit}`));
    }
    if (cut) {   // the axis does not start at 0: a break on it, and the words
      const x0 = labelW + 6;
      svg.append(svgNode("path", { d: `M${x0 - 4},${axisY + 4} l4,-8 M${x0},${axisY + 4} l4,-8`,
                                   stroke: "#6b7785", fill: "none", "aria-hidden": "true" }));
      svg.append(svgNode("text", { x: 4, y: axisY + 32, "font-size": 11.5, fill: "#4a4a4a",
                                   class: "axis-note", "aria-hidden": "true" },
                         `⚠ 横轴从 ${axis.from}${unit} 起，不从 0 起`));
    }
    box.append(svg);
    return svg;
  }

  window.HallCharts = { columns, hbars, dataTable, niceAxis, spreadAxis };
})();
