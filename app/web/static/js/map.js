/* The results map (Leaflet): numbered markers matching the list. Without tiles the markers still show and
   the list below stays the full, usable result; the status line says when the background map failed. */
(function () {
  "use strict";
  var canvas = document.getElementById("carte-canvas");
  var data = document.getElementById("carte-points");
  if (!canvas || !data || typeof L === "undefined") return;
  var points = JSON.parse(data.textContent || "[]");
  var center = canvas.getAttribute("data-center").split(",").map(Number);
  var status = document.getElementById("carte-statut");
  var COLORS = {formation: "#6e445a", offer: "#18753c", company: "#b34000"};
  // People who ask for less motion get a map that jumps instead of gliding.
  var still = !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  var map = L.map(canvas, {scrollWheelZoom: false, keyboard: true, fadeAnimation: !still, zoomAnimation: !still,
                           markerZoomAnimation: !still}).setView(center, 10);
  var failed = 0;
  L.tileLayer(canvas.getAttribute("data-tiles"), {attribution: canvas.getAttribute("data-attribution"), maxZoom: 18})
    .on("tileerror", function () {
      failed += 1;
      if (failed === 1) status.textContent = "Le fond de carte n'a pas pu être chargé : les résultats restent dans la liste.";
    })
    .addTo(map);
  var bounds = [center];
  L.circleMarker(center, {radius: 6, color: "#000091", fillOpacity: 1}).addTo(map).bindTooltip("Centre de la recherche");
  points.forEach(function (p) {
    var marker = L.circleMarker([p.lat, p.lon], {radius: 9, color: COLORS[p.kind] || "#000091", weight: 2, fillOpacity: 0.8});
    // The number sits on its own coloured disc: axe (and people) read its contrast against that disc, not
    // against whatever the SVG circle or the missing tiles leave behind it.
    marker.bindTooltip(String(p.n), {permanent: true, direction: "center", opacity: 1,
                                     className: "lba-map__label lba-map__label--" + (COLORS[p.kind] ? p.kind : "other")});
    marker.on("click", function () {
      var card = document.getElementById("resultat-" + p.n);
      if (card) { card.scrollIntoView({behavior: "smooth", block: "center"}); var link = card.querySelector("a"); if (link) link.focus({preventScroll: true}); }
    });
    marker.addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length > 1) map.fitBounds(bounds, {padding: [20, 20], maxZoom: 13});
  // data-ready says the map has settled (no zoom or fade under way), so what a reader or a check sees is final.
  function settled() { canvas.setAttribute("data-ready", "true"); }
  document.addEventListener("lba:map-shown", function () {
    canvas.setAttribute("data-ready", "false");
    map.invalidateSize();
    if (bounds.length > 1) {
      map.once("moveend", function () { window.setTimeout(settled, 300); });
      window.setTimeout(settled, 3000);  // a view that cannot move still ends up ready
      map.fitBounds(bounds, {padding: [20, 20], maxZoom: 13});
    } else {
      settled();
    }
  });
  settled();
})();
