/* The loan application form: pre-filled from the calculator's query string,
   validated in the visitor's language (native constraint validation, so an
   invalid form never fires `submit` and the consent gate only sees complete
   applications), and a live summary of the loan. Submission itself is the
   consent SDK's business (data-vivus-consent="policy"). */
(function () {
  'use strict';

  var form = document.getElementById('application');
  if (!form) return;
  var i18n = window.demoI18n;
  var loan = window.demoLoan;
  var f = form.elements;

  // Kazakhstan IIN: YYMMDD, a century/sex digit, four serial digits, a check digit.
  function iinProblem(value) {
    if (!/^\d{12}$/.test(value)) return 'err.iin.length';
    var d = value.split('').map(Number);
    var sum = 0, i;
    for (i = 0; i < 11; i++) sum += (i + 1) * d[i];
    var check = sum % 11;
    if (check === 10) {
      var w = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
      for (sum = 0, i = 0; i < 11; i++) sum += w[i] * d[i];
      check = sum % 11;
      if (check === 10) return 'err.iin.checksum';
    }
    if (check !== d[11]) return 'err.iin.checksum';
    var century = { 1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000 }[d[6]];
    var yy = d[0] * 10 + d[1], mm = d[2] * 10 + d[3], dd = d[4] * 10 + d[5];
    if (!century) return 'err.iin.checksum';
    var birth = new Date(century + yy, mm - 1, dd);
    if (birth.getMonth() !== mm - 1 || birth.getDate() !== dd) return 'err.iin.checksum';
    var adult = new Date(birth.getTime());
    adult.setFullYear(adult.getFullYear() + 18);
    if (adult > new Date()) return 'err.iin.age';
    return null;
  }

  function phoneDigits(value) { return value.replace(/[\s()\-]/g, ''); }

  var checks = {
    name: function (v) {
      return /^[A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі'’ -]{5,}$/.test(v.trim()) && v.trim().indexOf(' ') > 0 ? null : 'err.name';
    },
    iin: iinProblem,
    phone: function (v) { return /^\+7\d{10}$/.test(phoneDigits(v)) ? null : 'err.phone'; },
    email: function (v, el) { return v && el.validity.valid ? null : 'err.email'; },
    amount: function (v) {
      var n = Number(v);
      return v !== '' && n >= loan.LIMITS.amount.min && n <= loan.LIMITS.amount.max && n % loan.LIMITS.amount.step === 0 ? null : 'err.amount';
    },
    term: function (v) {
      var n = Number(v);
      return v !== '' && Number.isInteger(n) && n >= loan.LIMITS.term.min && n <= loan.LIMITS.term.max ? null : 'err.term';
    }
  };

  function validate(el, showMessage) {
    el.setCustomValidity('');
    var problem = checks[el.name](el.value, el);
    var text = problem ? i18n.t(problem) : '';
    el.setCustomValidity(text);
    if (showMessage || !problem) {
      el.setAttribute('aria-invalid', problem ? 'true' : 'false');
      document.getElementById(el.id + '-error').textContent = text;
    }
    return !problem;
  }

  Object.keys(checks).forEach(function (name) {
    var el = f.namedItem(name);
    validate(el, false);
    el.addEventListener('input', function () { validate(el, el.getAttribute('aria-invalid') === 'true'); });
    el.addEventListener('blur', function () { if (el.value !== '') validate(el, true); });
    el.addEventListener('invalid', function () { validate(el, true); });
  });

  // Digits only in the IIN field.
  f.namedItem('iin').addEventListener('input', function (e) {
    var clean = e.target.value.replace(/\D/g, '').slice(0, 12);
    if (clean !== e.target.value) { e.target.value = clean; validate(e.target, false); }
  });
  // Kazakh numbers are often written 8 7XX …: store them as +7 7XX XXX XX XX.
  f.namedItem('phone').addEventListener('blur', function (e) {
    var digits = e.target.value.replace(/\D/g, '');
    if (digits.length === 11 && (digits[0] === '8' || digits[0] === '7')) {
      e.target.value = '+7 ' + digits.slice(1, 4) + ' ' + digits.slice(4, 7) + ' ' + digits.slice(7, 9) + ' ' + digits.slice(9);
      validate(e.target, true);
    }
  });

  // Amount and term from the calculator (?amount=…&term=…).
  var params = new URLSearchParams(location.search);
  ['amount', 'term'].forEach(function (name) {
    var v = params.get(name);
    if (v !== null && /^\d+$/.test(v)) { f.namedItem(name).value = v; validate(f.namedItem(name), true); }
  });

  function summary() {
    var a = Number(f.namedItem('amount').value), t = Number(f.namedItem('term').value);
    var ok = !checks.amount(String(a)) && !checks.term(String(t));
    document.getElementById('sum-amount').textContent = ok ? i18n.money(a) : '—';
    document.getElementById('sum-term').textContent = ok ? i18n.days(t) : '—';
    document.getElementById('sum-fee').textContent = ok ? i18n.money(loan.fee(a, t)) : '—';
    document.getElementById('sum-due').textContent = ok ? i18n.date(loan.dueDate(t)) : '—';
    document.getElementById('sum-total').textContent = ok ? i18n.money(loan.total(a, t)) : '—';
  }
  f.namedItem('amount').addEventListener('input', summary);
  f.namedItem('term').addEventListener('input', summary);
  summary();

  window.demoApplication = { iinProblem: iinProblem };
})();
