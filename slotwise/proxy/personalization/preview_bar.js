/* Slotwise preview bar: served only to a browser holding a valid preview cookie (never in tag.js).
 * Reads the JSON the proxy wrote (#sw-preview-data): the slots of this page, the variant each shows and
 * the reason the personalizer recorded. Draws inside a shadow root so the store's CSS and ours never mix.
 * The selector picker: click an element, get a YAML snippet for a new slot (selector + suggested action). */
(function () {
  "use strict";
  var dataEl = document.getElementById("sw-preview-data");
  if (!dataEl || document.getElementById("sw-preview-bar")) return;
  var data;
  try { data = JSON.parse(dataEl.textContent); } catch (e) { return; }

  var host = document.createElement("div");
  host.id = "sw-preview-bar";
  var root = host.attachShadow({ mode: "open" });
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = data.css;
  root.appendChild(css);

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  var modes = {
    forced: "Preview: forcing the variants below. Nothing is recorded.",
    visitor: "Preview: the page as the rules decide for you. Nothing is recorded.",
    off: "Preview: personalization off (the store's own page)."
  };
  var bar = el("div", { "class": "bar", part: "bar" });
  var head = el("div", { "class": "head" }, [
    el("strong", { text: "Slotwise" }),
    el("span", { "class": "mode", text: modes[data.mode] || "" }),
    el("button", { type: "button", "class": "pick", "data-sw": "pick", text: "Pick an element" }),
    el("a", { href: data.visitor_url, "data-sw": "visitor", text: "As a visitor" }),
    el("a", { href: data.off_url, "data-sw": "off", text: "Personalization off" }),
    el("a", { href: data.exit_url, "data-sw": "exit", text: "Exit preview" }),
    el("button", { type: "button", "class": "fold", "data-sw": "fold", text: "\u2013" })
  ]);
  bar.appendChild(head);

  var table = el("table", { "class": "slots" });
  table.appendChild(el("tr", {}, [el("th", { text: "slot" }), el("th", { text: "shows" }),
    el("th", { text: "why" }), el("th", { text: "force" })]));
  if (!data.slots.length) {
    table.appendChild(el("tr", {}, [el("td", { colspan: "4", text: "No slot of the rules matches this page." })]));
  }
  data.slots.forEach(function (slot) {
    var shown = slot.shown === null ? (slot.reason === "holdout" ? "holdout (store's page)" : "nothing")
      : slot.shown + (slot.control ? " (control)" : "");
    var why = slot.why + (slot.propensity != null ? " \u2014 chance " + Math.round(slot.propensity * 100) + "%" : "");
    var links = el("td", { "class": "force" });
    slot.variants.forEach(function (v) {
      var a = el("a", { href: v.url, "data-slot": slot.id, "data-variant": v.id, text: v.id });
      if (v.id === slot.shown) a.className = "current";
      links.appendChild(a);
    });
    table.appendChild(el("tr", { "data-slot": slot.id, "data-reason": slot.reason }, [
      el("td", {}, [el("code", { text: slot.id }), el("small", { text: " " + slot.action + " " + slot.selector })]),
      el("td", { "class": "shown", text: shown }),
      el("td", { "class": "why", text: why }),
      links
    ]));
  });
  var body = el("div", { "class": "body" }, [table]);
  var picker = el("div", { "class": "picker", hidden: "" }, [
    el("p", { "class": "hint", text: "" }),
    el("textarea", { "class": "yaml", rows: "12", spellcheck: "false", readonly: "" }),
    el("button", { type: "button", "data-sw": "copy", text: "Copy" })
  ]);
  body.appendChild(picker);
  bar.appendChild(body);
  root.appendChild(bar);
  var outline = el("div", { "class": "outline", hidden: "" });
  root.appendChild(outline);
  (document.body || document.documentElement).appendChild(host);

  root.querySelector("[data-sw=fold]").addEventListener("click", function () {
    bar.classList.toggle("folded");
  });
  root.querySelector("[data-sw=copy]").addEventListener("click", function () {
    var area = picker.querySelector("textarea");
    area.select();
    if (navigator.clipboard) navigator.clipboard.writeText(area.value).catch(function () {});
  });

  // -- the selector picker ------------------------------------------------------------------
  var picking = false;
  function ours(node) { return node === host || host.contains(node); }

  function stableClasses(node) {
    return Array.prototype.filter.call(node.classList, function (c) {
      return /^[A-Za-z_][\w-]*$/.test(c) && !/^(sw-|js-|is-|has-|active$|hover$|focus|selected$|open$)/.test(c);
    }).slice(0, 2);
  }
  // a data attribute that tells this element from its look-alike siblings (steadier than a position)
  function distinct(node, part, alike) {
    for (var i = 0; i < node.attributes.length; i++) {
      var at = node.attributes[i];
      if (!/^data-(?!sw-)[\w-]+$/.test(at.name) || !/^[\w -]{1,40}$/.test(at.value)) continue;
      var sel = "[" + at.name + "='" + at.value + "']";
      if (alike.filter(function (c) { return c.matches(part + sel); }).length === 1) return sel;
    }
    return null;
  }
  function unique(sel) {
    try { return document.querySelectorAll(sel).length === 1; } catch (e) { return false; }
  }
  function selectorFor(node) {
    if (node.id && /^[A-Za-z][\w-]*$/.test(node.id) && unique("#" + node.id)) return "#" + node.id;
    var parts = [];
    while (node && node.nodeType === 1 && node !== document.documentElement) {
      var part = node.localName;
      var classes = stableClasses(node);
      if (classes.length) part += "." + classes.join(".");
      var parent = node.parentElement;
      if (parent) {
        var same = Array.prototype.filter.call(parent.children, function (c) { return c.localName === node.localName; });
        var alike = same.filter(function (c) { return c.matches(part); });
        if (alike.length > 1) part += distinct(node, part, alike) || ":nth-of-type(" + (same.indexOf(node) + 1) + ")";
      }
      parts.unshift(part);
      var sel = parts.join(" > ");
      if (unique(sel)) return sel;
      if (parent && parent.id && /^[A-Za-z][\w-]*$/.test(parent.id) && unique("#" + parent.id + " > " + sel)) {
        return "#" + parent.id + " > " + sel;
      }
      node = parent;
    }
    return parts.join(" > ");
  }
  function suggestAction(node) {
    var tag = node.localName;
    if (tag === "img") return "set-attribute";
    if (tag === "select") return "select-option";
    if (tag === "input" || tag === "textarea") return "set-value";
    if (/^(ul|ol|nav|menu)$/.test(tag) && node.children.length > 1) return "reorder";
    return "replace";
  }
  function quoteYaml(s) { return JSON.stringify(s); }
  function snippet(node) {
    var selector = selectorFor(node), action = suggestAction(node);
    var path = data.page.split("?")[0];
    var lines = ["  - id: new-slot", "    pages: " + quoteYaml(path), "    selector: " + quoteYaml(selector),
                 "    action: " + action, "    variants:", "      - id: control", "        control: true"];
    if (action === "set-attribute") {
      lines.push("      - id: new", "        attributes:", "          src: " + quoteYaml(node.getAttribute("src") || ""),
                 "          alt: " + quoteYaml(node.getAttribute("alt") || ""));
    } else if (action === "reorder") {
      lines.splice(4, 0, "    key: data-category");
      lines.push("      - id: recent", "        order: visitor.recent_categories");
    } else if (action === "select-option" || action === "set-value") {
      lines.push("      - id: new", "        value: " + quoteYaml("'" + (node.value || "") + "'"));
    } else {
      var text = (node.textContent || "").replace(/\s+/g, " ").trim().slice(0, 60);
      lines.push("      - id: new", "        html: " + quoteYaml("<" + node.localName + ">" + text + "</" + node.localName + ">"));
    }
    return { selector: selector, action: action, count: document.querySelectorAll(selector).length,
             yaml: "slots:\n" + lines.join("\n") + "\n" };
  }
  function place(node) {
    var r = node.getBoundingClientRect();
    outline.hidden = false;
    outline.style.top = r.top + "px"; outline.style.left = r.left + "px";
    outline.style.width = r.width + "px"; outline.style.height = r.height + "px";
  }
  function onMove(ev) { if (!ours(ev.target)) place(ev.target); }
  function onClick(ev) {
    if (ours(ev.target)) return;
    ev.preventDefault(); ev.stopPropagation();
    stop();
    var made = snippet(ev.target);
    picker.hidden = false;
    picker.querySelector(".hint").textContent = "Selector " + made.selector + " matches " + made.count +
      " element" + (made.count === 1 ? "" : "s") + " on this page; suggested action: " + made.action +
      ". Add the slot to your rules file:";
    picker.querySelector("textarea").value = made.yaml;
    host.setAttribute("data-picked", made.selector);
  }
  function onKey(ev) { if (ev.key === "Escape") stop(); }
  function stop() {
    picking = false;
    outline.hidden = true;
    document.removeEventListener("mouseover", onMove, true);
    document.removeEventListener("click", onClick, true);
    document.removeEventListener("keydown", onKey, true);
    root.querySelector("[data-sw=pick]").textContent = "Pick an element";
  }
  root.querySelector("[data-sw=pick]").addEventListener("click", function () {
    if (picking) { stop(); return; }
    picking = true;
    this.textContent = "Click an element (Esc cancels)";
    document.addEventListener("mouseover", onMove, true);
    document.addEventListener("click", onClick, true);
    document.addEventListener("keydown", onKey, true);
  });
})();
