// The driver finder: searches the data files (one per driver version
// folder, each calling dbgFinder.add) for a kernel. Every value from the
// data is untrusted text: it reaches the page through textContent and
// attributes only, never as HTML.
"use strict";
var dbgFinder = (function () {
  const LIMIT = 200; // result kernels rendered at most
  const DEFAULT_REPO = "https://download.falco.org/driver";
  const KIND_EXT = { module: ".ko", probe: ".o" };
  const prefixes = [];
  const timing = { first: -1 };
  let shownQuery = null;
  let timer = 0;

  const $ = (id) => document.getElementById(id);
  const input = $("q");

  // repo is what falcoctl would be given as its driver repo to fetch from
  // here: the folder of this page when served over HTTP(S) (download.falco.org/driver,
  // an S3 website, a mirror), else (file://) falcoctl's default.
  const repo = (function () {
    const l = window.location;
    if (l.protocol !== "http:" && l.protocol !== "https:") return DEFAULT_REPO;
    return l.origin + l.pathname.replace(/[^/]*$/, "").replace(/\/$/, "");
  })();

  function add(d) {
    const n = d.rows.length;
    const stems = new Array(n), unames = new Array(n), keys = new Array(n);
    const where = (" " + d.dv + "/" + d.arch).toLowerCase();
    for (let i = 0; i < n; i++) {
      const r = d.rows[i];
      stems[i] = r[0].toLowerCase();
      unames[i] = r[1].toLowerCase();
      keys[i] = stems[i] + " " + unames[i] + where;
    }
    prefixes.push({ d: d, stems: stems, unames: unames, keys: keys });
    if (query() !== "") render(true);
  }

  // query is the search text made comparable: lowercase, and a pasted
  // file name or URL reduced to the kernel's file name without extension.
  function query() {
    let q = input.value.trim();
    if (/^(https?:|file:|\/)/i.test(q) || q.indexOf("/falco_") >= 0) {
      q = q.slice(q.lastIndexOf("/") + 1);
      try { q = decodeURIComponent(q); } catch (e) { /* keep it as typed */ }
    }
    q = q.toLowerCase();
    if (q.startsWith("falco_")) q = q.replace(/\.(ko|o)$/, "");
    return q;
  }

  // search finds the kernels matching q. One word that is exactly a
  // kernel's release, uname -r, target or file name shows exactly those
  // kernels; anything else matches every kernel containing all the words.
  function search(q) {
    const words = q.split(/\s+/).filter(Boolean);
    if (words.length === 1) {
      const w = words[0], field = "_" + w + "_";
      const exact = collect((p, i) => p.unames[i] === w || p.stems[i] === w || p.stems[i].indexOf(field) >= 0);
      if (exact.count > 0) return exact;
    }
    return collect((p, i) => {
      const k = p.keys[i];
      for (const w of words) if (k.indexOf(w) < 0) return false;
      return true;
    });
  }

  function collect(match) {
    const hits = [];
    let count = 0;
    prefixes.forEach((p, pi) => {
      for (let i = 0; i < p.keys.length; i++) {
        if (!match(p, i)) continue;
        count++;
        if (hits.length < LIMIT) hits.push([pi, i]);
      }
    });
    hits.sort((a, b) => {
      const sa = prefixes[a[0]].stems[a[1]], sb = prefixes[b[0]].stems[b[1]];
      return sa < sb ? -1 : sa > sb ? 1 : a[0] - b[0];
    });
    return { hits: hits, count: count };
  }

  function render(force) {
    const q = query();
    if (!force && q === shownQuery) return;
    shownQuery = q;
    const table = $("results"), body = table.tBodies[0], summary = $("summary");
    body.textContent = "";
    if (q === "") {
      table.hidden = true;
      summary.textContent = "";
      return;
    }
    $("coverage-box").open = false;
    const r = search(q);
    const frag = document.createDocumentFragment();
    for (const h of r.hits) renderKernel(frag, prefixes[h[0]].d, h[1]);
    body.appendChild(frag);
    table.hidden = r.hits.length === 0;
    summary.textContent = summaryText(input.value.trim(), r);
    if (r.hits.length > 0 && timing.first < 0) {
      timing.first = performance.now();
      $("timing").dataset.firstMs = timing.first.toFixed(1);
    }
  }

  function summaryText(q, r) {
    if (r.count === 0) return "No kernel matches “" + q + "”. Not built yet, or not a kernel falcoctl asks for: try its release alone.";
    let s = r.count.toLocaleString("en-US") + (r.count === 1 ? " match" : " matches") + " for “" + q + "” (a kernel in one driver version folder each)";
    if (r.count > r.hits.length) s += "; the first " + r.hits.length + " are shown, type more to narrow";
    return s + ".";
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== "") e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  // renderKernel adds the rows of one kernel in one folder: one per kind
  // the folder holds.
  function renderKernel(frag, d, i) {
    const row = d.rows[i];
    d.kinds.forEach((kind, k) => {
      const cell = row[kind === "probe" ? 3 : 2];
      const file = row[0] + KIND_EXT[kind];
      const st = cellStatus(cell);
      const tr = el("tr", undefined, st.cls);
      tr.dataset.file = file;
      tr.dataset.driver = d.dv + "/" + d.arch;
      if (k === 0) {
        const td = el("td", undefined, "group");
        td.appendChild(el("strong", row[0]));
        if (row[1]) td.appendChild(el("div", "uname -r: " + row[1]));
        td.rowSpan = d.kinds.length;
        tr.appendChild(td);
        const dv = el("td", d.dv + " / " + d.arch, "group");
        dv.rowSpan = d.kinds.length;
        tr.appendChild(dv);
      }
      tr.appendChild(el("td", kind));
      tr.appendChild(statusCell(st, cell));
      const dl = urlCell(d, file, st.held);
      if (st.held) {
        dl.appendChild(el("div", "sha256 " + (cell[0] || "unknown"), "sha"));
        dl.appendChild(el("div", size(cell[1]), "size"));
      }
      tr.appendChild(dl);
      frag.appendChild(tr);
    });
  }

  // cellStatus tells what a cell says: [sha256, size, status, reason, log, run, time].
  function cellStatus(c) {
    if (!c) return { cls: "missing", text: "not built", held: false };
    const held = c[1] >= 0, status = c[2] || "", reason = c[3] || "";
    if (held && status === "failed") return { cls: "ok", text: "published; the last build failed: " + reason, held: true };
    if (held) return { cls: "ok", text: "published", held: true };
    if (status === "failed") return { cls: "failed", text: "build failed: " + reason, held: false };
    if (status === "not_buildable") return { cls: "nobuild", text: "not buildable: " + reason, held: false };
    if (status === "built") return { cls: "missing", text: "built, not published yet", held: false };
    return { cls: "missing", text: "not built", held: false };
  }

  function statusCell(st, c) {
    const td = el("td", st.text, "status");
    if (c && c[5]) td.appendChild(el("div", "last run: " + c[5] + (c[6] ? ", " + c[6].replace("T", " ").replace("Z", " UTC") : ""), "run"));
    if (c && c[4]) {
      const det = el("details");
      det.appendChild(el("summary", "last log lines"));
      det.appendChild(el("pre", c[4]));
      td.appendChild(det);
    }
    return td;
  }

  // urlCell shows the URL falcoctl fetches (the driver version escaped as
  // falcoctl escapes it, the file name raw) and links the artifact when the
  // folder holds it (every part escaped, "+" as %2B).
  function urlCell(d, file, held) {
    const url = repo + "/" + d.dv_url + "/" + d.arch + "/" + file;
    const td = el("td", undefined, "url");
    if (!held) {
      td.appendChild(el("code", url));
      return td;
    }
    const a = el("a");
    a.href = [d.dv, d.arch, file].map(encodeURIComponent).join("/");
    a.appendChild(el("code", url));
    td.appendChild(a);
    return td;
  }

  function size(n) {
    const s = n.toLocaleString("en-US") + " B";
    return n >= 1024 ? s + " (" + (n / 1048576).toFixed(2) + " MiB)" : s;
  }

  function remember() {
    try {
      const q = input.value.trim();
      history.replaceState(null, "", q === "" ? location.pathname : "?q=" + encodeURIComponent(q));
    } catch (e) { /* file:// may refuse it: the search still works */ }
  }

  function onInput() {
    clearTimeout(timer);
    timer = setTimeout(() => { render(false); remember(); }, 150);
  }

  function done() {
    render(false); // the last add rendered the query already, if there is one
    const t = $("timing"), missing = Number(t.dataset.expect) - prefixes.length;
    if (missing > 0) {
      $("warning").textContent = missing + " driver version folder(s) could not be loaded: their kernels are not searched.";
    }
    t.dataset.doneMs = performance.now().toFixed(1);
    t.dataset.folders = String(prefixes.length);
    t.dataset.state = "done";
  }

  input.value = new URLSearchParams(location.search).get("q") || "";
  input.addEventListener("input", onInput);
  $("finder").addEventListener("submit", (e) => { e.preventDefault(); render(false); remember(); });
  document.querySelectorAll("#coverage a.q").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault();
    input.value = a.textContent;
    render(false);
    remember();
  }));
  return { add: add, done: done };
})();
