// Polls the run's progress fragment every 1.5 s while the run is queued or running, then reloads
// the page once so the results table shows. No framework: fetch + innerHTML of our own fragment.
(function () {
  var box = document.getElementById("run-progress");
  if (!box || box.dataset.done === "1") return;
  var url = box.dataset.url;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.firstElementChild;
        box.innerHTML = fresh.innerHTML;
        if (fresh.dataset.done === "1") { window.location.reload(); } else { setTimeout(poll, 1500); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1500);
})();
