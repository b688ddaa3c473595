// The join page: friendly checks before sending, and no double join when a child taps twice
// (the second join would find the nickname taken by the first).

import { t } from './i18n.js';

const form = document.getElementById('join-form');
const button = document.getElementById('join-button');

function showError(text, field) {
  let alert = document.getElementById('join-error');
  if (!alert) {
    alert = document.createElement('p');
    alert.id = 'join-error';
    alert.className = 'alert';
    alert.setAttribute('role', 'alert');
    form.before(alert);
  }
  alert.textContent = text;
  field?.focus();
}

form.addEventListener('submit', (event) => {
  if (button.disabled) {
    event.preventDefault();
    return;
  }
  const code = form.elements.code;
  const nickname = form.elements.nickname;
  if (!code.value.trim()) {
    event.preventDefault();
    showError(t('js-join-need-code'), code);
    return;
  }
  if (!nickname.value.trim()) {
    event.preventDefault();
    showError(t('js-join-need-nickname'), nickname);
    return;
  }
  if (!form.querySelector('input[name="avatar"]:checked')) {
    event.preventDefault();
    showError(t('js-join-need-animal'), form.querySelector('input[name="avatar"]'));
    return;
  }
  // Let this submission go, then block a second tap.
  setTimeout(() => {
    button.disabled = true;
    button.textContent = t('js-join-joining');
  }, 0);
});

// Coming back with the browser's Back button shows the page from cache: make it usable again.
window.addEventListener('pageshow', () => {
  button.disabled = false;
  button.textContent = t('js-join-button');
});

// Start where the child has something to do.
const error = document.getElementById('join-error');
if (error) {
  const nickname = form.elements.nickname;
  const code = form.elements.code;
  // The server says which field its refusal is about (the words are in the child's language).
  const field = error.dataset.field;
  if (field === 'nickname' && code.value) nickname.focus();
  else if (field === 'avatar') form.querySelector('input[name="avatar"]')?.focus();
  else code.focus();
} else if (!document.querySelector('.welcome-back')) {
  form.elements.code.focus();
}
