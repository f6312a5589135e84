/* The report form: live status light and inline checks (asked from the server, so the
   rules are the same as on save), and a local backup of unsaved input that survives a
   session timeout or a closed tab.  No external libraries. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || form.dataset.editable !== "1") { return; }
  var key = form.dataset.key;
  var version = form.dataset.version;
  var status = document.getElementById("autosave-status");
  var token = form.querySelector("input[name=csrf_token]").value;
  var dirty = false;
  var timers = {};

  function fields() {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.name === "version" || el.type === "submit") { return; }
      data[el.name] = el.type === "checkbox" ? (el.checked ? el.value : "") : el.value;
    });
    return data;
  }

  function backup() {
    try {
      localStorage.setItem(key, JSON.stringify({version: version, at: new Date().toISOString(), fields: fields()}));
      status.textContent = "已在本机暂存未保存的内容（" + new Date().toLocaleTimeString("zh-CN") + "），请记得保存";
    } catch (e) { status.textContent = "浏览器无法暂存，请及时保存"; }
  }

  function restore() {
    var saved;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (!saved || saved.version !== version) { localStorage.removeItem(key); return; }
    var changed = 0;
    Object.keys(saved.fields).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (!el || el.length) { return; }
      var value = saved.fields[name];
      if (el.type === "checkbox") {
        if (el.checked !== (value !== "")) { el.checked = value !== ""; changed++; }
      } else if (el.value !== value) { el.value = value; changed++; }
    });
    if (changed) {
      dirty = true;
      var note = document.createElement("div");
      note.className = "flash restored";
      note.id = "restored-notice";
      note.textContent = "已恢复您在本机暂存、尚未保存的 " + changed + " 处填写（" +
        new Date(saved.at).toLocaleString("zh-CN") + "）。请核对后保存。";
      form.parentNode.insertBefore(note, form);
      form.querySelectorAll("tr.indicator").forEach(function (row) { preview(row); });
    } else {
      localStorage.removeItem(key);
    }
  }

  function preview(row) {
    var code = row.dataset.code;
    var body = new FormData();
    body.append("code", code);
    row.querySelectorAll("[name]").forEach(function (el) {
      if (el.type === "checkbox") { if (el.checked) { body.append(el.name, el.value); } }
      else { body.append(el.name, el.value); }
    });
    fetch(form.dataset.preview, {method: "POST", body: body, credentials: "same-origin",
                                 headers: {"X-CSRFToken": token}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var light = row.querySelector(".light");
        light.className = "light " + data.light.code;
        light.dataset.status = data.light.status;
        row.querySelector(".light-label").textContent = data.light.label;
        row.querySelector(".light-detail").textContent = data.light.detail;
        row.classList.toggle("needs-explain", data.needs_explanation || !!row.querySelector("[name^='cc-']").value);
        var live = row.querySelector(".field-error.live");
        live.textContent = data.errors.map(function (e) { return e.message; }).join("；");
        var note = row.querySelector(".live-note");
        if (note) { note.textContent = data.explanation_note || ""; }
        row.classList.toggle("has-error", data.errors.length > 0);
      })
      .catch(function () { /* offline: the save will check again */ });
  }

  form.addEventListener("input", function (event) {
    dirty = true;
    backup();
    var row = event.target.closest("tr.indicator");
    if (!row) { return; }
    clearTimeout(timers[row.dataset.code]);
    timers[row.dataset.code] = setTimeout(function () { preview(row); }, 300);
  });
  form.addEventListener("change", function (event) {
    var row = event.target.closest("tr.indicator");
    if (row) { dirty = true; backup(); preview(row); }
  });
  form.addEventListener("submit", function () { dirty = false; });
  document.addEventListener("click", function (event) {  // 放弃修改: forget the local copy as well
    if (event.target.closest("[data-discard-draft]")) { dirty = false; localStorage.removeItem(key); }
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  restore();
})();
