/* Progressive enhancement of the hosted survey: display logic live, on one page. The page works without it. */
(function () {
  "use strict";
  var form = document.querySelector("form.survey");
  if (!form) return;
  var seenInput = form.querySelector("input[name=_seen]");
  var button = form.querySelector("button[type=submit]");
  var seen = seenInput.value ? seenInput.value.split(",") : [];

  function score(key, hidden) {
    if (hidden[key]) return null;
    var checked = form.querySelector('input[name="' + key + '"]:checked');
    if (!checked) return null;
    // scores are integers; a success answer is its code (yes, partly, no)
    return /^[0-9]+$/.test(checked.value) ? parseInt(checked.value, 10) : checked.value;
  }

  function holds(rule, value) {
    switch (rule.op) {
      case "<": return value < rule.value;
      case "<=": return value <= rule.value;
      case ">": return value > rule.value;
      case ">=": return value >= rule.value;
      case "==": return value === rule.value;
      case "in": return rule.value.indexOf(value) >= 0;
    }
    return false;
  }

  function update() {
    var hidden = {};
    var questions = form.querySelectorAll("[data-question]");
    for (var i = 0; i < questions.length; i++) {
      var question = questions[i];
      var key = question.getAttribute("data-question");
      var rule = question.getAttribute("data-show-if");
      var show = true;
      if (rule) {
        rule = JSON.parse(rule);
        var value = score(rule.question, hidden);
        show = value !== null && holds(rule, value);
      }
      question.hidden = !show;
      hidden[key] = !show;
      if (show && seen.indexOf(key) < 0) seen.push(key);
    }
    seenInput.value = seen.join(",");
    var others = form.querySelectorAll("[data-other-for]");
    for (var j = 0; j < others.length; j++) {
      var owner = others[j].getAttribute("data-other-for");
      var box = form.querySelector('input[name="' + owner + '"][value="other"]');
      var text = others[j].querySelector("input");
      others[j].hidden = !(box && box.checked) && !text.value && !text.getAttribute("aria-invalid");
    }
  }

  form.addEventListener("change", update);
  form.addEventListener("submit", function () {
    window.setTimeout(function () { button.disabled = true; }, 0);
  });
  window.addEventListener("pageshow", function () { button.disabled = false; });
  button.textContent = button.getAttribute("data-finish");
  update();
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
