// The join page: friendly checks before sending, and no double join when a child taps twice
// (the second join would find the nickname taken by the first).

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
    showError('Please type the group code from your card.', code);
    return;
  }
  if (!nickname.value.trim()) {
    event.preventDefault();
    showError("Please type a nickname. Don't use your real name!", nickname);
    return;
  }
  if (!form.querySelector('input[name="avatar"]:checked')) {
    event.preventDefault();
    showError('Please pick one of the animals.', form.querySelector('input[name="avatar"]'));
    return;
  }
  // Let this submission go, then block a second tap.
  setTimeout(() => {
    button.disabled = true;
    button.textContent = 'Joining…';
  }, 0);
});

// Coming back with the browser's Back button shows the page from cache: make it usable again.
window.addEventListener('pageshow', () => {
  button.disabled = false;
  button.textContent = 'Join my group';
});

// Start where the child has something to do.
const error = document.getElementById('join-error');
if (error) {
  const nickname = form.elements.nickname;
  const code = form.elements.code;
  if (/nickname|name/i.test(error.textContent) && code.value) nickname.focus();
  else if (/animal/i.test(error.textContent)) form.querySelector('input[name="avatar"]')?.focus();
  else code.focus();
} else if (!document.querySelector('.welcome-back')) {
  form.elements.code.focus();
}
