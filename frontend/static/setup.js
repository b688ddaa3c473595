// The session form: show one role row per group, and the chosen activity's phase minutes as
// the placeholder. The form works without this script (all rows are sent; extra ones are
// ignored by the server).

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
    minutes.placeholder = option ? `${option.dataset.minutes} (the activity's own)` : '';
  };
  groups.addEventListener('input', showRows);
  activity.addEventListener('change', showMinutes);
  showRows();
  showMinutes();
}
