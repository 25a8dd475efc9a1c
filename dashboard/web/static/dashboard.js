// pscm managers' dashboard: the center against the plan's targets, live.
//
// Every websocket frame is a full snapshot; the page draws the latest and
// keeps nothing else, so a reconnect or a reload shows exactly what the
// server knows. Between frames only the serving timers and the relative
// times of last ratings move, from the browser's clock.
'use strict';

(() => {
  const RECONNECT_MIN_MS = 1000;
  const RECONNECT_MAX_MS = 30000;
  const MAX_ALERTS = 20;
  // A KPI within this many points above its target is amber: met, but with
  // little to spare. At or below the target it is red.
  const AMBER_POINTS = 1;
  const PERIODS = ['today', 'week', 'month', 'half', 'year'];
  const EMOJI = { very_satisfied: '😄', satisfied: '🙂', neutral: '😐', dissatisfied: '😞' };
  const LEVEL = {
    vi: { very_satisfied: 'Rất hài lòng', satisfied: 'Hài lòng', neutral: 'Bình thường', dissatisfied: 'Không hài lòng' },
    en: { very_satisfied: 'Very satisfied', satisfied: 'Satisfied', neutral: 'Neutral', dissatisfied: 'Dissatisfied' },
  };

  const T = {
    vi: {
      status: { ok: 'Đạt', warn: 'Sát chỉ tiêu', bad: 'Không đạt', none: 'Chưa có dữ liệu' },
      ratingsOf: (a, b) => a + ' / ' + b + ' đánh giá hài lòng',
      dossiersOf: (a, b) => a + ' / ' + b + ' hồ sơ đúng hoặc trước hạn',
      year: (v) => 'Cả năm: ' + v,
      budgetDis: (n) => n > 0 ? 'Còn có thể nhận thêm ' + n + ' đánh giá không hài lòng trong năm'
        : 'Không thể nhận thêm đánh giá không hài lòng nào trong năm',
      budgetLate: (n) => n > 0 ? 'Còn có thể có thêm ' + n + ' hồ sơ trễ hạn trong năm'
        : 'Không thể có thêm hồ sơ trễ hạn nào trong năm',
      basis: { expected: (v) => ' (theo số dự kiến cả năm: ' + v + ')', last_year: (v) => ' (theo số lượng năm trước: ' + v + ')', extrapolated: (v) => ' (ước tính cả năm theo nhịp đến nay: ' + v + ')', so_far: () => ' (theo kết quả đến nay)' },
      recoverSat: (n, s) => n < 0 ? 'Không thể đạt lại chỉ tiêu trong năm' : 'Cần ' + s + ' đánh giá hài lòng liên tiếp để đạt lại chỉ tiêu',
      recoverLate: (n, s) => n < 0 ? 'Không thể đạt lại chỉ tiêu trong năm' : 'Cần ' + s + ' hồ sơ đúng hạn liên tiếp để đạt lại chỉ tiêu',
      period: { today: 'Hôm nay', week: 'Tuần này', month: 'Tháng này', half: '6 tháng', year: 'Năm báo cáo' },
      reportOf: 'kỳ báo cáo',
      custom: 'Khoảng tùy chọn',
      rangeMissing: 'Chọn ngày bắt đầu và ngày kết thúc',
      rangeOrder: 'Ngày kết thúc trước ngày bắt đầu',
      rangeFailed: 'Không tải được số liệu của khoảng này, hãy thử lại',
      staffed: 'Có cán bộ', unstaffed: 'Trống', unknown: 'Chưa rõ',
      serving: 'Đang phục vụ', idle: 'Không có phiên', waiting: 'Người dân đang chờ', emptyWaiting: 'Trống · có dân chờ',
      ratings: (n) => n + ' đánh giá',
      ratingsShort: (n) => n + ' lượt',
      noRatings: 'Chưa có đánh giá',
      lastRating: 'Đánh giá gần nhất',
      ago: (s) => s < 60 ? 'vừa xong' : s < 3600 ? Math.floor(s / 60) + ' phút trước'
        : s < 86400 ? Math.floor(s / 3600) + ' giờ trước' : Math.floor(s / 86400) + ' ngày trước',
      role: { admin: 'Quản trị', manager: 'Lãnh đạo' },
      reportPeriod: (p) => '6 tháng ' + (p.label.slice(-1) === '1' ? 'đầu' : 'cuối') + ' năm ' + p.label.slice(0, 4)
        + ' · ' + dmy(p.from) + '–' + dmy(p.to) + ' · hạn nộp ' + dmy(p.due),
      reportScope: 'Tổng hợp các trung tâm được xem',
      noData: 'Không có dữ liệu',
      ack: 'Xác nhận đã xem', ackDone: 'Đã xác nhận', ackFailed: 'Chưa ghi nhận, thử lại',
      ins: {
        dates: (a, b) => '· ' + a + ' – ' + b, loading: 'Đang đọc số liệu…', failed: 'Không đọc được phân tích, hãy thử lại.',
        none: 'không có dữ liệu', thisPeriod: 'Kỳ này', lastYear: 'Cùng kỳ năm trước', change: 'Thay đổi',
        satisfaction: 'Hài lòng', onTime: 'Đúng hạn', ratings: 'Lượt đánh giá', dossiers: 'Hồ sơ', sessions: 'Phiên phục vụ',
        pp: (v) => (v > 0 ? '+' : '') + nf({ minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v) + ' điểm %',
        rank: 'Hạng', counter: 'Quầy', serviceP50: 'Phục vụ (trung vị)', serviceRank: 'Hạng phục vụ', note: 'Ghi chú',
        procedure: 'Thủ tục', late: 'Trễ hạn', share: 'Đúng hạn hoặc sớm',
        dossier: 'Số hồ sơ', received: 'Tiếp nhận', due: 'Hẹn trả', resolved: 'Trả kết quả', daysLate: 'Trễ (ngày)',
        lateCount: (shown, total) => shown < total ? '· ' + shown + ' / ' + total + ' hồ sơ mới nhất; đủ danh sách trong tệp XLSX' : '· ' + total + ' hồ sơ',
        noLate: 'Không có hồ sơ trễ hạn.', noProcedures: 'Không có hồ sơ trong kỳ.',
      },
      alertsShown: (a, b) => '· ' + a + ' mới nhất / ' + b,
      acked: (who, at) => 'Đã xác nhận: ' + who + ' lúc ' + at,
      factSeat: (since) => 'Ghế cán bộ trống từ ' + since,
      factCamera: (cam, at, live) => 'camera ' + cam + ' báo lần cuối lúc ' + at + (live ? ' (đang quan sát)' : ' (dữ liệu đến muộn)'),
      factRostered: 'Lịch trực: ', factNobody: 'Không có lịch trực',
      noDataShare: (v) => 'không có dữ liệu ' + v + ' thời gian',
      presenceFacts: (a, b, c) => 'Có mặt ' + a + ' trên ' + b + ' có dữ liệu camera, trong ' + c + ' làm việc; thời gian không có dữ liệu không tính là vắng mặt',
    },
    en: {
      status: { ok: 'Met', warn: 'Close to target', bad: 'Below target', none: 'No data yet' },
      ratingsOf: (a, b) => a + ' of ' + b + ' ratings satisfied',
      dossiersOf: (a, b) => a + ' of ' + b + ' dossiers on time or early',
      year: (v) => 'Year: ' + v,
      budgetDis: (n) => n > 0 ? n + ' more dissatisfied rating' + (n === 1 ? '' : 's') + ' the year can afford'
        : 'The year can afford no more dissatisfied ratings',
      budgetLate: (n) => n > 0 ? n + ' more late dossier' + (n === 1 ? '' : 's') + ' the year can afford'
        : 'The year can afford no more late dossiers',
      basis: { expected: (v) => ' (on the expected ' + v + ' this year)', last_year: (v) => ' (on last year\'s ' + v + ')', extrapolated: (v) => ' (on ' + v + ', the year so far extrapolated)', so_far: () => ' (on the results so far)' },
      recoverSat: (n, s) => n < 0 ? 'The target cannot be met again this year' : s + ' satisfied ratings in a row would meet the target again',
      recoverLate: (n, s) => n < 0 ? 'The target cannot be met again this year' : s + ' dossiers on time in a row would meet the target again',
      period: { today: 'Today', week: 'This week', month: 'This month', half: 'Half-year', year: 'Reporting year' },
      reportOf: 'report period',
      custom: 'Custom range',
      rangeMissing: 'Choose the first and the last day',
      rangeOrder: 'The last day is before the first',
      rangeFailed: 'The figures of this range could not be loaded, try again',
      staffed: 'Staffed', unstaffed: 'Unstaffed', unknown: 'Unknown',
      serving: 'Serving', idle: 'No session', waiting: 'Citizen waiting', emptyWaiting: 'Empty · citizen waiting',
      ratings: (n) => n + (n === 1 ? ' rating' : ' ratings'),
      ratingsShort: (n) => n + ' rated',
      noRatings: 'No ratings yet',
      lastRating: 'Last rating',
      ago: (s) => s < 60 ? 'just now' : s < 3600 ? Math.floor(s / 60) + ' min ago'
        : s < 86400 ? Math.floor(s / 3600) + ' h ago' : Math.floor(s / 86400) + ' d ago',
      role: { admin: 'Administrator', manager: 'Manager' },
      reportPeriod: (p) => p.label.slice(0, 4) + ' H' + p.label.slice(-1) + ' · ' + dmy(p.from) + '–' + dmy(p.to) + ' · due ' + dmy(p.due),
      reportScope: 'All the centers you can see, summed',
      noData: 'No data',
      ack: 'Acknowledge', ackDone: 'Acknowledged', ackFailed: 'Not recorded, try again',
      ins: {
        dates: (a, b) => '· ' + a + ' – ' + b, loading: 'Reading the figures…', failed: 'The analysis could not be read; try again.',
        none: 'no data', thisPeriod: 'This period', lastYear: 'Same days last year', change: 'Change',
        satisfaction: 'Satisfied', onTime: 'On time', ratings: 'Ratings', dossiers: 'Dossiers', sessions: 'Sessions',
        pp: (v) => (v > 0 ? '+' : '') + nf({ minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v) + ' pts',
        rank: 'Rank', counter: 'Counter', serviceP50: 'Service (median)', serviceRank: 'Service rank', note: 'Note',
        procedure: 'Procedure', late: 'Late', share: 'On time or early',
        dossier: 'Dossier', received: 'Received', due: 'Due', resolved: 'Resolved', daysLate: 'Days late',
        lateCount: (shown, total) => shown < total ? '· newest ' + shown + ' of ' + total + '; the whole list is in the XLSX file' : '· ' + total + ' dossiers',
        noLate: 'No late dossiers.', noProcedures: 'No dossiers in the period.',
      },
      alertsShown: (a, b) => '· newest ' + a + ' of ' + b,
      acked: (who, at) => 'Acknowledged by ' + who + ' at ' + at,
      factSeat: (since) => 'Staff seat empty since ' + since,
      factCamera: (cam, at, live) => 'camera ' + cam + ' last reported at ' + at + (live ? ' (watching)' : ' (its events arrived late)'),
      factRostered: 'Rostered: ', factNobody: 'Nobody rostered',
      noDataShare: (v) => 'no data ' + v + ' of the time',
      presenceFacts: (a, b, c) => 'Present ' + a + ' of ' + b + ' with camera data, in ' + c + ' of working time; time without data is never counted as absence',
    },
  };

  const $ = (id) => document.getElementById(id);
  const q = (sel) => document.querySelector(sel);
  const params = new URLSearchParams(location.search);
  const tv = params.get('tv') === '1';
  const sitesView = params.get('view') === 'sites';

  const state = {
    lang: pick(params.get('lang'), ['vi', 'en']) || load('lang', ['vi', 'en']) || 'vi',
    period: pick(params.get('period'), PERIODS) || load('period', PERIODS) || 'today',
    snap: null,   // the latest site snapshot
    range: null,  // the chosen range's figures (api/range), shown instead of a tab's
    sites: null,  // the latest sites frame
    report: null, // {default, periods} from api/report/periods
    reportLabel: '',
    ws: null,
    delay: RECONNECT_MIN_MS,
    retry: 0,
  };

  function pick(v, allowed) { return allowed.includes(v) ? v : ''; }
  function load(key, allowed) {
    try { return pick(localStorage.getItem('pscm.dashboard.' + key), allowed); } catch (e) { return ''; }
  }
  function save(key, v) {
    try { localStorage.setItem('pscm.dashboard.' + key, v); } catch (e) { /* private mode */ }
  }

  // ---- Formatting ----

  const fmtCache = {};
  function nf(opts) {
    const locale = state.lang === 'vi' ? 'vi-VN' : 'en-US';
    const key = locale + JSON.stringify(opts);
    return fmtCache[key] || (fmtCache[key] = new Intl.NumberFormat(locale, opts));
  }
  // pct(96) is "96,0 %" in Vietnamese, "96.0%" in English; pct(94.996, 3)
  // is "94,996 %". A share judged against a target comes with the decimals
  // the server chose for it (kpi.ShareShown: never rounded across the
  // target), so the number and its verdict agree.
  function pct(v, d) {
    d = d || 1;
    const n = nf({ minimumFractionDigits: d, maximumFractionDigits: d }).format(v);
    return state.lang === 'vi' ? n + ' %' : n + '%';
  }
  // targetText(95) is "> 95 %"; a target met "at least" reads "≥ 95 %".
  function targetText(v, rule) {
    const n = nf({ maximumFractionDigits: 1 }).format(v);
    return (rule === 'at_least' ? '≥ ' : '> ') + (state.lang === 'vi' ? n + ' %' : n + '%');
  }
  function int(v) { return nf({ maximumFractionDigits: 0 }).format(v); }
  // span(312) is "5 phút 12 giây" ("5 min 12 s"): a wait or a service
  // time, which "5:12" would let a reader take for a clock time.
  function spanParts(sec) {
    let s = Math.max(0, Math.round(sec));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const vi = state.lang === 'vi';
    const parts = [];
    if (h > 0) parts.push([h, vi ? 'giờ' : 'h']);
    if (m > 0) parts.push([m, vi ? 'phút' : 'min']);
    if (s > 0 && h === 0 || parts.length === 0) parts.push([s, vi ? 'giây' : 's']);
    return parts;
  }
  function span(sec) { return spanParts(sec).map((p) => p[0] + ' ' + p[1]).join(' '); }
  // setSpan writes span(sec) into an output with its units in smaller
  // type, so "5 phút 12 giây" fits where "5:12" did.
  function setSpan(sel, sec) {
    const e = q(sel);
    if (!e) return;
    const text = span(sec);
    if (e.textContent === text) return;
    e.replaceChildren();
    spanParts(sec).forEach((p, i) => e.append((i ? ' ' : '') + p[0], el('span', 'unit', ' ' + p[1])));
  }
  // dur(312) is "5:12", a running timer; an hour or more is "1:02:03".
  function dur(sec) {
    let s = Math.max(0, Math.round(sec));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const ss = String(s).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
  }
  // Clock times are the centers' own (Vietnam's), whatever zone the
  // browser or the wall TV's box is set to, as the charts' hours are.
  const SITE_TZ = 'Asia/Ho_Chi_Minh';
  function clock(ts) {
    const d = new Date(ts);
    if (isNaN(d)) return '—';
    return d.toLocaleTimeString(state.lang === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: SITE_TZ });
  }
  function hm(ts) {
    const d = new Date(ts);
    if (isNaN(d)) return '';
    return d.toLocaleTimeString(state.lang === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: SITE_TZ });
  }
  function secondsSince(ts) {
    const t = Date.parse(ts);
    return isNaN(t) ? NaN : Math.max(0, (Date.now() - t) / 1000);
  }
  // grade colours a share: the verdict is the server's (kpi.Passes, on the
  // counts), amber when met by less than AMBER_POINTS.
  function grade(v, target, has, met) {
    if (!has) return 'none';
    if (!met) return 'bad';
    return v > target + AMBER_POINTS ? 'ok' : 'warn';
  }

  // ---- DOM helpers ----

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setOut(sel, text, value) {
    const e = q(sel);
    if (!e) return;
    if (e.textContent !== text) e.textContent = text;
    e.dataset.value = value;
  }
  function setText(sel, text) {
    const e = q(sel);
    if (e && e.textContent !== text) e.textContent = text;
  }

  // dmy('2026-06-01') is "01/06/2026", the Vietnamese date order in both languages.
  function dmy(iso) { const s = String(iso || ''); return s.slice(8, 10) + '/' + s.slice(5, 7) + '/' + s.slice(0, 4); }

  // ---- Drawing ----

  function render() {
    document.documentElement.lang = state.lang;
    document.documentElement.classList.toggle('lang-vi', state.lang === 'vi');
    document.documentElement.classList.toggle('lang-en', state.lang === 'en');
    for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === state.lang));
    for (const b of document.querySelectorAll('[data-period]')) b.setAttribute('aria-pressed', String(!state.range && b.dataset.period === state.period));
    if (sitesView) renderSites(); else renderSite();
  }

  // periodText names the period on screen with the days it covers, the
  // half-year with its report label and the reporting year with its year,
  // or the chosen range: the tabs, the range and the report count the same
  // days (kpi's one calendar).
  function periodText(t) {
    const days = (b) => (b.first === b.last ? dmy(b.first) : dmy(b.first) + ' – ' + dmy(b.last));
    if (state.range) return t.custom + ': ' + days(state.range.range || {});
    const name = t.period[state.period];
    const b = state.snap && state.snap.bounds && state.snap.bounds[state.period];
    if (!b || !b.first) return name;
    if (state.period === 'year' && b.label) return name + ' ' + b.label + ': ' + days(b);
    return name + ': ' + days(b) + (b.label ? ' (' + t.reportOf + ' ' + b.label + ')' : '');
  }

  // ---- Chosen range ----
  //
  // Two dates and "Xem" ask the server for the cards' figures of those
  // days (api/range, the same calendar and JSON as the tabs); the cards
  // show them, clearly marked, until a tab or "back" is pressed. The
  // server checks everything again: the page only saves a round trip.

  function rangeError(text) {
    const e = $('range-error');
    e.textContent = text;
    e.hidden = !text;
  }

  async function showRange(ev) {
    ev.preventDefault();
    const t = T[state.lang];
    const from = $('range-from').value, to = $('range-to').value;
    if (!from || !to) { rangeError(t.rangeMissing); return; }
    if (to < from) { rangeError(t.rangeOrder); return; }
    if (!state.snap || !state.snap.site) return;
    const btn = $('range-show');
    btn.disabled = true;
    rangeError('');
    try {
      const u = new URL('api/range', location.href);
      u.search = new URLSearchParams({ site: state.snap.site, range: from + '..' + to }).toString();
      const r = await fetch(u, { credentials: 'same-origin' });
      if (r.status === 401) { toLogin(); return; }
      const body = await r.json().catch(() => null);
      if (!r.ok || !body || body.type !== 'range') {
        // The server's reason, Vietnamese and English (kpi.RangeError).
        rangeError(body && typeof body.error === 'string' ? body.error : t.rangeFailed);
        return;
      }
      state.range = body;
      render();
    } catch (e) {
      rangeError(t.rangeFailed);
    } finally {
      btn.disabled = false;
    }
  }

  function leaveRange() {
    if (!state.range) return;
    state.range = null;
    render();
  }

  // renderRange shows or hides the range's banner and report link, and
  // fills the two dates once: this month so far, no day after today.
  function renderRange(s) {
    const r = state.range;
    $('site-view').dataset.mode = r ? 'range' : 'live';
    $('range-banner').hidden = !r;
    const today = s.bounds && s.bounds.today && s.bounds.today.first;
    const month = s.bounds && s.bounds.month && s.bounds.month.first;
    for (const id of ['range-from', 'range-to']) {
      const e = $(id);
      if (today && e.max !== today) e.max = today;
      if (!e.value && today) e.value = id === 'range-from' ? month || today : today;
    }
    const u = s.user;
    const a = $('range-xlsx');
    a.hidden = !r || !u || !(u.role === 'admin' || u.role === 'manager');
    if (r) {
      const href = 'api/report?' + new URLSearchParams({ site: s.site, range: r.range.label, format: 'xlsx' }).toString();
      if (a.getAttribute('href') !== href) a.setAttribute('href', href);
    }
  }

  // ---- Insights: on demand, for the period on screen ----

  // insightsDays are the days the insights cover: the chosen range, or the
  // tab's days up to today (so "this month" meets the same days of last
  // year's month, not the whole of it).
  function insightsDays() {
    const s = state.snap;
    if (!s || !s.bounds) return null;
    if (state.range && state.range.range) return { from: state.range.range.first, to: state.range.range.last };
    const b = s.bounds[state.period];
    const today = s.bounds.today && s.bounds.today.first;
    if (!b || !today) return null;
    return { from: b.first, to: b.last > today ? today : b.last };
  }

  function insightsQuery() {
    const d = insightsDays();
    if (!d) return '';
    return new URLSearchParams({ site: state.snap.site, from: d.from, to: d.to }).toString();
  }

  // renderInsightsHead keeps the dates and the export link on the period
  // on screen; figures read for other days are hidden, not left standing.
  function renderInsightsHead() {
    const t = T[state.lang].ins;
    const d = insightsDays();
    const qs = insightsQuery();
    $('insights').hidden = tv || !d;
    if (!d) return;
    setText('#ins-dates', t.dates(dmy(d.from), dmy(d.to)));
    const href = 'api/insights.xlsx?' + qs;
    if ($('ins-xlsx').getAttribute('href') !== href) $('ins-xlsx').setAttribute('href', href);
    if (state.ins && state.ins.qs !== qs) {
      state.ins = null;
      $('ins-body').hidden = true;
    }
  }

  async function loadInsights() {
    const t = T[state.lang].ins;
    const qs = insightsQuery();
    if (!qs) return;
    const st = $('ins-status');
    st.hidden = false;
    st.dataset.state = 'loading';
    st.textContent = t.loading;
    $('ins-load').disabled = true;
    try {
      const r = await fetch('api/insights?' + qs, { credentials: 'same-origin' });
      if (r.status === 401) { toLogin(); return; }
      const body = await r.json().catch(() => null);
      if (!r.ok || !body || !body.overview) {
        st.dataset.state = 'error';
        st.textContent = body && typeof body.error === 'string' ? body.error : t.failed;
        return;
      }
      if (qs !== insightsQuery()) return; // the period changed meanwhile
      state.ins = { qs, view: body };
      st.hidden = true;
      renderInsights();
    } catch (e) {
      st.dataset.state = 'error';
      st.textContent = t.failed;
    } finally {
      $('ins-load').disabled = false;
    }
  }

  function cell(text, cls, state) {
    const td = el('td', cls || '', text);
    if (state) td.dataset.state = state;
    return td;
  }
  function headRow(cols) {
    const tr = el('tr');
    for (const c of cols) tr.append(el('th', c.num ? 'num' : '', c.text));
    const thead = el('thead');
    thead.append(tr);
    return thead;
  }
  // oneLang keeps the page's language of a server note written "vi / en".
  function oneLang(note) {
    const parts = String(note).split(' / ');
    return parts.length === 2 ? parts[state.lang === 'vi' ? 0 : 1] : note;
  }
  function shareText(sh, none) { return sh ? pct(sh.shown, sh.decimals) : none; }
  function shareState(sh) { return sh ? (sh.met ? 'ok' : 'bad') : ''; }

  function renderInsights() {
    if (!state.ins) return;
    const t = T[state.lang].ins;
    const v = state.ins.view;
    const vi = state.lang === 'vi';
    $('ins-body').hidden = false;

    const o = v.overview;
    const trend = $('ins-trend');
    const rows = [
      [t.satisfaction, shareText(o.this.satisfaction, t.none), shareText(o.last_year.satisfaction, t.none),
        o.satisfied_delta_pp == null ? '—' : t.pp(o.satisfied_delta_pp), shareState(o.this.satisfaction), 'satisfaction'],
      [t.onTime, shareText(o.this.on_time, t.none), shareText(o.last_year.on_time, t.none),
        o.on_time_delta_pp == null ? '—' : t.pp(o.on_time_delta_pp), shareState(o.this.on_time), 'on-time'],
      [t.ratings, int(o.this.ratings), int(o.last_year.ratings), '', '', 'ratings'],
      [t.dossiers, int(o.this.dossiers), int(o.last_year.dossiers), '', '', 'dossiers'],
      [t.sessions, int(o.this.sessions), int(o.last_year.sessions), '', '', 'sessions'],
    ];
    const tb = el('tbody');
    for (const r of rows) {
      const tr = el('tr');
      tr.dataset.row = r[5];
      tr.append(el('th', '', r[0]), cell(r[1], 'num', r[4]), cell(r[2], 'num'), cell(r[3], 'num'));
      tb.append(tr);
    }
    trend.replaceChildren(headRow([{ text: '' }, { text: t.thisPeriod + ' (' + dmy(o.this.from) + ' – ' + dmy(o.this.to) + ')', num: true },
      { text: t.lastYear + ' (' + dmy(o.last_year.from) + ' – ' + dmy(o.last_year.to) + ')', num: true }, { text: t.change, num: true }]), tb);

    const cs = $('ins-counters');
    const cb = el('tbody');
    for (const c of v.counters.list) {
      const tr = el('tr');
      tr.dataset.counter = c.id;
      tr.append(cell(c.satisfaction_rank == null ? '—' : String(c.satisfaction_rank), 'num'),
        cell((vi ? c.name_vi : c.name_en) || c.id),
        cell(shareText(c.satisfaction, t.none), 'num', shareState(c.satisfaction)),
        cell(int(c.ratings), 'num'),
        cell(c.service_p50_s == null ? t.none : span(c.service_p50_s), 'num'),
        cell(c.service_rank == null ? '—' : String(c.service_rank), 'num'),
        cell([c.satisfaction_note, c.service_note].filter(Boolean).map(oneLang).join(' '), 'note'));
      cb.append(tr);
    }
    cs.replaceChildren(headRow([{ text: t.rank, num: true }, { text: t.counter }, { text: t.satisfaction, num: true }, { text: t.ratings, num: true },
      { text: t.serviceP50, num: true }, { text: t.serviceRank, num: true }, { text: t.note }]), cb);

    const ps = $('ins-procedures');
    const pb = el('tbody');
    for (const p of v.procedures.list) {
      const tr = el('tr');
      tr.dataset.procedure = p.procedure;
      tr.append(cell(p.procedure), cell(int(p.dossiers), 'num'), cell(int(p.late), 'num'),
        cell(pct(p.share.shown, p.share.decimals), 'num', p.share.met ? 'ok' : 'bad'));
      pb.append(tr);
    }
    ps.replaceChildren(headRow([{ text: t.procedure }, { text: t.dossiers, num: true }, { text: t.late, num: true }, { text: t.share, num: true }]), pb);
    const pn = $('ins-proc-note');
    pn.textContent = v.procedures.note ? oneLang(v.procedures.note) : v.procedures.list.length ? '' : t.noProcedures;
    pn.hidden = !pn.textContent;

    const ls = $('ins-late');
    const lb = el('tbody');
    const day = (ts) => (ts ? dmy(ts) : '—');
    // The page lists the newest 100; the workbook holds them all.
    const late = v.late.dossiers.slice(0, 100);
    for (const d of late) {
      const tr = el('tr');
      tr.append(cell(d.dossier), cell(d.procedure), cell(day(d.received)), cell(day(d.due)), cell(day(d.resolved)),
        cell(d.days_late == null ? '—' : nf({ minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(d.days_late), 'num', 'bad'));
      lb.append(tr);
    }
    ls.replaceChildren(headRow([{ text: t.dossier }, { text: t.procedure }, { text: t.received }, { text: t.due }, { text: t.resolved }, { text: t.daysLate, num: true }]), lb);
    ls.hidden = v.late.total === 0;
    setText('#ins-late-count', v.late.total === 0 ? '· ' + t.noLate : t.lateCount(late.length, v.late.total));
  }

  // renderReport fills the semi-annual report bar: for the site on screen,
  // or in the overview for every center the user may see (site=province).
  // The server decides the periods (the default is the one the next
  // deadline, 10 June or 10 December, reports on) and checks the scope;
  // the bar is only shown to admins and managers, never on the wall TV.
  function renderReport() {
    const bar = $('report');
    const r = state.report;
    const u = sitesView ? null : state.snap && state.snap.user;
    const site = sitesView ? 'province' : state.snap && state.snap.site;
    const allowed = sitesView ? !!state.sites : !!u && (u.role === 'admin' || u.role === 'manager');
    if (tv || !r || !site || !allowed || !(r.periods || []).length) { bar.hidden = true; return; }
    const t = T[state.lang];
    const sel = $('report-period');
    if (!r.periods.some((p) => p.label === state.reportLabel)) state.reportLabel = r.default;
    // Options are rebuilt only when their text changes: snapshots arrive
    // many times a minute, and rebuilding would close an open list.
    if (sel.dataset.lang !== state.lang) {
      sel.replaceChildren(...r.periods.map((p) => {
        const o = el('option', '', t.reportPeriod(p));
        o.value = p.label;
        if (p.label === r.default) o.dataset.default = 'true';
        return o;
      }));
      sel.dataset.lang = state.lang;
    }
    if (sel.value !== state.reportLabel) sel.value = state.reportLabel;
    const href = (format) => 'api/report?' + new URLSearchParams({ site, period: state.reportLabel, format }).toString();
    for (const [id, format] of [['report-xlsx', 'xlsx'], ['report-html', 'html']]) {
      const a = $(id);
      if (a.getAttribute('href') !== href(format)) a.setAttribute('href', href(format));
    }
    bar.dataset.site = site;
    setText('#report-scope', sitesView ? t.reportScope : '');
    bar.hidden = false;
  }

  function loadReportPeriods() {
    fetch(new URL('api/report/periods', location.href), { credentials: 'same-origin' })
      .then((resp) => (resp.ok ? resp.json() : null))
      .then((r) => {
        if (!r || typeof r.default !== 'string' || !Array.isArray(r.periods)) return;
        state.report = r;
        renderReport();
      })
      .catch(() => { /* no report bar: the rest of the page works without it */ });
  }

  function renderUser(u) {
    const e = $('user');
    if (!u) { e.textContent = ''; return; }
    const role = T[state.lang].role[u.role] || u.role || '';
    e.textContent = (u.display_name || u.name || '') + (role ? ' · ' + role : '');
    $('sites-link').hidden = tv || !(u.role === 'admin' || (u.sites && u.sites.length > 1));
    $('cases-link').hidden = tv || !u.cases;
    $('officials-link').hidden = tv || !u.officials;
  }

  function renderSite() {
    const s = state.snap;
    const t = T[state.lang];
    setText('#period-label', periodText(t));
    if (!s) return;
    $('loading').hidden = true;
    $('site-view').hidden = false;
    setText('#site-name', s.site_name || s.site || '');
    document.title = (s.site_name || s.site || '') + ' — pscm';
    setText('#generated', clock(s.generated));
    $('generated').dateTime = s.generated || '';
    renderUser(s.user);

    const targets = s.targets || {};
    const periods = s.periods || {};
    // A chosen range of this site replaces the tab's figures on the cards.
    if (state.range && state.range.site !== s.site) state.range = null;
    const p = state.range ? state.range.stats || {} : periods[state.period] || {};
    renderRange(s);
    renderInsightsHead();
    renderInsights();
    const year = periods.year || {};
    const budget = s.budget || {};

    // Satisfaction and on time: the two targets of the plan.
    const kpis = [
      { id: 'satisfaction', card: 'card-satisfaction', v: p.satisfied_shown, d: p.satisfied_decimals, met: p.satisfaction_met,
        has: p.has_ratings, target: targets.satisfaction_pct, rule: targets.satisfaction_rule,
        detail: p.has_ratings ? t.ratingsOf(int(p.satisfied || 0), int(p.ratings_total || 0)) : '',
        yv: year.satisfied_shown, yd: year.satisfied_decimals, yhas: year.has_ratings, ymet: year.satisfaction_met,
        budgetSel: '[data-budget="dissatisfied"]', budget: budget.dissatisfied_left, budgetText: t.budgetDis,
        basis: budget.ratings_basis, expected: budget.expected_ratings, recover: budget.recover_satisfied, recoverText: t.recoverSat },
      { id: 'on-time', card: 'card-on-time', v: p.on_time_shown, d: p.on_time_decimals, met: p.on_time_met,
        has: p.has_dossiers, target: targets.on_time_pct, rule: targets.on_time_rule,
        detail: p.has_dossiers ? t.dossiersOf(int(p.on_time || 0), int(p.dossiers_total || 0)) : '',
        yv: year.on_time_shown, yd: year.on_time_decimals, yhas: year.has_dossiers, ymet: year.on_time_met,
        budgetSel: '[data-budget="late"]', budget: budget.late_left, budgetText: t.budgetLate,
        basis: budget.dossiers_basis, expected: budget.expected_dossiers, recover: budget.recover_on_time, recoverText: t.recoverLate },
    ];
    for (const k of kpis) {
      const has = !!k.has && typeof k.v === 'number';
      setOut('[data-kpi="' + k.id + '"]', has ? pct(k.v, k.d) : '—', has ? k.v.toFixed(k.d || 1) : '');
      const g = grade(k.v, k.target || 0, has, !!k.met);
      $(k.card).dataset.state = g;
      setText('[data-target="' + k.id + '"]', typeof k.target === 'number' ? targetText(k.target, k.rule) : '—');
      setText('[data-status="' + k.id + '"]', t.status[g]);
      setText('[data-detail="' + k.id + '"]', k.detail);
      setText('[data-year="' + k.id + '"]', (state.range || state.period !== 'year') && k.yhas ? t.year(pct(k.yv, k.yd)) : '');
      const b = q(k.budgetSel);
      if (typeof k.budget === 'number') {
        b.dataset.value = String(k.budget);
        // No room left while the year still meets its target is a warning,
        // not a failure (24 of 24 dossiers on time once showed red).
        b.dataset.state = k.budget > 0 ? 'ok' : k.ymet ? 'warn' : 'bad';
        b.replaceChildren();
        const text = k.budgetText(k.budget);
        const num = int(k.budget);
        const at = k.budget > 0 ? text.indexOf(String(k.budget)) : -1;
        if (at >= 0) {
          b.append(text.slice(0, at), el('b', 'budget-n', num), text.slice(at + String(k.budget).length));
        } else {
          b.textContent = text;
        }
        // Which year's volume the budget counts on, and, below target,
        // the way back.
        const basis = t.basis[k.basis];
        if (basis) b.append(el('span', 'basis', basis(int(k.expected || 0))));
        b.dataset.basis = k.basis || '';
        if (typeof k.recover === 'number' && k.recover !== 0) {
          const r = el('span', 'recover', ' · ' + k.recoverText(k.recover, int(k.recover)));
          r.dataset.value = String(k.recover);
          b.append(r);
        }
      } else {
        b.dataset.value = '';
        b.textContent = '';
      }
    }

    const hasSessions = (p.sessions || 0) > 0;
    for (const [id, v] of [['wait-mean', p.wait_mean_s], ['wait-p50', p.wait_p50_s], ['wait-p90', p.wait_p90_s],
      ['service-mean', p.service_mean_s], ['service-p50', p.service_p50_s], ['service-p90', p.service_p90_s]]) {
      const ok = hasSessions && typeof v === 'number';
      if (ok) setSpan('[data-kpi="' + id + '"]', v); else setText('[data-kpi="' + id + '"]', '—');
      q('[data-kpi="' + id + '"]').dataset.value = ok ? String(v) : '';
    }
    setOut('[data-kpi="sessions"]', int(p.sessions || 0), String(p.sessions || 0));
    setOut('[data-kpi="no-shows"]', int(p.no_shows || 0), String(p.no_shows || 0));
    // Presence counts only the working time a camera covered; the rest is
    // "no data", shown beside it and never as absence. A counter whose
    // camera saw nothing at all has no figure, only "no data".
    const work = p.staff_work_s || 0;
    $('presence').hidden = work <= 0;
    if (work > 0) {
      if (p.has_presence) setOut('[data-kpi="presence"]', pct(p.staff_presence_pct || 0), (p.staff_presence_pct || 0).toFixed(1));
      else setOut('[data-kpi="presence"]', t.noData, '');
      const nd = q('[data-kpi="presence-nodata"]');
      const share = p.staff_no_data_pct || 0;
      nd.dataset.value = share.toFixed(1);
      nd.textContent = p.has_presence && share >= 0.05 ? t.noDataShare(pct(share)) : '';
      $('presence').title = t.presenceFacts(span(p.staff_present_s || 0), span(p.staff_covered_s || 0), span(work));
    }

    renderCharts(s.series || {}, targets);
    renderCounters(s.counters || []);
    if (tv) fitCounters();
    renderAlerts(s.alerts || []);
    if (tv) fitAlerts((s.alerts || []).length);
    renderReport();
  }

  // ---- Charts ----
  //
  // Two SVGs drawn from the snapshot's series: elements only, classes for
  // every colour (the CSP allows no inline style). Times are the site's
  // local times as the server wrote them ("2026-11-25T07:00:00+07:00"), read
  // from the text so the browser's own zone does not matter.

  // The SVG namespace, from the page's own <svg> (the HTML parser gives it).
  const SVG_NS = $('svg-hours').namespaceURI;
  let CW = 640, CH = 170, EM = 12;      // the SVG's size and font size, in px
  let PAD = { l: 40, r: 10, t: 22, b: 24 };
  const WORK_FROM = 7, WORK_TO = 17;    // hours always shown: 07:00-17:00

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const localHour = (start) => parseInt(String(start || '').slice(11, 13), 10);
  const localDay = (start) => { const s = String(start || ''); return s.slice(8, 10) + '/' + s.slice(5, 7); };

  // size makes root's viewBox its CSS pixel size, so text and dots keep
  // the size the stylesheet gives them on a laptop and on the wall TV.
  function size(root) {
    const r = root.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) { CW = Math.round(r.width); CH = Math.round(r.height); }
    EM = parseFloat(getComputedStyle(root).fontSize) || 12;
    PAD = { l: EM * 2.8, r: EM * 0.6, t: EM * 1.4, b: EM * 1.6 };
    root.setAttribute('viewBox', '0 0 ' + CW + ' ' + CH);
  }

  function renderCharts(series, targets) {
    renderHours((series && series.today_by_hour) || []);
    renderDays((series && series.last_30_days) || [], typeof targets.satisfaction_pct === 'number' ? targets.satisfaction_pct : 95,
      targets.satisfaction_rule);
  }

  function renderHours(points) {
    const vi = state.lang === 'vi';
    const root = $('svg-hours');
    size(root);
    // Working hours always; earlier or later hours only when they have ratings.
    let from = WORK_FROM, to = WORK_TO - 1;
    for (const p of points) {
      const h = localHour(p.start);
      if (p.ratings > 0 && h < from) from = h;
      if (p.ratings > 0 && h > to) to = h;
    }
    const byHour = {};
    for (const p of points) byHour[localHour(p.start)] = p;
    const hours = [];
    for (let h = from; h <= to; h++) hours.push(byHour[h] || { ratings: 0, satisfied: 0, hour: h });
    const max = Math.max(1, ...hours.map((p) => p.ratings || 0));
    const nice = niceMax(max);
    const w = (CW - PAD.l - PAD.r) / hours.length;
    const y = (v) => CH - PAD.b - (v / nice) * (CH - PAD.t - PAD.b);
    const kids = [];
    for (const v of [0, nice / 2, nice]) {
      kids.push(svg('line', { class: 'grid', x1: PAD.l, x2: CW - PAD.r, y1: y(v), y2: y(v) }));
      kids.push(svg('text', { class: 'axis', x: PAD.l - 6, y: y(v) + EM * 0.35, 'text-anchor': 'end' }, int(v)));
    }
    let total = 0, sat = 0, peak = null;
    hours.forEach((p, i) => {
      const h = from + i;
      const r = p.ratings || 0, s = Math.min(p.satisfied || 0, r);
      total += r; sat += s;
      if (r > 0 && (!peak || r > peak.r)) peak = { h, r };
      const x = PAD.l + i * w + w * 0.15, bw = w * 0.7;
      const g = svg('g', { class: 'bar', 'data-hour': h, 'data-ratings': r, 'data-satisfied': s });
      g.append(svg('title', {}, pad2(h) + ':00 · ' + (vi ? r + ' đánh giá, ' + s + ' hài lòng' : r + ' ratings, ' + s + ' satisfied')));
      if (r > 0) {
        g.append(svg('rect', { class: 'bar-rest', x, width: bw, y: y(r), height: y(s) - y(r) }));
        g.append(svg('rect', { class: 'bar-sat', x, width: bw, y: y(s), height: y(0) - y(s) }));
        g.append(svg('text', { class: 'val', x: x + bw / 2, y: y(r) - EM * 0.35, 'text-anchor': 'middle' }, int(r)));
      }
      g.append(svg('text', { class: 'axis', x: x + bw / 2, y: CH - EM * 0.45, 'text-anchor': 'middle' }, pad2(h)));
      kids.push(g);
    });
    root.replaceChildren(...kids);
    let label;
    if (vi) {
      label = 'Hôm nay theo giờ, từ ' + from + ' giờ đến ' + (to + 1) + ' giờ: ' + int(total) + ' đánh giá'
        + (total > 0 ? ', ' + pct(sat * 100 / total) + ' hài lòng, nhiều nhất lúc ' + peak.h + ' giờ (' + int(peak.r) + ' đánh giá)' : '') + '.';
    } else {
      label = 'Today by hour, ' + pad2(from) + ':00 to ' + pad2(to + 1) + ':00: ' + int(total) + (total === 1 ? ' rating' : ' ratings')
        + (total > 0 ? ', ' + pct(sat * 100 / total) + ' satisfied, busiest at ' + pad2(peak.h) + ':00 (' + int(peak.r) + ')' : '') + '.';
    }
    root.setAttribute('aria-label', label);
  }

  function renderDays(points, target, rule) {
    const vi = state.lang === 'vi';
    const root = $('svg-days');
    size(root);
    const days = points.map((p) => ({ day: localDay(p.start), r: p.ratings || 0, s: p.satisfied || 0,
      v: p.ratings > 0 ? p.satisfied_shown : null, d: p.satisfied_decimals, met: !!p.satisfaction_met }));
    const vals = days.filter((d) => d.v !== null).map((d) => d.v);
    // From a round number under both the lowest day and the target, to 100.
    const lo = Math.max(0, Math.floor(Math.min(target - 5, ...vals) / 5) * 5);
    const y = (v) => CH - PAD.b - ((v - lo) / (100 - lo)) * (CH - PAD.t - PAD.b);
    PAD.r = EM * 3.6; // room for the target's label
    const n = Math.max(1, days.length);
    const step = (CW - PAD.l - PAD.r) / n;
    const x = (i) => PAD.l + step * (i + 0.5);
    const kids = [];
    for (const v of [lo, (lo + 100) / 2, 100]) {
      kids.push(svg('line', { class: 'grid', x1: PAD.l, x2: CW - PAD.r, y1: y(v), y2: y(v) }));
      kids.push(svg('text', { class: 'axis', x: PAD.l - 6, y: y(v) + EM * 0.35, 'text-anchor': 'end' }, int(v)));
    }
    kids.push(svg('line', { class: 'target-line', x1: PAD.l, x2: CW - PAD.r, y1: y(target), y2: y(target) }));
    kids.push(svg('text', { class: 'target-label', x: CW - PAD.r + EM * 0.4, y: y(target) + EM * 0.35, 'text-anchor': 'start' }, targetText(target, rule)));
    // The line breaks at days without ratings.
    let d = '', prev = false;
    days.forEach((p, i) => {
      if (p.v === null) { prev = false; return; }
      d += (prev ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(p.v).toFixed(1);
      prev = true;
    });
    if (d) kids.push(svg('path', { class: 'line', d }));
    let met = 0, worst = null;
    days.forEach((p, i) => {
      if (i % 7 === (days.length - 1) % 7) {
        kids.push(svg('text', { class: 'axis', x: x(i), y: CH - EM * 0.45, 'text-anchor': 'middle' }, p.day));
      }
      if (p.v === null) return;
      const g = grade(p.v, target, true, p.met);
      if (g !== 'bad') met++;
      if (!worst || p.v < worst.v) worst = p;
      const c = svg('circle', { class: 'pt', 'data-state': g, 'data-day': p.day, 'data-value': p.v.toFixed(p.d || 1), cx: x(i), cy: y(p.v), r: Math.max(4, EM * 0.38) });
      c.append(svg('title', {}, p.day + ' · ' + pct(p.v, p.d) + ' (' + p.s + '/' + p.r + ')'));
      kids.push(c);
    });
    root.replaceChildren(...kids);
    let label;
    if (vi) {
      label = '30 ngày qua: tỷ lệ hài lòng theo ngày, ' + vals.length + ' ngày có đánh giá, ' + met + ' ngày đạt chỉ tiêu ' + targetText(target, rule)
        + (worst ? ', thấp nhất ' + pct(worst.v, worst.d) + ' ngày ' + worst.day : '') + '.';
    } else {
      label = 'Last 30 days: daily satisfaction, ' + vals.length + ' days with ratings, ' + met + ' above the ' + targetText(target, rule) + ' target'
        + (worst ? ', lowest ' + pct(worst.v, worst.d) + ' on ' + worst.day : '') + '.';
    }
    root.setAttribute('aria-label', label);
  }

  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return Math.max(2, m * p);
    return v;
  }
  function pad2(n) { return String(n).padStart(2, '0'); }

  // fitCounters makes the wall TV's counter grid fit its panel: a center
  // with many counters gets denser tiles (fewer lines, smaller type) rather
  // than tiles cut off at the bottom of a screen nobody can scroll.
  function fitCounters() {
    const el = $('counters');
    el.classList.remove('dense', 'denser');
    for (const cls of ['dense', 'denser']) {
      if (el.scrollHeight <= el.clientHeight + 1) { shedCounts(el); return; }
      el.classList.add(cls);
    }
    // The densest tiles have room for the chip's first word only.
    for (const chip of el.querySelectorAll('.chip[data-short]')) chip.textContent = chip.dataset.short;
    shedCounts(el);
  }

  // shedCounts drops a tile's count of ratings when it would be cut: the
  // share is what the wall is for, and a cut number misleads.
  function shedCounts(el) {
    for (const st of el.querySelectorAll('.c-stats')) {
      const n = st.querySelector('.c-n');
      if (n && st.scrollWidth > st.clientWidth + 1) n.hidden = true;
    }
  }

  // fitAlerts keeps on the wall TV only the alerts its panel holds whole,
  // newest first, and says how many of how many: half an alert cannot be
  // read from across the room, and an empty half-panel wastes the wall.
  function fitAlerts(total) {
    const list = $('alerts');
    const items = [...list.children];
    const n = $('alerts-count');
    // Twice: the count in the heading may take a line of the list's room.
    for (let pass = 0; pass < 2; pass++) {
      for (const li of items) li.hidden = false;
      const bottom = list.getBoundingClientRect().bottom;
      let shown = items.findIndex((li) => li.getBoundingClientRect().bottom > bottom + 1);
      if (shown < 0) shown = items.length;
      items.forEach((li, i) => { li.hidden = i >= shown; });
      n.hidden = shown >= total;
      n.textContent = shown < total ? T[state.lang].alertsShown(shown, total) : '';
    }
  }

  function renderCounters(counters) {
    const t = T[state.lang];
    const list = $('counters');
    const items = counters.map((c) => {
      const li = el('li', 'counter');
      li.dataset.counter = c.id;
      const staffed = c.staffed === true ? 'yes' : c.staffed === false ? 'no' : 'unknown';
      li.dataset.staffed = staffed;
      li.append(el('h3', 'c-name', (state.lang === 'vi' ? c.name_vi : c.name_en) || c.name_vi || c.name_en || c.id));
      const line = el('div', 'c-state');
      const chip = el('span', 'chip', staffed === 'yes' ? t.staffed : staffed === 'no' ? t.unstaffed : t.unknown);
      const serving = el('span', 'c-serving');
      line.append(chip, serving);
      li.append(line);

      if (c.serving_since && staffed === 'no') {
        // The citizen's seat is taken and the official's is empty: nobody
        // is being served (a tile once read "Trống" and "Đang phục vụ").
        serving.classList.add('waiting');
        serving.textContent = t.waiting;
        // On the wall the chip says both, on one line a tile can hold.
        if (tv) { chip.textContent = t.emptyWaiting; chip.dataset.short = t.unstaffed; }
      } else if (c.serving_since) {
        serving.classList.add('on');
        const timer = el('span', 'timer');
        timer.dataset.since = c.serving_since;
        timer.setAttribute('role', 'timer');
        timer.textContent = dur(secondsSince(c.serving_since));
        // The wall TV keeps the dot and the timer beside the chip; the
        // words are for the desk (and for screen readers everywhere).
        serving.append(el('span', 'dot'), el('span', 's-words', t.serving + ' '), timer);
      } else {
        serving.textContent = t.idle;
      }

      const d = c.today || {};
      const stats = el('p', 'c-stats');
      if (d.has_ratings) {
        const sp = el('b', 'c-pct', pct(d.satisfied_shown || 0, d.satisfied_decimals));
        sp.dataset.value = (d.satisfied_shown || 0).toFixed(d.satisfied_decimals || 1);
        sp.dataset.state = grade(d.satisfied_shown || 0, (state.snap.targets || {}).satisfaction_pct || 0, true, !!d.satisfaction_met);
        // The wall's tile is narrow: "40 lượt" there, "40 đánh giá" at the desk.
        stats.append(sp, el('span', 'c-n', ' · ' + (tv ? t.ratingsShort : t.ratings)(d.ratings_total || 0)));
      } else {
        stats.textContent = t.noRatings;
      }
      li.append(stats);

      const last = el('p', 'c-last');
      if (c.last_rating && c.last_rating.level) {
        const em = el('span', 'emoji', EMOJI[c.last_rating.level] || '•');
        em.setAttribute('role', 'img');
        em.setAttribute('aria-label', LEVEL[state.lang][c.last_rating.level] || c.last_rating.level);
        const ago = el('span', 'ago', t.ago(secondsSince(c.last_rating.ts)));
        ago.dataset.ts = c.last_rating.ts;
        last.dataset.level = c.last_rating.level;
        last.append(t.lastRating + ' ', em, ' ', ago);
      }
      li.append(last);
      // A live absence shows the facts it rests on, as its alert does
      // (issue 17), and like the alert's only at the desk: the wall TV
      // names nobody, nor has the room.
      if (c.facts && staffed === 'no' && !tv) li.append(alertFacts(c.facts, t));
      return li;
    });
    list.replaceChildren(...items);
    $('no-counters').hidden = counters.length > 0;
  }

  function renderAlerts(alerts) {
    const t = T[state.lang];
    const sorted = alerts.slice().sort((a, b) => (Date.parse(b.ts) || 0) - (Date.parse(a.ts) || 0)).slice(0, MAX_ALERTS);
    const items = sorted.map((a) => {
      const li = el('li', 'alert');
      li.dataset.kind = a.kind || '';
      if (a.counter) li.dataset.counter = a.counter;
      const time = el('time', 'a-time', hm(a.ts));
      time.dateTime = a.ts || '';
      li.append(time, el('span', 'a-text', (state.lang === 'vi' ? a.text_vi : a.text_en) || a.text_vi || a.text_en || a.kind || ''));
      if (a.id) li.dataset.id = a.id;
      if (a.ack) {
        // Who saw it and when: the record every manager's page shows.
        const ack = el('span', 'a-ack', t.acked(a.ack.name || a.ack.by, hm(a.ack.at)));
        ack.dataset.by = a.ack.by || '';
        li.append(ack);
        li.dataset.acked = '1';
      } else if (!tv && a.id && state.snap && state.snap.user) {
        const btn = el('button', 'a-ackbtn', t.ack);
        btn.type = 'button';
        btn.addEventListener('click', () => acknowledge(a.id, btn));
        li.append(btn);
      }
      // The facts behind an absence are for the desk: the wall TV shows
      // nothing about a person, nor has the room.
      if (a.facts && !tv) li.append(alertFacts(a.facts, t));
      return li;
    });
    $('alerts').replaceChildren(...items);
    $('no-alerts').hidden = sorted.length > 0;
  }

  // alertFacts says what an "unstaffed" alert, or a tile's live
  // "unstaffed", rests on: since when the seat was empty, the camera's
  // last report, and with a roster who was rostered then, linked to their
  // page for the day (the officials' page checks who may read it and logs
  // the reading), or that nobody was.
  function alertFacts(f, t) {
    const p = el('p', 'a-facts');
    p.append(el('span', 'f-seat', t.factSeat(hm(f.vacant_since))), ' · ',
      el('span', 'f-camera', t.factCamera(f.camera || '', clock(f.camera_seen_until), !!f.coverage_current)));
    const u = state.snap && state.snap.user;
    if (f.roster && u && (u.role === 'admin' || u.role === 'manager')) {
      const r = el('span', 'f-roster');
      const o = f.roster.official;
      if (o) {
        // Only the officials' own pages are linked to.
        const ok = typeof o.url === 'string' && o.url.startsWith('/officials/');
        const name = el(ok ? 'a' : 'span', 'f-official', o.name || o.id);
        if (ok) name.href = o.url;
        name.dataset.official = o.id || '';
        r.append(t.factRostered, name);
      } else {
        r.textContent = t.factNobody;
        r.dataset.nobody = '1';
      }
      p.append(' · ', r);
    }
    return p;
  }

  // acknowledge records that the logged-in manager saw an alert; the next
  // push shows it on every page. A refusal is said on the button.
  async function acknowledge(id, btn) {
    const meta = q('meta[name="csrf-token"]');
    btn.disabled = true;
    try {
      const r = await fetch('api/alerts/ack', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': meta ? meta.content : '' },
        body: JSON.stringify({ site: state.snap.site, id: id }),
      });
      if (!r.ok) throw new Error(String(r.status));
      btn.textContent = T[state.lang].ackDone;
    } catch (e) {
      btn.disabled = false;
      btn.textContent = T[state.lang].ackFailed;
    }
  }

  function renderSites() {
    const f = state.sites;
    if (!f) return;
    $('loading').hidden = true;
    $('sites-view').hidden = false;
    setText('#site-name', state.lang === 'vi' ? 'Các trung tâm' : 'All centers');
    if (f.user) renderUser(f.user);
    // A sites frame may carry no time of its own: then it is as of now.
    setText('#generated', clock(f.generated || new Date().toISOString()));
    const rows = (f.sites || []).map((s) => {
      const tr = el('tr');
      tr.dataset.site = s.site;
      const name = el('th');
      name.scope = 'row';
      const a = el('a', '', s.site_name || s.site);
      a.href = '?site=' + encodeURIComponent(s.site);
      name.append(a);
      tr.append(name);
      const y = s.year || {};
      const d = s.today || {};
      // Each share with its verdict, as on a center's own page: "95,0 %"
      // alone could be read as met.
      const targets = f.targets || (state.snap && state.snap.targets) || {};
      const cell = (has, v, dec, kind, met, target) => {
        const td = el('td', 'num', has ? pct(v, dec) : '—');
        td.dataset.col = kind;
        td.dataset.value = has ? v.toFixed(dec || 1) : '';
        const g = grade(v || 0, target || 0, !!has, !!met);
        td.dataset.state = g;
        if (has) td.append(' ', el('span', 'verdict', T[state.lang].status[g]));
        return td;
      };
      tr.append(cell(y.has_ratings, y.satisfied_shown, y.satisfied_decimals, 'year-satisfaction', y.satisfaction_met, targets.satisfaction_pct),
        cell(y.has_dossiers, y.on_time_shown, y.on_time_decimals, 'year-on-time', y.on_time_met, targets.on_time_pct),
        cell(d.has_ratings, d.satisfied_shown, d.satisfied_decimals, 'today-satisfaction', d.satisfaction_met, targets.satisfaction_pct));
      const sess = el('td', 'num', int(d.sessions || 0));
      sess.dataset.col = 'today-sessions';
      tr.append(sess);
      return tr;
    });
    $('sites').replaceChildren(...rows);
    renderReport();
  }

  // Once a second: serving timers and "n minutes ago", from the browser's
  // clock, without touching anything else.
  function tick() {
    for (const e of document.querySelectorAll('.timer[data-since]')) {
      const v = dur(secondsSince(e.dataset.since));
      if (e.textContent !== v) e.textContent = v;
    }
    const t = T[state.lang];
    for (const e of document.querySelectorAll('.ago[data-ts]')) {
      const v = t.ago(secondsSince(e.dataset.ts));
      if (e.textContent !== v) e.textContent = v;
    }
  }

  // ---- Connection ----

  function wsURL() {
    const u = new URL('ws', location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = '';
    if (sitesView) u.searchParams.set('view', 'sites');
    else if (params.get('site')) u.searchParams.set('site', params.get('site'));
    return u.href;
  }

  function setOnline(on) {
    $('banner').hidden = on;
    document.body.classList.toggle('offline', !on);
  }

  function connect() {
    let ws;
    try {
      ws = new WebSocket(wsURL());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    ws.onopen = () => {
      state.delay = RECONNECT_MIN_MS;
      setOnline(true);
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || typeof m !== 'object') return;
      if (m.type === 'snapshot' && !sitesView) {
        // Only the first frame names the viewer (pushes are shared by
        // everyone watching the site): keep it, or the report bar and the
        // user's name would vanish at the first push.
        if (!m.user && state.snap && state.snap.user) m.user = state.snap.user;
        state.snap = m;
        renderSite();
      } else if (m.type === 'sites' && sitesView) {
        state.sites = m;
        renderSites();
      }
    };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.ws = null;
      setOnline(false);
      // 4401: the login session ended. A refused handshake (1006) may be the
      // same; the snapshot API answers 401 then. Either way: the login form,
      // coming back here after.
      if (ev.code === 4401) {
        toLogin();
        return;
      }
      fetch(new URL('api/snapshot?site=' + encodeURIComponent(params.get('site') || ''), location.href), { credentials: 'same-origin' })
        .then((r) => { if (r.status === 401) toLogin(); else scheduleReconnect(); })
        .catch(scheduleReconnect);
    };
  }

  function toLogin() {
    location.assign(new URL('login', location.href).pathname + '?next=' + encodeURIComponent(location.pathname + location.search));
  }

  function scheduleReconnect() {
    clearTimeout(state.retry);
    const d = state.delay;
    state.delay = Math.min(state.delay * 2, RECONNECT_MAX_MS);
    state.retry = setTimeout(connect, d);
  }

  // ---- Start ----

  function start() {
    if (tv) {
      document.documentElement.classList.add('tv');
      // On the wall the period's name and dates sit under the center's
      // name: the screen's height goes to the counters and the charts.
      document.querySelector('.top .title').append($('period-label'));
    }
    const meta = q('meta[name="csrf-token"]');
    const token = meta ? meta.getAttribute('content') || '' : '';
    $('csrf').value = token;
    $('logout').hidden = tv;

    for (const b of document.querySelectorAll('[data-lang]')) {
      b.addEventListener('click', () => { state.lang = b.dataset.lang; save('lang', state.lang); render(); });
    }
    for (const b of document.querySelectorAll('[data-period]')) {
      b.addEventListener('click', () => { state.period = b.dataset.period; state.range = null; save('period', state.period); render(); });
    }
    $('range-form').addEventListener('submit', showRange);
    $('range-back').addEventListener('click', leaveRange);
    $('ins-load').addEventListener('click', loadInsights);
    $('report-period').addEventListener('change', (ev) => { state.reportLabel = ev.target.value; renderReport(); });
    if (!tv) loadReportPeriods();
    render();
    let resized = 0;
    addEventListener('resize', () => { clearTimeout(resized); resized = setTimeout(render, 150); });
    setInterval(tick, 1000);
    connect();
  }

  start();
})();
