/* profiler-kit report front end: numbers, durations, sizes and dates as text.
 * Pure functions of their arguments; '—' stands for a value that is missing. */
(function (PK) {
  'use strict';

  const { isNum } = PK;

  const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  // Three significant digits for the mantissa of a scaled value.
  function threeDigits(v) {
    const a = Math.abs(v);
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function formatDuration(s) {
    if (!isNum(s)) return '—';
    const a = Math.abs(s);
    if (a === 0) return '0 s';
    if (a < 9.995e-4) return threeDigits(s * 1e6) + ' µs';
    if (a < 0.9995) return threeDigits(s * 1e3) + ' ms';
    if (a < 59.5) return threeDigits(s) + ' s';
    const total = Math.round(a);
    const sign = s < 0 ? '-' : '';
    if (total < 3600) return sign + Math.floor(total / 60) + ' min ' + (total % 60) + ' s';
    return sign + Math.floor(total / 3600) + ' h ' + Math.floor((total % 3600) / 60) + ' min';
  }

  function formatSignedDuration(s) {
    if (!isNum(s)) return '—';
    return (s > 0 ? '+' : '') + formatDuration(s);
  }

  // A time span in seconds; beyond a day, in days and hours.
  function formatSpan(seconds) {
    if (!isNum(seconds) || seconds < 0) return '—';
    if (seconds < 86400) return formatDuration(seconds);
    const days = Math.floor(seconds / 86400);
    const hours = Math.floor((seconds % 86400) / 3600);
    return days + (days === 1 ? ' day' : ' days') + (hours ? ' ' + hours + ' h' : '');
  }

  function formatBytes(n) {
    if (!isNum(n)) return '—';
    let v = n;
    let i = 0;
    while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
      v /= 1024;
      i += 1;
    }
    return (i === 0 ? String(Math.round(v)) : threeDigits(v)) + ' ' + BYTE_UNITS[i];
  }

  function formatCount(n) {
    return isNum(n) ? Math.round(n).toLocaleString('en-US') : '—';
  }

  // "1 capture", "2,000 captures".
  function counted(n, noun) {
    return formatCount(n) + ' ' + noun + (Math.round(n) === 1 ? '' : 's');
  }

  function formatPct(frac) {
    if (!isNum(frac)) return '—';
    const p = frac * 100;
    if (p > 0 && p < 0.1) return '<0.1%';
    return p.toFixed(1) + '%';
  }

  // Relative change of `now` against `before`, e.g. "+32%", "−8.5%", "new".
  function formatChange(before, now) {
    if (!isNum(before) || !isNum(now)) return '—';
    if (before <= 0) return now > 0 ? 'new' : '±0%';
    const p = (now / before - 1) * 100;
    const a = Math.abs(p);
    const digits = a >= 10 ? 0 : 1;
    if (a < 0.05) return '±0%';
    return (p > 0 ? '+' : '−') + a.toFixed(digits) + '%';
  }

  function formatRatio(r) {
    if (!isNum(r)) return '—';
    return '×' + (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));
  }

  function formatDate(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  }

  function formatDay(iso) {
    const d = new Date(iso || '');
    return isNaN(d.getTime()) ? '—' : d.toISOString().slice(0, 10);
  }

  PK.provide({
    threeDigits: threeDigits, formatDuration: formatDuration, formatSignedDuration: formatSignedDuration,
    formatSpan: formatSpan, formatBytes: formatBytes, formatCount: formatCount, counted: counted,
    formatPct: formatPct, formatChange: formatChange, formatRatio: formatRatio,
    formatDate: formatDate, formatDay: formatDay,
  });
})(window.ProfilerKit);
