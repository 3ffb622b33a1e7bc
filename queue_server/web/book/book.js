// The hall's booking page (/book, 网上预约): a category (or one of its items), a day of the
// booking horizon, a slot with its free places, then a phone number and the ID card's last four
// digits; the booking's code, its QR (made by the server: the code's 8 digits, what the kiosk's
// check-in takes) and when to check in. A booking is cancelled with its code and the phone or
// the four digits. It speaks the hall protocol as `booking` (docs/appointments.md); every
// refusal is shown in the server's words. The bookings made on this phone are remembered here
// (localStorage) and listed on top, 我的预约, until their day is past.
"use strict";

const { BOOKING_STATUS_NAMES } = VOCABULARY;   // 已预约, 已取消 … from the server
const MINE = `book:bookings:${location.pathname}`;   // one list per hall (/book, /h/<code>/book)
const PHONE = /^1[3-9][0-9]{9}$/;
const ID_DIGITS = /^[0-9]{3}[0-9X]$/;
let menu = [];
let chosen = null;   // {category, item, day, slot}
let shown = null;    // the booking on the done step
let serviceDay = null;   // the hall's day, as the server said it at hello

// What a citizen typed, as the server reads it: full-width digits and letters made plain,
// spaces and dashes dropped, x made X.
function typed(text) {
  return text.normalize("NFKC").replace(/[\s-]/g, "").toUpperCase();
}

const remembered = () => storedList(MINE);
const remember = (list) => storeList(MINE, list);

// 我的预约: this phone's bookings of `today` and later (offline too: the code and QR are kept
// here); the past ones are forgotten once the server has said the hall's day.
function showMine() {
  const mine = remembered().filter((b) => b.booking.day >= (serviceDay || localDay()));
  if (serviceDay) remember(mine);
  $("mine").hidden = mine.length === 0;
  $("mine-list").replaceChildren(...mine.map((b) => element("li", {},
    element("button", { type: "button", class: "item", onclick: () => showBooking(b) },
      `${b.booking.day_text} ${b.booking.slot_text} · ${what(b.booking)}`,
      element("span", { class: "mine-code" },
        `预约码 ${spaced(b.booking.booking)}${b.cancelled ? ` · ${BOOKING_STATUS_NAMES.cancelled}` : ""}`)))));
}

function what(booking) {
  return booking.service_name ? `${booking.category_name} · ${booking.service_name}` : booking.category_name;
}

// "1234 5678": easier to read out and to type at the kiosk (which takes it with the space).
function spaced(code) {
  return `${code.slice(0, 4)} ${code.slice(4)}`;
}

function step(name) {
  for (const id of ["items-step", "when-step", "who-step", "done-step", "cancel-step"]) {
    $(id).hidden = id !== name;
  }
  if (name === "items-step") showMine();
  else $("mine").hidden = true;
  window.scrollTo(0, 0);
}

const socket = new HallSocket({ role: "booking" }, {
  onStatus: (state) => {
    if (state === "online") linkStatus("已连接");
    else if (state === "offline") linkStatus("连接中断，正在重新连接…（已填写的内容不会丢失）", true);
    else linkStatus("正在连接…");
  },
  onHello: (reply) => {
    const hall = reply.snapshot.hall;
    $("hall").textContent = `${hall.name} · 网上预约`;
    $("phone-line").textContent = `咨询电话 ${hall.consultation_phone}`;
    serviceDay = reply.service_day;
    if (!$("items-step").hidden) showMine();
    showMenu(reply.menu);
  },
});

// Each category taking bookings, with its items (a category without items is booked by its name).
function showMenu(given) {
  menu = given;
  $("menu-state").hidden = given.length > 0;
  $("menu-state").textContent = "本大厅暂未开放网上预约，请到大厅取号机现场取号";
  $("categories").replaceChildren(...given.map((category) => {
    const choices = category.items.length ? category.items : [null];
    return element("section", { class: "card category", dataset: { prefix: category.prefix } },
      element("h2", {}, category.name),
      element("p", { class: "waiting" },
        `每个时段 ${category.slot_minutes} 分钟；每个手机号每天限约 ${category.per_phone_per_day} 次`),
      ...choices.map((item) => element("button", {
        type: "button", class: "item", textContent: item ? item.name : `预约：${category.name}`,
        onclick: () => chooseItem(category, item),
      })));
  }));
  if (chosen && !$("when-step").hidden) {   // the days as the server says them now
    const now = given.find((c) => c.prefix === chosen.category.prefix);
    if (now) showDays({ ...chosen, category: now });
  }
}

