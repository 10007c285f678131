/* The employee survey's draft: the answers so far, kept in this browser only (localStorage, keyed by the
   round, never by anything about the person), so someone who closes the page can continue on the same device.
   Nothing here sends anything: the answers leave the browser only with the survey's own form. */
(function () {
  "use strict";
  var PREFIX = "survey-draft-round-";
  var storage;
  try {
    storage = window.localStorage;
    storage.getItem(PREFIX);
  } catch (error) {
    return; // storage switched off: the survey works as without script
  }

  if (document.querySelector("[data-clear-drafts]")) { // the thank-you page: the answers are in
    for (var i = storage.length - 1; i >= 0; i -= 1) {
      var stored = storage.key(i);
      if (stored && stored.indexOf(PREFIX) === 0) {
        storage.removeItem(stored);
      }
    }
    return;
  }

  var form = document.querySelector("form[data-draft-key]");
  if (!form) {
    return;
  }
  var key = form.getAttribute("data-draft-key");
  var skip = { _csrf_token: true, go: true, step: true, round: true, lang: true, switch_language: true };
  var note = document.querySelector(".draft-note");
  if (note) {
    note.hidden = false;
  }

  function answers() {
    var saved = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || skip[field.name] || field.type === "submit") {
        return;
      }
      if ((field.type === "radio" || field.type === "checkbox") && !field.checked) {
        return;
      }
      if (field.value) {
        saved[field.name] = field.value;
      }
    });
    return saved;
  }

  function save() {
    storage.setItem(key, JSON.stringify({ step: form.getAttribute("data-step"), answers: answers() }));
  }

  function draft() {
    try {
      var parsed = JSON.parse(storage.getItem(key) || "null");
      return parsed && typeof parsed.answers === "object" ? parsed : null;
    } catch (error) {
      return null;
    }
  }

  function resume(saved) {
    Object.keys(saved.answers).forEach(function (name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = name;
      field.value = String(saved.answers[name]);
      form.appendChild(field);
    });
    form.querySelector("input[name=step]").value = String(saved.step || "0");
    var stay = document.createElement("input");
    stay.type = "hidden";
    stay.name = "go";
    stay.value = "stay";
    form.appendChild(stay);
    form.submit();
  }

  var offer = document.querySelector(".draft-resume");
  var saved = draft();
  if (form.hasAttribute("data-fresh") && saved && Object.keys(saved.answers).length && offer) {
    offer.hidden = false;
    offer.querySelector("[data-draft=resume]").addEventListener("click", function () {
      resume(saved);
    });
    offer.querySelector("[data-draft=discard]").addEventListener("click", function () {
      storage.removeItem(key);
      offer.hidden = true;
    });
  } else {
    save();
  }
  form.addEventListener("change", save);
  form.addEventListener("input", save);
})();
