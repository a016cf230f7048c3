/* The loan calculator: amount and term sliders, the fee, the total to repay and
   the due date. The arithmetic is shared with the application page
   (window.demoLoan). */
(function () {
  'use strict';

  var RATE_PER_DAY = 0.0015; // 0.15 % of the amount per day
  var LIMITS = { amount: { min: 10000, max: 300000, step: 5000 }, term: { min: 5, max: 30, step: 1 } };

  function fee(amount, term) { return Math.round(amount * RATE_PER_DAY * term); }
  function total(amount, term) { return amount + fee(amount, term); }
  function dueDate(term, from) {
    var d = from ? new Date(from.getTime()) : new Date();
    d.setDate(d.getDate() + term);
    return d;
  }
  window.demoLoan = { RATE_PER_DAY: RATE_PER_DAY, LIMITS: LIMITS, fee: fee, total: total, dueDate: dueDate };

  var form = document.getElementById('calculator');
  if (!form) return;
  var i18n = window.demoI18n;
  var amount = form.elements.namedItem('amount');
  var term = form.elements.namedItem('term');
  var out = {
    amount: document.getElementById('calc-amount-out'),
    term: document.getElementById('calc-term-out'),
    fee: document.getElementById('calc-fee'),
    due: document.getElementById('calc-due'),
    total: document.getElementById('calc-total')
  };

  function render() {
    var a = Number(amount.value), t = Number(term.value);
    out.amount.textContent = i18n.money(a);
    out.term.textContent = i18n.days(t);
    amount.setAttribute('aria-valuetext', i18n.money(a));
    term.setAttribute('aria-valuetext', i18n.days(t));
    out.fee.textContent = i18n.money(fee(a, t));
    out.total.textContent = i18n.money(total(a, t));
    out.due.textContent = i18n.date(dueDate(t));
  }
  amount.addEventListener('input', render);
  term.addEventListener('input', render);
  render();
})();
