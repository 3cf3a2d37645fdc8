"""The `/status` page: one self-contained HTML document (no CDN, no external asset) that
draws `/status.json` and reads it again every five seconds."""

from __future__ import annotations

PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>govgraph status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2430; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
  .meta { color: #5b6575; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(7.5rem, 1fr));
          gap: .4rem; }
  .cell { border-radius: .35rem; padding: .45rem .55rem; color: #fff; }
  .cell b { display: block; font-size: 1rem; }
  .ok { background: #2e7d4f; } .degraded { background: #c98a12; }
  .failing { background: #b3261e; } .idle { background: #8a93a3; }
  table { border-collapse: collapse; } td, th { padding: .3rem .8rem; text-align: left; }
  th { color: #5b6575; font-weight: 600; }
  .dot { display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; }
  .legend span { margin-right: 1rem; }
  #error { color: #b3261e; }
</style>
</head>
<body>
<h1>govgraph status</h1>
<div class="meta" id="supergraph">loading&hellip;</div>
<div class="meta legend">
  <span><i class="dot ok"></i> answering</span>
  <span><i class="dot degraded"></i> some failures, or breaker half-open</span>
  <span><i class="dot failing"></i> failing, or breaker open</span>
  <span><i class="dot idle"></i> not asked</span>
</div>
<div id="error"></div>
<h2>Subgraphs</h2>
<table><thead><tr><th></th><th>subgraph</th><th>answered</th><th>failed</th>
<th>answer rate</th><th>p95</th></tr></thead><tbody id="subgraphs"></tbody></table>
<div id="partitions"></div>
<script>
"use strict";
function pct(rate) { return rate === null ? "&ndash;" : (rate * 100).toFixed(1) + "%"; }
function ms(value) { return value === null ? "&ndash;" : value + " ms"; }
function text(value) {
  const span = document.createElement("span"); span.textContent = value; return span.innerHTML;
}
function render(status) {
  const window_min = Math.round(status.window_s / 60);
  const supergraph = status.supergraph;
  document.getElementById("supergraph").innerHTML =
    "supergraph <code>" + text(String(supergraph.hash).slice(0, 12)) + "</code> since " +
    text(supergraph.loaded_at) + " &middot; last " + window_min + " min &middot; updated " +
    new Date().toLocaleTimeString();
  document.getElementById("subgraphs").innerHTML = status.subgraphs.map(s =>
    '<tr data-subgraph="' + text(s.name) + '" data-state="' + s.state + '">' +
    '<td><i class="dot ' + s.state + '"></i></td><td>' + text(s.name) + "</td><td>" +
    s.answered + "</td><td>" + s.failed + "</td><td>" + pct(s.answer_rate) + "</td><td>" +
    ms(s.p95_ms) + "</td></tr>").join("");
  document.getElementById("partitions").innerHTML = status.partitions.map(p =>
    "<h2>" + text(p.name) + " shards</h2><div class=\\"grid\\">" + p.shards.map(s =>
      '<div class="cell ' + s.state + '" data-key="' + text(s.key) + '" data-state="' +
      s.state + '" title="' + s.answered + " answered, " + s.failed + ' failed"><b>' +
      text(s.key) + "</b>" + pct(s.answer_rate) + " answered<br>p95 " + ms(s.p95_ms) +
      "<br>breaker " + s.breaker.replace("_", "-") + "</div>").join("") + "</div>").join("");
}
async function refresh() {
  try {
    const reply = await fetch("status.json", {cache: "no-store", credentials: "same-origin"});
    if (!reply.ok) throw new Error("status.json answered HTTP " + reply.status);
    render(await reply.json());
    document.getElementById("error").textContent = "";
  } catch (error) {
    document.getElementById("error").textContent = String(error);
  }
}
refresh();
setInterval(refresh, 5000);
</script>
</body>
</html>
"""
