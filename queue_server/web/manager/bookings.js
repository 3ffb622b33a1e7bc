// The 今日预约 pane of the dashboard (beside the 差评工单, one shown at a time): today's bookings
// per category and slot (a line each: the category's prefix, the slot's start, its check-in
// window at the kiosk) counted by how they stand; and a notice each time a phone is blocked for no-shows (the server sends no number,
// only until when and how many). The snapshot holds today's bookings (`bookings`); each
// `booking` event is one booking as it stands now, made or moved, and replaces what is known of
// it. The counts' names are the appointments' KPIs' (BOOKING_METRICS), in the column heads
// their short forms (BOOKING_SHORT_NAMES) so that each head is one line in the side column.
"use strict";

(() => {
  const { BOOKING_METRICS, BOOKING_COUNTED, BOOKING_SHORT_NAMES } = VOCABULARY;
  const NAMES = Object.fromEntries(BOOKING_METRICS.map(([key, name]) => [key, name]));
  // booked, then a count per status, in the KPIs' order
  const COUNTED = BOOKING_METRICS.map(([key]) => key)
    .filter((key) => key === "booked" || Object.values(BOOKING_COUNTED).includes(key));
  const NONE = "今天没有预约";
  const bookings = new Map();   // code → its view, today's only
  let notices = [];             // the phones blocked since the page opened today
  let categories = [];
  let today = null;
  let shown = "cases";

  const zero = () => Object.fromEntries(COUNTED.map((key) => [key, 0]));

  function count(into, view) {
    into.booked += 1;
    into[view.counted_as] += 1;   // the server's rule (bookings.counted_as)
  }

  function show(which) {
    shown = which;
    for (const pane of ["cases", "bookings"]) {
      $(`${pane}-pane`).hidden = pane !== which;
      $(`${pane}-title`).setAttribute("aria-selected", String(pane === which));
    }
  }

  function render() {
    const slots = new Map();   // "A 08:30" → {category, view (its first booking), counts}
    const total = zero();
    for (const view of bookings.values()) {
      const key = `${view.category} ${view.slot}`;
      if (!slots.has(key)) slots.set(key, { category: view.category, view, counts: zero() });
      count(slots.get(key).counts, view);
      count(total, view);
    }
    // 大厅撤销 only on a day that has some: rare (a category or a day the hall gave up), and the
    // pane is narrow
    const keys = COUNTED.filter((key) => key !== "withdrawn" || total.withdrawn);
    $("bookings-head").replaceChildren(
      ...["类别", "时段", "可签到"].map((textContent) => element("th", { scope: "col", textContent })),
      ...keys.map((key) => element("th", { scope: "col", class: "num", title: NAMES[key],
                                           "aria-label": NAMES[key],
                                           textContent: BOOKING_SHORT_NAMES[key] || NAMES[key] })));
    $("bookings-count").textContent = ` ${total.booked}${notices.length ? " ⚠" : ""}`;
    $("bookings-summary").textContent = total.booked
      ? keys.map((key) => `${NAMES[key]}\u00a0${total[key]}`).join(" · ")   // a name by its count
      : NONE;
    $("booking-notices").replaceChildren(...notices.map((n) => element("li", {
      class: "booking-notice",
      textContent: `⚠ ${clockOf(n.at)} 一个手机号爽约达 ${n.no_shows} 次，暂停预约至${dateText(n.until)}`,
    })));
    const body = $("bookings");
    body.textContent = "";
    const order = [...slots.values()].sort((a, b) => (a.category.localeCompare(b.category)
      || a.view.slot.localeCompare(b.view.slot)));
    for (const { category, view, counts } of order) {
      const def = categories.find((c) => c.prefix === category);
      body.append(element("tr", { dataset: { category, slot: view.slot,
                                             expected: counts.expected ? "yes" : "no" } },
        element("td", { title: def ? def.name : "", textContent: category }),
        element("th", { scope: "row", class: "booking-slot", title: view.slot_text,
                        textContent: view.slot }),
        // none for a category that no longer takes bookings (its bookings withdrawn)
        element("td", { class: "check-in-window", textContent: view.check_in_from
          ? `${view.check_in_from}–${view.check_in_until}` : "—" }),
        ...keys.map((key) => element("td", { class: `num ${key}`,
                                                textContent: String(counts[key]) }))));
    }
    if (!order.length) {
      body.append(element("tr", {}, element("td", { colSpan: keys.length + 3, class: "empty",
                                                    textContent: NONE })));
    }
  }

  function attach(dashboard) {
    for (const pane of ["cases", "bookings"]) $(`${pane}-title`).addEventListener("click", () => show(pane));
    dashboard.onHello((reply) => {
      const snapshot = reply.snapshot;
      if (snapshot.live.day !== today) notices = [];
      today = snapshot.live.day;
      categories = snapshot.hall.categories;
      bookings.clear();
      for (const view of snapshot.bookings || []) bookings.set(view.booking, view);
      show(shown);
      render();
    });
    dashboard.onEvent((event) => {
      if (event.ev === "booking" && event.day === today) {
        bookings.set(event.booking, event);
        render();
      } else if (event.ev === "booking_blocked") {
        notices.push(event);
        render();
      }
    });
  }

  window.Bookings = { attach };
})();
