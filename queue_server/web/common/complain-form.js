// The citizen's 投诉建议 form, one for the ticket's page (/t/<token>) and the hall's QR page
// (/complain): 投诉 or 建议, the hall's categories, what happened, and a name and phone only when
// the hall keeps them (said with how long); sent with `send` (the page's `complain` request);
// then the number and the code that open its status page (/ts), which shows nothing personal.
// Needs page.js (element).
"use strict";

function complaintForm(hall, send) {
  const { COMPLAINT_KIND_NAMES } = VOCABULARY;
  const error = element("p", { class: "error", role: "alert" });
  const kinds = element("div", { class: "choices", role: "radiogroup", "aria-label": "类型" },
    ...Object.entries(COMPLAINT_KIND_NAMES).map(([value, name], i) => element("label", {},
      element("input", { type: "radio", name: "complaint-kind", value, checked: i === 0 }), name)));
  const category = element("select", { id: "complaint-category" },
    ...hall.complaint_categories.map((c) => element("option", { value: c, textContent: c })));
  const text = element("textarea", { id: "complaint-text", rows: 4, maxLength: 500 });
  const name = element("input", { id: "complaint-name", maxLength: 20, autocomplete: "name" });
  const phone = element("input", { id: "complaint-phone", type: "tel", inputMode: "numeric",
                                   maxLength: 20, autocomplete: "tel" });
  const contact = hall.complaint_keep_contact
    ? [element("label", { htmlFor: "complaint-name" }, "姓名（可不填）"), name,
       element("label", { htmlFor: "complaint-phone" }, "联系电话（可不填，用于回访）"), phone,
       element("p", { class: "note" }, `姓名和电话只有承办人可见，办结 ${hall.complaint_contact_days} 天后删除。`)]
    : [element("p", { class: "note" }, "本大厅不保存投诉人的姓名和电话。")];
  const submit = element("button", { type: "submit", class: "submit" }, "提交");
  const form = element("form", { class: "complaint-form", noValidate: true }, kinds,
    element("label", { htmlFor: "complaint-category" }, "类别"), category,
    element("label", { htmlFor: "complaint-text" }, "内容"), text, ...contact, error, submit);
  text.addEventListener("input", () => { error.textContent = ""; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim()) {
      error.textContent = "请填写投诉建议内容";
      return;
    }
    const params = { kind: form.querySelector("input[name=complaint-kind]:checked").value,
                     category: category.value, text: text.value.trim() };
    if (hall.complaint_keep_contact) {
      params.name = name.value.trim();
      params.phone = phone.value.trim();
    }
    submit.disabled = true;
    const reply = await send(params);
    submit.disabled = false;
    if (!reply.ok) {
      error.textContent = reply.error.message;
      return;
    }
    form.replaceWith(complaintReceived(reply));
  });
  return form;
}

function complaintReceived(reply) {
  const status = `${hallPath()}/ts?number=${encodeURIComponent(reply.complaint)}&code=${reply.code}`;
  return element("div", { class: "complaint-received" },
    element("p", { class: "label" }, "已收到，您的编号"),
    element("p", { id: "complaint-number", class: "complaint-number" }, reply.complaint),
    element("p", { class: "complaint-code" }, "查询码 ", element("strong", { id: "complaint-code" }, reply.code)),
    element("p", { class: "note" }, `请记下编号和查询码，凭此查看办理进度（办理期限 ${reply.deadline}）。`),
    element("a", { id: "complaint-status", class: "submit link-button", href: status }, "查看办理进度"));
}
