// A work list of the manager's dashboard, the one both the 差评工单 (cases.js) and the 投诉建议
// (complaints.js) are: the items still to do, past their deadline first (red), then near it
// (yellow), then by deadline; each with the acts the server says it allows now (`actions`, from
// its table) and whether it is due (`due`, the one deadline rule); the page only asks for the
// words an act needs. An act being filled in is kept while events redraw the list. It shares
// the dashboard's login and connection: manager.js hands `request`, the hello replies and the
// events to each list's `attach`.
//
// workList({ key, event, snapshot, list, summary, empty, actionNames, acts, keep, title,
//            statusText, about, extra, history, actions?, rendered? }): `acts[action]` = { op,
// fixed, fields: [[parameter, label, optional]], choice: [parameter, label, {value: name}],
// prepare(params) }; `actions(view)`: the buttons, when not all the server's `actions`.
"use strict";

function workList(config) {
  const { CASE_DUE_NAMES, WARNING_LEVEL_NAMES } = VOCABULARY;
  const DUE = { red: `▲ ${CASE_DUE_NAMES.red}`, yellow: `● ${CASE_DUE_NAMES.yellow}` };
  const order = { red: 0, yellow: 1 };
  const items = new Map();     // number → its view (the snapshot's, then the events')
  const open = { form: null }; // {number, action, values} of the act being filled in
  const errors = new Map();    // number → the server's refusal of our last act
  let api = null;

  const number = (view) => view[config.key];

  function sorted() {
    return [...items.values()].sort((a, b) => ((order[a.due] ?? 2) - (order[b.due] ?? 2))
      || a.deadline.localeCompare(b.deadline) || number(a).localeCompare(number(b)));
  }

  function form(view, action) {
    const act = config.acts[action];
    const name = config.actionNames[action];
    const node = element("form", { class: "case-form", novalidate: true },
      element("p", { class: "case-form-title", textContent: `${config.title(view)}：${name}` }));
    if (act.choice) {
      const [param, label, choices] = act.choice;
      const select = element("select", { name: param });
      for (const [value, textContent] of Object.entries(choices)) {
        select.append(element("option", { value, textContent }));
      }
      select.value = open.form.values[param] || select.value;
      select.addEventListener("change", () => { open.form.values[param] = select.value; });
      node.append(element("label", {}, label, select));
    }
    for (const [param, label, optional] of act.fields) {
      const area = element("textarea", { name: param, rows: 2, maxLength: 500, required: !optional,
                                         value: open.form.values[param] || "" });
      area.addEventListener("input", () => {
        open.form.values[param] = area.value;
        if (errors.delete(number(view))) node.parentElement.querySelector(".case-error")?.remove();   // stale now
      });
      node.append(element("label", {}, optional ? `${label}（可不填）` : label, area));
    }
    const submit = element("button", { type: "submit", class: "small primary", textContent: `确定${name}` });
    const cancel = element("button", { type: "button", class: "small plain", textContent: "取消" });
    cancel.addEventListener("click", () => { open.form = null; render(); });
    node.append(element("div", { class: "case-acts" }, submit, cancel));
    node.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = { [config.key]: number(view), ...act.fixed };
      for (const field of node.elements) {
        if (field.name) params[field.name] = field.value.trim();
      }
      const missing = act.fields.find(([param, , optional]) => !optional && !params[param]);
      if (missing) {
        errors.set(number(view), `请填写${missing[1]}`);
        render();
        return;
      }
      perform(number(view), act.op, act.prepare ? act.prepare(params) : params);
    });
    return node;
  }

  async function perform(key, op, params) {
    errors.delete(key);
    const reply = await api.request(op, params);
    if (reply.ok) open.form = null;
    else errors.set(key, reply.error.message);
    render();
  }

  function acts(view) {
    const row = element("div", { class: "case-acts" });
    for (const action of config.actions ? config.actions(view) : view.actions) {
      const button = element("button", { type: "button", class: "small plain",
                                         textContent: config.actionNames[action],
                                         disabled: !api.online() });
      button.addEventListener("click", () => {
        open.form = { number: number(view), action, values: {} };   // values: typed so far
        errors.delete(number(view));
        render();
        const list = document.getElementById(config.list);
        const field = list.querySelector(".case-form select, .case-form textarea, .case-form button");
        if (field) {
          field.closest(".case-form").scrollIntoView({ block: "nearest" });
          field.focus();
        }
      });
      row.append(button);
    }
    return row;
  }

  function item(view) {
    const key = number(view);
    const node = element("li", { class: "case", dataset: { [config.key]: key, due: view.due || "" } });
    node.append(element("div", { class: "case-head" },
      element("span", { class: "case-number", textContent: key }),
      element("span", { class: "case-status", textContent: config.statusText(view) }),
      view.due && element("span", { class: "case-due", textContent: DUE[view.due],
                                    title: WARNING_LEVEL_NAMES[view.due] }),
      element("span", { class: "case-deadline", textContent: `期限 ${dateText(view.deadline)}` })));
    node.append(element("p", { class: "case-about", textContent: config.about(view) }));
    const extra = config.extra ? config.extra(view) : null;
    if (extra) node.append(extra);
    const lines = config.history(view);
    if (lines.length) {
      node.append(element("ul", { class: "case-history" },
        ...lines.map((textContent) => element("li", { textContent }))));
    }
    const editing = open.form && open.form.number === key ? open.form.action : null;
    if (editing) node.append(form(view, editing));
    else if (view.actions.length) node.append(acts(view));
    if (errors.has(key)) {
      node.append(element("p", { class: "case-error", role: "alert", textContent: errors.get(key) }));
    }
    return node;
  }

  function render() {
    const list = document.getElementById(config.list);
    if (!list) return;
    const focused = document.activeElement && list.contains(document.activeElement);
    list.textContent = "";
    const all = sorted();
    for (const view of all) list.append(item(view));
    if (!all.length) list.append(element("li", { class: "empty", textContent: config.empty }));
    const red = all.filter((view) => view.due === "red").length;
    const yellow = all.filter((view) => view.due === "yellow").length;
    document.getElementById(config.summary).textContent =
      `待办 ${all.length} 件${red ? `，已超期 ${red}` : ""}${yellow ? `，临近期限 ${yellow}` : ""}`;
    if (config.rendered) config.rendered({ all: all.length, red, yellow });
    if (focused && open.form) {
      const first = list.querySelector(".case-form select, .case-form textarea, .case-form button");
      if (first) first.focus();
    }
  }

  function attach(dashboard) {
    api = dashboard;
    dashboard.onHello((reply) => {
      items.clear();
      errors.clear();
      for (const view of reply.snapshot[config.snapshot] || []) items.set(number(view), view);
      render();
    });
    dashboard.onEvent((event) => {
      if (event.ev !== config.event) return;
      const { ev, seq, at, ...view } = event;
      if (config.keep(view)) items.set(number(view), view);
      else items.delete(number(view));
      render();
    });
  }

  return { attach, render, api: () => api };
}

// "12月7日" of an ISO date.
function dateText(iso) {
  return `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;
}

// Who did an act and when: "主任（zhuren） 12-07 09:15".
function actBy(act) {
  return `${act.by} ${act.at.slice(5, 16).replace("T", " ")}`;
}

// Each 回访 call of a case or a complaint, as its history lists them.
function followUpLines(followUps) {
  const { FOLLOW_UP_NAMES } = VOCABULARY;
  return followUps.map((f) => `第 ${f.attempt} 次回访：${FOLLOW_UP_NAMES[f.result]}${f.note ? `，${f.note}` : ""}（${actBy(f)}）`);
}
