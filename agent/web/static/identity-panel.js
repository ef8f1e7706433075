// The identity panel: the last card read at one counter, as the agent's panel stream
// sends it (/api/v1/identity/panel/stream?counter=…). Shared by the counter console,
// the clinic's reception page and the small page /identity/panel. A page that already
// holds the agent's event stream mounts it with {shared: true} and calls changed(counter)
// on each "identity.panel" event (and changed() when its stream reconnects): the panel
// then fetches its view instead of opening a stream of its own. It keeps nothing:
// the holder's data lives in the page only while shown, and the agent clears it.
(function () {
  const T = {
    title: "Kết quả đọc thẻ căn cước", idle: "Chưa có thẻ nào được đọc ở đây.",
    counter: c => "Quầy " + c, clear: "Xóa", copy: "Sao chép", copied: "Đã chép",
    type: "Gõ vào ô đang nhập", typeHint: f => "Sẽ gõ: " + f.join(" → "),
    countdown: n => "Hãy bấm vào ô cần điền… gõ sau " + n + " giây", typing: "Đang gõ…",
    typed: n => "Đã gõ " + n + " trường.", noPersonal: "Vai trò này không được xem thông tin cá nhân của người làm thủ tục.",
    offline: "Mất kết nối với máy trạm, đang thử lại…", reading: "Đang đọc chip…", waiting: "Thẻ đã đặt: quét mã QR trên thẻ hoặc nhập số",
    keyLabel: "Không quét được mã QR? Nhập 6 chữ số in ở góc mặt trước thẻ, hoặc số định danh (12 chữ số):",
    birthLabel: "Ngày sinh (ngày/tháng/năm):", keySend: "Đọc chip", keySent: "Đã nhận số: hãy để thẻ trên đầu đọc…",
    keyBad: "Nhập 6 chữ số in trên thẻ, hoặc số định danh 12 chữ số kèm ngày sinh.",
    readAt: t => "Đọc lúc " + t, clearsAt: t => " · tự xóa lúc " + t, photo: "Ảnh trong chip",
    more: n => "Thông tin khác (" + n + ")", untrusted: "Dữ liệu dưới đây không đáng tin: không dùng để làm thủ tục.",
    unconfirmed: "Chưa xác nhận được nguồn cấp thẻ: đối chiếu với thẻ trước khi dùng.",
  };
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const ta = document.createElement("textarea");
    ta.value = text; ta.style.position = "fixed"; ta.style.opacity = "0";
    document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); } finally { ta.remove(); }
    return Promise.resolve();
  }
  function mount(el, opts) {
    let counter = opts.counter, es = null, view = null, status = "", timer = null, keyStatus = "";
    const place = opts.place || T.counter;
    el.classList.add("idp", "idle");
    el.setAttribute("data-identity-panel", "");
    function tone(v) {
      if (!v || !v.state) return "idle";
      if (v.outcome === "ok") return "ok";
      if (!v.outcome) return "idle";
      return (v.facts || []).some(f => f.state === "bad") ? "bad" : "warn";
    }
    function render() {
      const v = view || {};
      el.classList.remove("ok", "bad", "warn", "idle");
      el.classList.add(tone(v));
      el.dataset.state = v.state || "";
      el.dataset.outcome = v.outcome || "";
      const head = `<div class="idp-head"><h2 class="idp-headline">${esc(v.headline || (v.state === "waiting-for-keys" ? T.waiting : v.state ? T.reading : T.title))}</h2>
        <span class="idp-msg">${esc(place(counter))}${v.read_at_text ? " · " + esc(T.readAt(v.read_at_text)) : ""}${v.clears_at_text ? esc(T.clearsAt(v.clears_at_text)) : ""}</span>
        ${v.state ? `<button class="idp-clear" type="button">${esc(T.clear)}</button>` : ""}</div>`;
      if (!v.state) { el.innerHTML = head + `<div class="idp-empty">${esc(status || T.idle)}</div>`; bind(); return; }
      const note = v.state !== "done" ? `<div class="idp-empty">${esc(v.message || T.reading)}</div>` : "";
      // Without the card's QR the chip opens with the number printed on the card (or
      // the ID number and birth date), typed here.
      const keyForm = v.state === "waiting-for-keys" || (v.facts || []).some(f => f.check === "access" && f.state === "bad") ?
        `<form class="idp-keys"><label>${esc(T.keyLabel)} <input name="key" inputmode="numeric" autocomplete="off" maxlength="12" size="14"></label>
         <label class="idp-birth" hidden>${esc(T.birthLabel)} <input name="birth" inputmode="numeric" autocomplete="off" placeholder="15/03/1990" size="12"></label>
         <button type="submit">${esc(T.keySend)}</button><span class="idp-key-status">${esc(keyStatus)}</span></form>` : "";
      const facts = (v.facts || []).map(f => `<li class="${esc(f.state)}" data-check="${esc(f.check)}">${esc(f.text)}${f.todo ? `<span class="idp-todo">${esc(f.todo)}</span>` : ""}</li>`).join("");
      // A tampered or unopenable card's data is shown to compare, never offered to copy.
      const bad = tone(v) === "bad";
      const row = f => `<div class="idp-field" data-key="${esc(f.key)}"><dt>${esc(f.label)}</dt><dd>${esc(f.value)}</dd>
        ${bad ? "" : `<button type="button" data-copy="${esc(f.key)}">${esc(T.copy)}</button>`}</div>`;
      const all = v.fields || [], rest = all.filter(f => !f.main);
      const fields = (v.outcome !== "ok" && all.length ? `<p class="idp-warn">${esc(bad ? T.untrusted : T.unconfirmed)}</p>` : "") +
        all.filter(f => f.main).map(row).join("") +
        (rest.length ? `<details class="idp-more"><summary>${esc(T.more(rest.length))}</summary>${rest.map(row).join("")}</details>` : "");
      const photo = v.photo ? `<div class="idp-photo"><img alt="${esc(T.photo)}" src="${esc(v.photo)}"></div>` : "";
      const personal = v.personal ? `<dl class="idp-fields">${fields}</dl>` : `<p class="muted">${esc(T.noPersonal)}</p>`;
      const typing = v.typing && v.typing.enabled && all.length ?
        `<div class="idp-type"><button class="idp-type-btn" type="button">${esc(T.type)}</button>
         <span class="idp-status">${esc(status)}</span><span class="idp-order">${esc(T.typeHint(v.typing.fields || []))}</span></div>` : "";
      el.innerHTML = head + note + keyForm + (v.outcome ? `<div class="idp-body${photo ? "" : " nophoto"}">${photo}<ul class="idp-facts">${facts}</ul>${personal}</div>` + typing : "");
      bind();
    }
    function bind() {
      const c = el.querySelector(".idp-clear");
      if (c) c.onclick = () => api("/api/v1/identity/panel/clear", { json: { counter } }).catch(() => {});
      el.querySelectorAll("button[data-copy]").forEach(b => b.onclick = () => {
        const f = (view.fields || []).find(x => x.key === b.dataset.copy);
        if (!f) return;
        copyText(f.value).then(() => { b.textContent = T.copied; b.classList.add("done"); });
      });
      const t = el.querySelector(".idp-type-btn");
      if (t) { t.disabled = !!timer; t.onclick = startTyping; }
      const form = el.querySelector(".idp-keys");
      if (form) {
        const key = form.elements.key, birth = form.querySelector(".idp-birth");
        key.oninput = () => { key.value = key.value.replace(/\D/g, ""); birth.hidden = key.value.length !== 12; };
        form.onsubmit = e => {
          e.preventDefault();
          const k = key.value, b = form.elements.birth.value.replace(/\D/g, "");
          const body = k.length === 6 ? { counter, can: k } : k.length === 12 && b.length === 8 ? { counter, id: k, birth: b } : null;
          if (!body) { keyStatus = T.keyBad; render(); return; }
          keyStatus = "";
          api("/api/v1/identity/keys", { json: body }).then(() => { keyStatus = T.keySent; render(); })
            .catch(err => { keyStatus = err.message; render(); });
        };
      }
    }
    // The button types after a visible countdown: time to click into the target field.
    function startTyping() {
      let n = Math.max(0, Math.round((view.typing && view.typing.countdown_s) || 0));
      const tick = () => {
        if (n > 0) { status = T.countdown(n); n--; render(); timer = setTimeout(tick, 1000); return; }
        timer = null; status = T.typing; render();
        api("/api/v1/identity/panel/type", { json: { counter } })
          .then(r => { status = T.typed(r.fields); render(); })
          .catch(e => { status = e.message; render(); });
      };
      tick();
    }
    // The agent answers 404 when this PC reads no chip cards (card reading is off):
    // then the panel stays hidden instead of saying the connection is lost.
    function open() {
      if (es) { es.close(); es = null; }
      api("/api/v1/identity/panel?counter=" + encodeURIComponent(counter)).then(v => {
        el.hidden = false;
        if (!view || v.read_at !== view.read_at) { status = ""; keyStatus = ""; }
        view = v; render();
        if (!opts.shared) stream();
      }).catch(e => {
        if (e.status === 404) { el.hidden = true; return; }
        view = null; status = e.status === 401 || e.status === 403 ? e.message : T.offline; render();
        // A shared page retries when its own stream reconnects (changed()).
        if (!opts.shared) setTimeout(() => { if (!es) open(); }, 3000);
      });
    }
    function stream() {
      if (es) es.close();
      es = new EventSource("/api/v1/identity/panel/stream?counter=" + encodeURIComponent(counter) + "&token=" + encodeURIComponent(motcuaToken()));
      es.addEventListener("panel", e => {
        try { const v = JSON.parse(e.data); if (!view || v.read_at !== view.read_at) { status = ""; keyStatus = ""; } view = v; render(); } catch (x) {}
      });
      es.onerror = () => { es.close(); es = null; view = null; status = T.offline; render(); setTimeout(() => { if (!es) open(); }, 3000); };
    }
    el.hidden = true;
    open();
    return {
      setCounter(c) { if (c && c !== counter) { counter = c; view = null; status = ""; render(); open(); } },
      changed(c) { if (!c || c === counter) open(); },
    };
  }
  window.IdentityPanel = { mount };
})();
