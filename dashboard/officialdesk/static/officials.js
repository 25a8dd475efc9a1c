// pscm: the officials' page. Every figure comes from /api/officials; the
// page keeps nothing and writes text only (textContent).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const official = document.body.dataset.official;
  const pct = (v, has) => (has ? v.toFixed(1).replace('.', ',') + ' %' : 'không có dữ liệu');
  const mins = (s) => (s / 60).toFixed(1).replace('.', ',') + ' phút';
  const hours = (s) => (s / 3600).toFixed(1).replace('.', ',') + ' giờ';

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function error(msg) {
    $('error').textContent = msg || '';
    $('error').hidden = !msg;
  }

  async function get(path) {
    const resp = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) throw new Error((data && data.error) || ('HTTP ' + resp.status));
    return data;
  }

  // Only the latest request's answer is drawn: the page's first load and
  // a range typed right after it may answer in either order.
  let latest = 0;

  async function showList(my) {
    const l = await get('/api/officials?site=' + encodeURIComponent($('site').value) + '&range=' + encodeURIComponent($('range').value));
    if (my !== latest) return;
    const tb = $('list').querySelector('tbody');
    tb.replaceChildren();
    for (const o of l.officials) {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      const a = document.createElement('a');
      a.href = '/officials/' + encodeURIComponent(o.id);
      a.className = 'off';
      a.textContent = o.name;
      name.append(a);
      tr.dataset.official = o.id;
      tr.append(name, cell(o.sessions + ' (' + o.sessions_by_login + ' / ' + o.sessions_by_roster + ')', 'n'),
        cell(pct(o.satisfied_pct, o.has_ratings) + ' (' + o.ratings_total + ')', 'n'), cell(String(o.dissatisfied ? o.dissatisfied.length : 0), 'n'),
        cell(o.sessions ? mins(o.service_p50_s) : '—', 'n'), cell(pct(o.presence_pct, o.has_presence), 'n'), cell(hours(o.unknown_s), 'n'));
      tb.append(tr);
    }
    $('unattributed').textContent = 'Không gán được cho cán bộ nào / attributed to nobody: ' + l.unattributed_sessions + ' lượt phục vụ, ' +
      l.unattributed_ratings + ' đánh giá. Kỳ ' + l.from + '–' + l.to + '.';
    $('site-sheet').href = '/api/officials/sheet?site=' + encodeURIComponent($('site').value) + '&range=' + encodeURIComponent($('range').value);
    $('list').hidden = false;
  }

  function fact(term, value) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    $('facts').append(dt, dd);
  }

  async function showOne(my) {
    const p = await get('/api/officials/' + encodeURIComponent(official) + '?range=' + encodeURIComponent($('range').value));
    if (my !== latest) return;
    $('name').textContent = p.name + ' — ' + p.from + '–' + p.to;
    const sheet = '/api/officials/' + encodeURIComponent(official) + '/sheet?range=' + encodeURIComponent($('range').value);
    $('sheet-html').href = sheet + '&format=html';
    $('sheet-xlsx').href = sheet + '&format=xlsx';
    $('facts').replaceChildren();
    fact('Lượt phục vụ / Sessions', p.sessions + ' (theo đăng nhập xếp hàng / by queue login ' + p.sessions_by_login + ', theo lịch trực / by roster ' + p.sessions_by_roster + ')');
    fact('Thời gian phục vụ / Service', p.sessions ? 'trung vị ' + mins(p.service_p50_s) + ', P90 ' + mins(p.service_p90_s) : '—');
    fact('Thời gian chờ / Wait', p.sessions ? 'trung vị ' + mins(p.wait_p50_s) + ', P90 ' + mins(p.wait_p90_s) : '—');
    fact('Hài lòng / Satisfied', pct(p.satisfied_pct, p.has_ratings) + ' trên ' + p.ratings_total + ' đánh giá');
    fact('Hồ sơ đúng hạn / Dossiers on time', pct(p.on_time_pct, p.has_dossiers) + ' trên ' + p.dossiers_total + ' hồ sơ');
    if (p.cases) {
      fact('Góp ý, phản ánh liên quan / Cases concerning them', p.cases.received + ' tiếp nhận, ' + p.cases.handled + ' đã xử lý (' +
        p.cases.on_time + ' đúng hạn, ' + p.cases.late + ' trễ hạn), ' + p.cases.open + ' đang xử lý');
    }
    fact('Giờ theo lịch trực / Rostered', hours(p.expected_s));
    fact('Camera quan sát được / Seen by camera', hours(p.covered_s) + '; không có dữ liệu / unknown ' + hours(p.unknown_s));
    fact('Có mặt / Present', hours(p.present_s) + ' (' + pct(p.presence_pct, p.has_presence) + ' thời gian camera quan sát được)');
    for (const s of p.comparable) {
      fact('Dịch vụ ' + s.service, 'trung vị ' + mins(s.median_service_s) + ' (' + s.sessions + ' lượt) — trung tâm ' + mins(s.center_median_service_s) + ' (' + s.center_sessions + ' lượt)');
    }
    const tb = $('months').querySelector('tbody');
    tb.replaceChildren();
    for (const m of p.months) {
      const tr = document.createElement('tr');
      tr.append(cell(m.label), cell(String(m.sessions), 'n'), cell(pct(m.satisfied_pct, m.has_ratings), 'n'), cell(pct(m.presence_pct, m.has_presence), 'n'));
      tb.append(tr);
    }
    const ul = $('dissatisfied');
    ul.replaceChildren();
    for (const d of p.dissatisfied || []) {
      const li = document.createElement('li');
      li.textContent = new Date(d.at).toLocaleString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' }) + ' · ' + d.counter + (d.reasons && d.reasons.length ? ' · ' + d.reasons.join(', ') : '');
      ul.append(li);
    }
    const notes = $('notes');
    notes.replaceChildren();
    for (const n of p.notes || []) {
      const li = document.createElement('li');
      li.textContent = n.day + ': ' + n.text;
      notes.append(li);
    }
    $('one').hidden = false;
  }

  async function addNote(ev) {
    ev.preventDefault();
    const f = new FormData($('note-form'));
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const resp = await fetch('/api/officials/me/notes', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ day: f.get('day'), text: f.get('text') }),
    });
    if (!resp.ok) {
      let data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      error((data && data.error) || ('HTTP ' + resp.status));
      return;
    }
    $('note-form').reset();
    show();
  }

  async function show() {
    const my = ++latest;
    error('');
    try {
      if (official) await showOne(my); else await showList(my);
    } catch (e) {
      if (my === latest) error(e.message);
    }
  }

  $('load').addEventListener('click', show);
  if ($('note-form')) $('note-form').addEventListener('submit', addNote);
  show();
})();
