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
  var map = L.map(canvas, {scrollWheelZoom: false, keyboard: true}).setView(center, 10);
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
    marker.bindTooltip(String(p.n), {permanent: true, direction: "center", className: "lba-map__label"});
    marker.on("click", function () {
      var card = document.getElementById("resultat-" + p.n);
      if (card) { card.scrollIntoView({behavior: "smooth", block: "center"}); var link = card.querySelector("a"); if (link) link.focus({preventScroll: true}); }
    });
    marker.addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  if (bounds.length > 1) map.fitBounds(bounds, {padding: [20, 20], maxZoom: 13});
  document.addEventListener("lba:map-shown", function () { map.invalidateSize(); if (bounds.length > 1) map.fitBounds(bounds, {padding: [20, 20], maxZoom: 13}); });
  canvas.setAttribute("data-ready", "true");
})();
