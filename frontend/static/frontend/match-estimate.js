// The pledge form's matchfunding estimate follows the amount as it is typed.
(function () {
  var box = document.querySelector("[data-match-estimate]");
  var input = document.getElementById("id_amount");
  var live = box && box.querySelector("[data-match-live]");
  if (!input || !live || !window.fetch) { return; }
  function cents(text) {
    var clean = text.replace(/[\s\u00a0]/g, "").replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(clean)) { return null; }
    var parts = clean.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var amount = cents(input.value);
      if (!amount) { live.hidden = true; return; }
      fetch(box.dataset.url + "?campaign=" + box.dataset.campaign + "&amount=" + amount, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          live.textContent = data.explanation;
          live.hidden = false;
        });
    }, 250);
  });
})();