function chooseItem(category, item) {
  showDays({ category, item, day: null, slot: null });
  $("slots-card").hidden = true;
  step("when-step");
}

// The horizon's days: an open one lists its slots; a closed one is shown closed, and a tap on
// it brings the server's reason.
function showDays(choice) {
  chosen = choice;
  $("chosen").textContent = choice.item ? `${choice.category.name} · ${choice.item.name}` : choice.category.name;
  $("days").replaceChildren(...choice.category.days.map((d) => element("button", {
    type: "button", class: "day" + (d.open ? "" : " closed"),
    "aria-pressed": String(choice.day === d.day), dataset: { day: d.day },
    onclick: () => chooseDay(d.day),
  }, d.text, element("span", {}, d.open ? "可预约" : "不办公"))));
}

async function chooseDay(day) {
  chosen = { ...chosen, day, slot: null };
  showDays(chosen);
  await showSlots();
}

async function showSlots() {
  const { category, day } = chosen;
  $("slots-card").hidden = false;
  $("slots-error").textContent = "";
  $("slots").replaceChildren();
  $("slots-day").textContent = category.days.find((d) => d.day === day).text;
  const reply = await socket.request("booking_slots", { category: category.prefix, day });
  if (chosen.day !== day) return;   // another day was tapped meanwhile
  if (!reply.ok) {
    $("slots-error").textContent = reply.error.message;
    return;
  }
  $("slots-day").textContent = `${reply.day_text} 可选时段`;
  $("slots").replaceChildren(...reply.slots.map((s) => element("button", {
    type: "button", class: "slot", disabled: !s.open, dataset: { slot: s.slot },
    onclick: () => chooseSlot(reply, s),
  }, s.text, element("span", {},
    s.free === 0 ? "已约满" : s.open ? `剩余 ${s.free} 个` : "已过预约时间"))));
  $("slots-card").scrollIntoView({ block: "start" });
}

function chooseSlot(day, slot) {
  chosen = { ...chosen, slot: slot.slot, slotText: `${day.day_text}\n${slot.text}` };
  $("chosen-slot").textContent = `${$("chosen").textContent}\n${chosen.slotText}`;
  for (const id of ["phone-error", "id-error", "book-error"]) $(id).textContent = "";
  step("who-step");
  $("phone").focus();
}

// The page's own checks, before anything is sent; each says what is wrong.
function phoneProblem(text) {
  const phone = typed(text);
  if (!phone) return "请填写手机号码";
  if (!/^[0-9]+$/.test(phone)) return "手机号码只能是数字";
  if (phone.length !== 11) return `手机号码应为 11 位，您填了 ${phone.length} 位`;
  if (!PHONE.test(phone)) return "请填写正确的手机号码（1 开头，第二位是 3 到 9）";
  return "";
}

function idProblem(text) {
  const digits = typed(text);
  if (!digits) return "请填写身份证号码的后四位";
  if (digits.length !== 4) return `只需身份证号码的后四位，您填了 ${digits.length} 位`;
  if (!ID_DIGITS.test(digits)) return "后四位应为数字，只有最后一位可以是 X";
  return "";
}

$("phone").addEventListener("input", () => { $("phone-error").textContent = ""; });
$("id-digits").addEventListener("input", () => { $("id-error").textContent = ""; });

