// The registry's pages work without this script; with it, identifiers are
// checked as they are typed, repeatable rows can be added and removed, and
// a party row shows only the identifiers of its type. The server checks
// everything again.
"use strict";
(function () {
  var USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  var ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var checks = {
    uscc: function (s) {
      if (s.length !== 18) return false;
      var sum = 0;
      for (var i = 0; i < 18; i++) {
        var v = USCC.indexOf(s[i]);
        if (v < 0) return false;
        if (i < 17) sum += v * USCC_W[i];
        else return v === (31 - sum % 31) % 31;
      }
      return false;
    },
    id_number: function (s) {
      if (!/^[0-9]{17}[0-9X]$/.test(s)) return false;
      var sum = 0;
      for (var i = 0; i < 17; i++) sum += (+s[i]) * ID_W[i];
      return "10X98765432"[sum % 11] === s[17];
    },
    lei: function (s) {
      if (!/^[0-9A-Z]{18}[0-9]{2}$/.test(s)) return false;
      var r = 0;
      for (var i = 0; i < 20; i++) {
        var c = s.charCodeAt(i);
        if (c >= 65) r = (r * 100 + (c - 55)) % 97;
        else r = (r * 10 + (c - 48)) % 97;
      }
      return r === 1;
    }
  };

  function errorFor(input) {
    var next = input.parentElement.nextElementSibling;
    // The server's error for the field, or the one made here before.
    if (next && next.classList.contains("field-error")) return next;
    var p = document.createElement("p");
    p.className = "field-error";
    p.dataset.live = "1";
    p.setAttribute("aria-live", "polite");
    input.parentElement.insertAdjacentElement("afterend", p);
    return p;
  }

  function check(input) {
    var v = input.value.trim().toUpperCase();
    var ok = v === "" || checks[input.dataset.check](v);
    input.setCustomValidity(ok ? "" : input.dataset.invalid);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    var target = input.parentElement.tagName === "LABEL" ? errorFor(input) : document.querySelector('[data-for="' + input.id + '"]');
    if (target) target.textContent = ok ? "" : input.dataset.invalid;
  }

  function showType(row) {
    var sel = row.querySelector("[data-party-type]");
    if (!sel) return;
    row.querySelectorAll("[data-show]").forEach(function (el) {
      el.hidden = el.dataset.show.split(" ").indexOf(sel.value) < 0;
    });
  }

  document.addEventListener("input", function (e) {
    if (e.target.dataset && e.target.dataset.check) check(e.target);
  });
  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-party-type]")) showType(e.target.closest("[data-row]"));
  });
  document.addEventListener("click", function (e) {
    var add = e.target.closest("[data-add-row]");
    if (add) {
      var name = add.dataset.addRow;
      var tpl = document.querySelector('template[data-template="' + name + '"]');
      var rows = document.querySelector('[data-rows="' + name + '"]');
      var row = tpl.content.firstElementChild.cloneNode(true);
      var legend = row.querySelector("legend");
      if (legend) legend.textContent = legend.textContent.replace(/\d+/, rows.children.length + 1);
      rows.appendChild(row);
      showType(row);
      var first = row.querySelector("select, input");
      if (first) first.focus();
    }
    var remove = e.target.closest("[data-remove-row]");
    if (remove) {
      var r = remove.closest("[data-row]");
      if (r.parentElement.children.length > 1) r.remove();
      else r.querySelectorAll("input").forEach(function (i) { i.value = ""; });
    }
    if (e.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-row]").forEach(showType);
    document.querySelectorAll("[data-check]").forEach(function (i) { if (i.value) check(i); });
  });
})();
