// What the pages share besides the socket: building DOM nodes, the KPIs' names, showing the
// hall's own time even on a PC whose clock is off (the staff pages), and the lists a citizen's
// phone keeps of what it took or booked (/take, /book).
"use strict";

const $ = (id) => document.getElementById(id);

// KPI key → its Chinese name, from the server's vocabulary (/common/vocabulary.js).
const METRIC_NAMES = Object.fromEntries(VOCABULARY.METRICS.map(([key, name]) => [key, name]));

// element("button", {class: "big", textContent: "确定", dataset: {key: "1"}}, child, …):
// props that are null or undefined are left out, as are null, undefined and false children.
function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// The login form of the manager's and the county's pages (#login-form, #user, #password,
// #login-error): `logIn(user, password)` once both are given.
function onLoginForm(logIn) {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const user = $("user").value.trim();
    const password = $("password").value;
    if (!user || !password) {
      $("login-error").textContent = "请输入用户名和密码";
      return;
    }
    $("login-error").textContent = "";
    logIn(user, password);
  });
}

// How far this PC's clock is from the server's, from the `at` (whole seconds) of a frame the
// server just sent: 0 while they agree within a few seconds, else the difference (ms).
function clockSkew(at, skew) {
  if (!at) return skew;
  const estimate = Date.parse(at) - Date.now();   // 0 … −1 s when in step
  if (Number.isNaN(estimate)) return skew;
  return estimate > 2000 || estimate < -3000 ? estimate + 500 : 0;
}

// "11月24日 周二 09:15:02" at `ms` in the hall's time zone (this PC's own if the name is unknown).
function hallClockText(zone, ms) {
  const options = { month: "numeric", day: "numeric", weekday: "short", hour: "2-digit",
                    minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  let parts;
  try {
    parts = new Intl.DateTimeFormat("zh-CN", { ...options, timeZone: zone || undefined })
      .formatToParts(new Date(ms));
  } catch (error) {
    parts = new Intl.DateTimeFormat("zh-CN", options).formatToParts(new Date(ms));
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.month}月${p.day}日 ${p.weekday} ${p.hour}:${p.minute}:${p.second}`;
}

// The date of today as this phone's clock says it (the hall's own day comes from the server).
function localDay() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

// A list kept on this phone (localStorage) under `key`: [] when there is none or it is unreadable.
function storedList(key) {
  try {
    const list = JSON.parse(localStorage.getItem(key) || "[]");
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function storeList(key, list) {
  try {
    localStorage.setItem(key, JSON.stringify(list));
  } catch {
    // private browsing with no storage: the list is only lost; the server keeps what it holds
  }
}