$("who-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  const phoneSaid = phoneProblem($("phone").value);
  const idSaid = idProblem($("id-digits").value);
  $("phone-error").textContent = phoneSaid;
  $("id-error").textContent = idSaid;
  $("book-error").textContent = "";
  if (phoneSaid || idSaid) return;
  $("book").disabled = true;
  const reply = await socket.request("book", {
    category: chosen.category.prefix, day: chosen.day, slot: chosen.slot,
    phone: typed($("phone").value), id_digits: typed($("id-digits").value),
    service: chosen.item ? chosen.item.code : null,
  });
  $("book").disabled = false;
  if (!reply.ok) {   // full, blocked, too many, offline: as the server (or the socket) says it
    $("book-error").textContent = reply.error.message;
    return;
  }
  const mine = { booking: reply.booking, qr: reply.qr, cancelled: false };
  remember([...remembered(), mine]);
  $("phone").value = "";
  $("id-digits").value = "";
  showBooking(mine, true);
});

function showBooking(mine, fresh = false) {
  shown = mine;
  const b = mine.booking;
  $("done-title").textContent = mine.cancelled ? `此预约${BOOKING_STATUS_NAMES.cancelled}` :
    fresh ? "预约成功，您的预约码" : "您的预约码";
  $("done-code").textContent = spaced(b.booking);
  $("done-code").className = "code" + (mine.cancelled ? " cancelled" : "");
  $("done-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(mine.qr)}`;
  $("done-qr").hidden = mine.cancelled;
  $("done-what").textContent = what(b);
  $("done-when").textContent = `${b.day_text}\n${b.slot_text}`;
  $("done-window").textContent = `${b.check_in_from}–${b.check_in_until}`;
  $("done-how").textContent = mine.cancelled ? "此预约已取消，如需办理请重新预约或现场取号。" :
    `请于 ${b.day_text} ${b.check_in_from}–${b.check_in_until} 到大厅取号机签到：扫描上方二维码或输入预约码，取得排队号。` +
    `超过 ${b.check_in_until} 预约失效，需现场取号。请截图或记下预约码。`;
  $("done-cancel").hidden = mine.cancelled;
  step("done-step");
}

function openCancel(code = "") {
  $("cancel-code").value = code;
  $("cancel-proof").value = "";
  $("cancel-error").textContent = "";
  $("cancel-done").hidden = true;
  $("cancel").disabled = false;
  step("cancel-step");
  (code ? $("cancel-proof") : $("cancel-code")).focus();
}

$("cancel-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = typed($("cancel-code").value);
  const proof = typed($("cancel-proof").value);
  $("cancel-done").hidden = true;
  let problem = "";
  if (!/^[0-9]{8}$/.test(code)) problem = "预约码是 8 位数字，请核对";
  else if (!proof) problem = "请填写预约时的手机号码或身份证后四位";
  else if (proof.length === 4) problem = idProblem(proof);
  else problem = phoneProblem(proof);
  $("cancel-error").textContent = problem;
  if (problem) return;
  if (!window.confirm(`确定取消预约 ${spaced(code)} 吗？取消后该时段可能被他人预约。`)) return;
  $("cancel").disabled = true;
  const reply = await socket.request("cancel_booking",
    proof.length === 4 ? { code, id_digits: proof } : { code, phone: proof });
  $("cancel").disabled = false;
  if (!reply.ok) {
    $("cancel-error").textContent = reply.error.message;
    return;
  }
  const b = reply.booking;
  remember(remembered().map((m) => (m.booking.booking === code ? { ...m, cancelled: true } : m)));
  $("cancel-done").textContent = `已取消预约 ${spaced(code)}（${b.day_text} ${b.slot_text}，${what(b)}）`;
  $("cancel-done").hidden = false;
  $("cancel").disabled = true;
});

$("to-cancel").addEventListener("click", () => openCancel());
$("done-cancel").addEventListener("click", () => openCancel(shown.booking.booking));
$("done-back").addEventListener("click", () => step("items-step"));
$("back-cancel").addEventListener("click", () => step("items-step"));
$("back-items").addEventListener("click", () => { chosen = null; step("items-step"); });
$("back-when").addEventListener("click", async () => {
  step("when-step");
  await showSlots();   // the places as they are now
});

showMine();
