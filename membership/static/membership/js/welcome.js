// After Checkout: poll the membership status until the webhook has been applied, then move on
// to the account page. Without JavaScript the page's link does the same.
(function () {
  var box = document.getElementById("confirming");
  if (!box) return;
  var tries = 0;
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      if (data.active) { window.location = box.dataset.next; return; }
      if (++tries < 60) { setTimeout(poll, 1000); }
    }).catch(function () { if (++tries < 60) { setTimeout(poll, 2000); } });
  }
  setTimeout(poll, 500);
})();
