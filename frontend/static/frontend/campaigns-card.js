// The card step with Stripe: the Payment Element where Stripe.js offers it, the Card Element
// otherwise. The card goes straight to Stripe; our server only receives the SetupIntent's id.
(function () {
  "use strict";
  var form = document.getElementById("stripe-card-form");
  if (!form || typeof window.Stripe !== "function") return;
  var stripe = window.Stripe(form.dataset.publishableKey);
  var clientSecret = form.dataset.clientSecret;
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");
  var mount = document.getElementById("payment-element");
  var confirm;
  if (typeof stripe.confirmSetup === "function") {
    var elements = stripe.elements({ clientSecret: clientSecret });
    elements.create("payment").mount(mount);
    confirm = function () {
      return stripe.confirmSetup({
        elements: elements,
        redirect: "if_required",
        confirmParams: { return_url: form.dataset.returnUrl },
      });
    };
  } else {
    var card = stripe.elements().create("card");
    card.mount(mount);
    confirm = function () {
      return stripe.confirmCardSetup(clientSecret, { payment_method: { card: card } });
    };
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    confirm().then(function (result) {
      if (result.error) {
        errors.textContent = result.error.message || "The card could not be saved.";
        button.disabled = false;
        return;
      }
      form.querySelector('input[name="setup_intent"]').value = result.setupIntent.id;
      form.submit();
    });
  });
})();
