// The hall's mobile 取号 page (/take, the QR posted at the hall's entrance): today's hall code,
// then the hall's items with the kiosk's words for each (open or not, 今日已取完, 暂无窗口办理,
// how many wait; all said by the server, `take_menu`), then a phone number and a priority, and
// the ticket's own page (/t/<token>) once it is taken. It speaks the hall protocol as `mobile`.
// The tickets taken on this phone today are remembered here (localStorage) and listed on top,
// 我今天取的号, whatever the hall's state: the way back to one's ticket after the page is closed
// (the server, asked again with the same phone, tells the number only, never the link).
"use strict";

const { KIOSK_PRIORITY_NAMES } = VOCABULARY;   // the kiosk's choices, from the server
const MENU_SECONDS = 20;   // how often the list is asked again while it is shown
let socket = null;
let menu = null;
let chosen = null;   // {category, item}
let timer = null;
let serviceDay = null;   // the hall's day, as the server said it at hello
const MINE = `take:tickets:${location.pathname}`;   // one list per hall (/take, /h/<code>/take)

const remembered = () => storedList(MINE);
const remember = (list) => storeList(MINE, list);

// 我今天取的号: this phone's tickets of `day`. With `forget` (the hall's own day, as the server
// said it) every other day's are forgotten; never on the phone's own guess at load, which a phone
// set to another time zone gets wrong after midnight in the hall (its tickets were lost).
function showMine(day, forget) {
  const mine = remembered().filter((t) => t.day === day);
  if (forget) remember(mine);
  $("mine").hidden = mine.length === 0;
  $("mine-list").replaceChildren(...mine.map((t) => element("li", {},
    element("a", { href: t.url }, `${t.number} ${t.category} · 查看排队进度`))));
}

function step(name) {
  for (const id of ["code-step", "items-step", "phone-step", "done-step"]) {
    $(id).hidden = id !== name;
  }
  clearInterval(timer);
  if (name === "items-step") timer = setInterval(refresh, MENU_SECONDS * 1000);
  window.scrollTo(0, 0);
}

// Back to the code: a wrong one, yesterday's (the hall's day has started anew), or too many tries.
function askCode(message) {
  if (socket) socket.stop();
  socket = null;
  codeRefused(message);
  step("code-step");
  $("code").focus();
}

hallCodeStep((code) => {
  if (socket) socket.stop();
  socket = mobileSocket(code, "已连接，请选择事项", {
    onHello: (reply) => {
      const hall = reply.snapshot.hall;
      $("hall").textContent = `${hall.name} · 手机取号`;
      $("phone-line").textContent = `咨询电话 ${hall.consultation_phone}`;
      $("code-go").disabled = false;
      serviceDay = reply.service_day;
      showMine(serviceDay, true);
      showMenu(reply.menu);
      if (!$("code-step").hidden) step("items-step");
    },
    onRefused: (error) => askCode(error.message),
  });
});

async function refresh() {
  if (!socket) return;
  const reply = await socket.request("take_menu");
  if (reply.ok) showMenu(reply.menu);
  else if (reply.error.code === "unauthorized") askCode(reply.error.message);
}

function mark(ok, text) {
  return element("p", { class: ok ? "state ok" : "state warn" }, `${ok ? "✓" : "⚠"} ${text}`);
}

$("phone").addEventListener("input", () => {
  $("take-error").textContent = "";
});

// Each category, with the kiosk's words before any tap, and its items (a category without
// items of its own is taken by its name).
function showMenu(given) {
  menu = given;
  const banner = $("hall-state");
  banner.textContent = given.text;
  banner.className = "banner" + (given.takeable ? "" : " closed");
  const list = $("categories");
  list.replaceChildren();
  for (const category of given.categories) {
    const choices = category.items.length
      ? category.items.map((item) => ({ category, item }))
      : [{ category, item: null }];
    const buttons = choices.map((choice) => element("button", {
      type: "button", class: "item", disabled: !category.takeable,
      textContent: choice.item ? choice.item.name : `取号：${category.name}`,
      onclick: () => choose(choice),
    }));
    list.append(element("section", { class: "card category", dataset: { prefix: category.prefix } },
      element("h2", {}, category.name),
      // the hall's own state (closed) is said once, above; a category's own, here
      category.text === given.text ? null : mark(category.ok, category.text),
      category.waiting ? element("p", { class: "waiting" }, category.waiting) : null,
      ...buttons));
  }
  if (chosen) {   // the form is open: say what the server says of its category now
    const now = given.categories.find((c) => c.prefix === chosen.category.prefix);
    if (now) showChosen({ ...chosen, category: now });
  }
}

function showChosen(choice) {
  chosen = choice;
  $("chosen").textContent = choice.item
    ? `${choice.category.name} · ${choice.item.name}` : choice.category.name;
  $("chosen-state").textContent = [choice.category.text, choice.category.waiting]
    .filter(Boolean).join("，");
  $("take").disabled = !choice.category.takeable;
}

function choose(choice) {
  showChosen(choice);
  $("take-error").textContent = "";
  step("phone-step");
}

function priorities() {
  const box = $("priorities");
  for (const [code, name] of Object.entries(KIOSK_PRIORITY_NAMES)) {
    box.append(element("label", {},
      element("input", { type: "radio", name: "priority", value: code, checked: code === "normal" }),
      name));
  }
}

$("back").addEventListener("click", () => {
  chosen = null;
  step("items-step");
  refresh();
});

$("phone-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  const phone = $("phone").value;   // checked by the server, which says what is wrong
  $("take-error").textContent = "";
  $("take").disabled = true;
  const priority = document.querySelector("input[name=priority]:checked").value;
  const reply = await socket.request("take_ticket", {
    category: chosen.category.prefix, service: chosen.item ? chosen.item.code : null,
    kind: chosen.category.kind, priority, phone,
  });
  $("take").disabled = false;
  if (reply.ok) {
    const ticket = reply.ticket;
    remember([...remembered(), { day: serviceDay, number: ticket.number,
      category: ticket.category_name, url: ticket.url }]);
    $("done-number").textContent = ticket.number;
    $("done-link").href = ticket.url;
    step("done-step");
    socket.stop();
    location.assign(ticket.url);
    return;
  }
  $("take-error").textContent = reply.error.message;
  if (reply.error.code === "unauthorized") askCode(reply.error.message);
  else refresh();
});

priorities();
showMine(localDay(), false);   // until the server says the hall's day
$("code").focus();
