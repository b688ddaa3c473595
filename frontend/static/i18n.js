// The page's messages, in the page's language: the server puts the catalogue's messages for
// this page's scripts in <script type="application/json" id="i18n"> (backend/src/i18n.rs),
// each a list of parts: text, {"v": name} (an argument), or {"s": name, "c": cases, "d":
// default} (a choice by exact number or by the language's plural category, as Fluent does).

export const lang = document.documentElement.lang || 'en';

let catalogue = {};
try {
  catalogue = JSON.parse(document.getElementById('i18n')?.textContent || '{}');
} catch {
  catalogue = {};
}

const plurals = new Intl.PluralRules(lang);
const numbers = new Intl.NumberFormat(lang, { useGrouping: false });

function format(parts, args) {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
    } else if ('v' in part) {
      const value = args[part.v];
      out += typeof value === 'number' ? numbers.format(value) : String(value ?? '');
    } else if ('s' in part) {
      const value = args[part.s];
      let key = part.d;
      if (typeof value === 'number') {
        if (String(value) in part.c) key = String(value);
        else if (plurals.select(value) in part.c) key = plurals.select(value);
      } else if (value != null && String(value) in part.c) {
        key = String(value);
      }
      out += format(part.c[key] || [], args);
    }
  }
  return out;
}

/** The message `key` with `args` (numbers choose plurals); the key itself if unknown. */
export function t(key, args = {}) {
  const parts = catalogue[key];
  return parts ? format(parts, args) : key;
}

/** A time of day in the page's language ("14:05", "2:05 PM"). */
export function timeOfDay(ms, withSeconds = false) {
  const options = { hour: '2-digit', minute: '2-digit' };
  if (withSeconds) options.second = '2-digit';
  return new Date(ms).toLocaleTimeString(lang, options);
}

/** A date and time in the page's language. */
export function dateTime(ms) {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
}
