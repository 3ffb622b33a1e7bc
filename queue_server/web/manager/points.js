// The dashboard's 代办点 panel (docs/manager.md): a line per village point of the hall, its sync
// as the town sees it (op `points`): when it last connected, the entries of its log the town
// holds, the town's answers it has not confirmed yet (待下发), and a warning when its clock is
// off. Asked at each hello, when a point's cases change (event `point_cases`: its entries came
// in, or a clerk answered), and every minute (a point's contact makes no event). Hidden while
// the hall has no point.
"use strict";

(() => {
  const EVERY_MS = 60000;
  let asking = false;   // a `points` request is under way …
  let again = false;    // … and another one is wanted after it

  const when = (iso) => (iso
    ? `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日 ${iso.slice(11, 16)}` : "从未连接");

  function line(p) {
    return element("li", { dataset: { point: p.point } },
      element("span", { class: "point-name", textContent: `${p.name}（${p.point}）` }),
      element("span", { class: "point-contact", textContent: p.installed
        ? `最近联系 ${when(p.last_contact)}` : "尚未安装" }),
      element("span", { textContent: `已收 ${p.up_last} 条` }),
      element("span", { class: "point-pending", dataset: { some: p.down_pending ? "yes" : "" },
                        textContent: `待下发 ${p.down_pending} 条` }),
      p.clock_warning ? element("span", { class: "bad", textContent: `⚠ ${p.clock_warning}` }) : null);
  }

  function render(points) {
    $("points-panel").hidden = !points.length;
    const pending = points.reduce((sum, p) => sum + p.down_pending, 0);
    $("points-summary").textContent = `${points.length} 个` + (pending ? `，待下发 ${pending} 条` : "");
    $("points").replaceChildren(...points.map(line));
  }

  function attach(dashboard) {
    const refresh = async () => {
      if (asking) {
        again = true;
        return;
      }
      asking = true;
      const reply = await dashboard.request("points");
      asking = false;
      if (reply.ok) render(reply.points);
      if (again) {
        again = false;
        refresh();
      }
    };
    dashboard.onHello(refresh);
    dashboard.onEvent((event) => { if (event.ev === "point_cases") refresh(); });
    setInterval(refresh, EVERY_MS);
  }

  window.Points = { attach };
})();
