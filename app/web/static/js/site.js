/* Progressive enhancement of the site's pages: autocomplete comboboxes, "around me", map toggle, widget messages.
   Every page works without this file; it only adds suggestions and shortcuts. */
(function () {
  "use strict";

  var DELAY_MS = 150;

  function labelOf(kind, item) {
    if (kind === "metiers" || kind === "appellations") return item.label;
    var code = item.kind === "arrondissement" ? item.postcodes[0] : item.department.code;
    return item.name + " (" + code + ")";
  }

  function valueOf(kind, item) {
    if (kind === "appellations") return item.rome;  // the offer form keeps the appellation's own ROME code
    return kind === "metiers" ? item.parent : item.insee;
  }

  /* An ARIA 1.2 combobox with a listbox popup: arrows move, Enter chooses, Escape closes. */
  function Combobox(input) {
    var kind = input.getAttribute("data-autocomplete");
    var hidden = document.getElementById(input.getAttribute("data-target"));
    var listbox = document.getElementById(input.getAttribute("aria-controls"));
    var source = input.getAttribute("data-source");
    var code = document.getElementById(input.getAttribute("data-code-target") || "");  // the appellation's OGR code
    var items = [], active = -1, timer = null, last = null, seq = 0;

    function close() {
      listbox.hidden = true;
      listbox.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(index) {
      var item = items[index];
      if (!item) return;
      input.value = labelOf(kind, item);
      hidden.value = valueOf(kind, item);
      if (code) code.value = item.appellation_code || "";
      last = input.value;
      if (kind === "communes") {
        document.getElementById("latitude").value = "";
        document.getElementById("longitude").value = "";
      }
      close();
    }

    function highlight(index) {
      var options = listbox.querySelectorAll("[role=option]");
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      }
    }

    function render() {
      listbox.innerHTML = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = input.id + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.className = "lba-listbox__option";
        li.textContent = labelOf(kind, item);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        listbox.appendChild(li);
      });
      var open = items.length > 0;
      listbox.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
    }

    function fetchSuggestions() {
      var text = input.value.trim();
      if (text.length < 2) { items = []; close(); return; }
      var mine = ++seq;
      fetch(source + "?limit=8&q=" + encodeURIComponent(text), {headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body || mine !== seq) return;
          items = (body.metiers || body.communes || []).slice(0, 8);
          active = -1;
          render();
        })
        .catch(function () { /* suggestions are a convenience: typing still works */ });
    }

    input.addEventListener("input", function () {
      if (input.value !== last) {  // the typed text no longer matches the chosen suggestion
        hidden.value = "";
        if (code) code.value = "";
      }
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      var open = !listbox.hidden && items.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { fetchSuggestions(); return; }
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight((active - 1 + items.length) % items.length);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    last = hidden && hidden.value ? input.value : null;
  }

  function aroundMe() {
    var button = document.getElementById("autour-de-moi");
    if (!button || !("geolocation" in navigator)) return;
    var status = document.getElementById("geoloc-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Recherche de votre position…";
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("latitude").value = position.coords.latitude.toFixed(5);
        document.getElementById("longitude").value = position.coords.longitude.toFixed(5);
        document.getElementById("insee").value = "";
        document.getElementById("lieu").value = "Autour de moi";
        status.textContent = "Position trouvée : les résultats seront classés autour de vous.";
      }, function () {
        status.textContent = "Position indisponible : indiquez une ville ou un code postal.";
      }, {timeout: 10000, maximumAge: 600000});
    });
  }

  function mapToggle() {
    var button = document.querySelector(".lba-map-toggle");
    var map = document.getElementById("carte");
    if (!button || !map) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = map.classList.toggle("lba-map--open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "Masquer la carte" : "Afficher la carte";
      document.dispatchEvent(new CustomEvent("lba:map-shown"));
    });
  }

  /* In the widget: tell the embedding page where the user went, and how tall the page is. */
  function widgetMessages() {
    if (!document.body.hasAttribute("data-widget") || window.parent === window) return;
    var send = function () {
      window.parent.postMessage({type: "lba:navigation", url: window.location.pathname + window.location.search,
        title: document.title, height: document.documentElement.scrollHeight}, "*");
    };
    send();
    window.addEventListener("resize", send);
    document.querySelectorAll("[data-widget-back]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
      });
    });
  }

  /* Result links: count the click at its rank and kind (nothing about who) with a beacon to our own API, which
     the browser sends even as the page unloads; CSP connect-src 'self' allows it. */
  function clickBeacon() {
    if (!navigator.sendBeacon) return;
    document.querySelectorAll("a[data-lba-click]").forEach(function (link) {
      link.addEventListener("click", function () {
        var body = JSON.stringify({kind: link.getAttribute("data-lba-click"), surface: link.getAttribute("data-lba-surface"),
          position: parseInt(link.getAttribute("data-lba-position"), 10)});
        // A string goes as text/plain, a CORS-safelisted type every browser's beacon sends; the API reads JSON.
        navigator.sendBeacon("/api/v1/usage/clicks", body);
      });
    });
  }

  function errorsFocus() {
    var summary = document.getElementById("erreurs");
    if (summary) summary.focus();
  }

  document.querySelectorAll("[data-autocomplete]").forEach(function (input) { new Combobox(input); });
  aroundMe();
  mapToggle();
  widgetMessages();
  clickBeacon();
  errorsFocus();
})();
