/* The first-run tour: a few elements of the page, one at a time, each with a short text; Next, Back and Skip.
 *
 * The steps of each role are in /static/tours.json ({role: {title, steps: [{target, title, text}]}}; a step
 * whose target is not on the page is left out). base.html loads this script for a signed-in user with
 * data-role, data-page (the page the tour is on: where the user lands after signing in) and data-due
 * ("1" until the user finished or skipped it). It starts by itself when due, or when the page is opened with
 * ?tour (the footer's Tour link). Finishing or skipping tells the server (POST /tour/done), which remembers it
 * for the user, so it does not come back.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var role = script.dataset.role;
  var page = script.dataset.page;
  var due = script.dataset.due === "1";
  var asked = new URLSearchParams(window.location.search).has("tour");
  if (!role || window.location.pathname !== page || !(due || asked)) return;

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "/static/tour.css";
  document.head.appendChild(css);

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function remember(step, of) {
    if (asked) {
      var url = new URL(window.location.href);
      url.searchParams.delete("tour");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    return fetch("/tour/done", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ step: step, of: of }),
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function start(tour) {
    var steps = tour.steps
      .map(function (s) { return { step: s, node: document.querySelector(s.target) }; })
      .filter(function (s) { return s.node !== null; });
    if (!steps.length) return;
    var dim = el("div", { class: "tour-dim" });
    var box = el("div", { class: "tour", role: "dialog", "aria-modal": "false", "aria-labelledby": "tour-title" });
    var title = el("h2", { id: "tour-title" });
    var text = el("p", { class: "tour-text" });
    var bar = el("div", { class: "tour-bar" });
    var count = el("span", { class: "tour-count" });
    var skip = el("button", { type: "button", class: "tour-skip" }, "Skip tour");
    var back = el("button", { type: "button", class: "secondary tour-back" }, "Back");
    var next = el("button", { type: "button", class: "tour-next" }, "Next");
    bar.append(count, skip, back, next);
    box.append(title, text, bar);
    document.body.append(dim, box);
    var at = 0;
    var current = null;

    function tall(node) { return node.getBoundingClientRect().height > window.innerHeight * 0.5; }

    function place(node) {
      var r = node.getBoundingClientRect();
      var width = document.documentElement.clientWidth;
      var top, left;
      if (tall(node)) {  // a long table, its top at the top of the window: the box at the window's bottom right
        top = window.scrollY + Math.min(r.bottom, window.innerHeight) - box.offsetHeight - 16;
        left = window.scrollX + Math.min(r.right, width) - box.offsetWidth - 12;
      } else {  // below the element, or above it when there is no room below
        top = window.scrollY + r.bottom + 12;
        if (r.bottom + box.offsetHeight + 24 > window.innerHeight && r.top > box.offsetHeight + 24) {
          top = window.scrollY + r.top - box.offsetHeight - 12;
        }
        left = window.scrollX + r.left;
      }
      left = Math.min(left, window.scrollX + width - box.offsetWidth - 8);
      box.style.top = Math.max(8, top) + "px";
      box.style.left = Math.max(8, left) + "px";
    }

    function show(i) {
      if (current) current.classList.remove("tour-target");
      at = i;
      var s = steps[i];
      current = s.node;
      current.classList.add("tour-target");
      title.textContent = s.step.title;
      text.textContent = s.step.text;
      count.textContent = "Step " + (i + 1) + " of " + steps.length;
      back.hidden = i === 0;
      next.textContent = i === steps.length - 1 ? "Done" : "Next";
      current.scrollIntoView({ block: tall(current) ? "start" : "center", inline: "nearest" });
      place(current);
      next.focus();
    }

    function end(step) {
      if (current) current.classList.remove("tour-target");
      dim.remove();
      box.remove();
      window.removeEventListener("resize", reposition);
      document.removeEventListener("keydown", keys);
      remember(step, steps.length);
    }

    function reposition() { if (current) place(current); }
    function keys(e) { if (e.key === "Escape") end(at + 1); }

    next.addEventListener("click", function () {
      if (at === steps.length - 1) end(steps.length);
      else show(at + 1);
    });
    back.addEventListener("click", function () { if (at > 0) show(at - 1); });
    skip.addEventListener("click", function () { end(at + 1); });
    window.addEventListener("resize", reposition);
    document.addEventListener("keydown", keys);
    show(0);
  }

  fetch("/static/tours.json", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (tours) { if (tours[role]) start(tours[role]); });
})();
