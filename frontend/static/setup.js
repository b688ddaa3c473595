// The session form: show one role row per group, and the chosen activity's phase minutes as
// the placeholder. The form works without this script (all rows are sent; extra ones are
// ignored by the server). Dates are shown in the facilitator's language and time zone.

import { t, dateTime } from './i18n.js';

const form = document.getElementById('create-form');
if (form) {
  const groups = document.getElementById('groups');
  const activity = document.getElementById('activity');
  const minutes = document.getElementById('phase_minutes');
  const rows = [...document.querySelectorAll('.role-row')];

  const showRows = () => {
    const n = Number(groups.value) || 1;
    for (const row of rows) row.hidden = Number(row.dataset.index) > n;
  };
  const showMinutes = () => {
    const option = activity.selectedOptions[0];
    minutes.placeholder = option ? t('js-dash-activity-own', { minutes: option.dataset.minutes }) : '';
  };
  groups.addEventListener('input', showRows);
  activity.addEventListener('change', showMinutes);
  showRows();
  showMinutes();
}

for (const time of document.querySelectorAll('time[datetime]')) {
  const ms = Date.parse(time.dateTime);
  if (Number.isFinite(ms)) time.textContent = dateTime(ms);
}
