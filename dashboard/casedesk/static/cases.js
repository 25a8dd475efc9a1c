// pscm: the staff's cases page. Every figure and fact comes from the JSON
// API (/api/cases); the page keeps nothing of its own.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // The steps a case in each state may take, with their words.
  const NEXT = {
    received: ['acknowledged', 'assigned', 'transferred', 'rejected', 'extend'],
    acknowledged: ['assigned', 'transferred', 'rejected', 'extend'],
    assigned: ['assigned', 'answered', 'transferred', 'rejected', 'extend'],
    answered: ['closed', 'assigned'],
  };
  const STEP_VI = {
    acknowledged: 'Thụ lý / Accept', assigned: 'Giao xử lý / Assign', answered: 'Trả lời / Answer', closed: 'Kết thúc / Close',
    transferred: 'Chuyển cơ quan có thẩm quyền / Transfer', rejected: 'Không thụ lý / Reject', extend: 'Gia hạn / Extend',
  };
  let current = null; // the case shown in the detail panel

  async function api(method, path, body) {
    const init = { method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-CSRF-Token'] = csrf;
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    return { status: resp.status, data };
  }

  function showError(msg) {
    $('error').textContent = msg || '';
    $('error').hidden = !msg;
  }

  const site = () => $('site').value;
  const date = (s) => (s ? new Date(s).toLocaleDateString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' }) : '');
  const dateTime = (s) => (s ? new Date(s).toLocaleString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' }) : '');
  // A deadline is the end of its last working day: show that day.
  const dueDay = (s) => (s ? date(new Date(new Date(s).getTime() - 1).toISOString()) : '');

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  async function load() {
    showError('');
    const res = await api('GET', '/api/cases?site=' + encodeURIComponent(site()));
    if (res.status !== 200 || !res.data) {
      showError((res.data && res.data.error) || 'Không tải được danh sách / The list could not be loaded');
      return;
    }
    const l = res.data;
    $('counts').textContent = 'Đang mở / open ' + l.open + ' · Sắp đến hạn / at risk ' + l.at_risk + ' · Quá hạn / overdue ' + l.overdue +
      ' · Đúng hạn / on time ' + l.handled_on_time + '/' + l.handled;
    const tb = $('cases').querySelector('tbody');
    tb.replaceChildren();
    for (const c of l.cases) {
      const tr = document.createElement('tr');
      tr.dataset.number = c.number;
      tr.className = 'standing-' + c.standing;
      tr.append(cell(c.number, 'num'), cell(c.kind_vi), cell(c.channel_vi), cell(date(c.received)), cell(dueDay(c.deadline)),
        cell(c.standing_vi), cell(c.state_vi), cell(c.assignee || ''));
      tr.addEventListener('click', () => open(c.number));
      tb.append(tr);
    }
    for (const o of $('new-counter').querySelectorAll('option:not([value=""])')) o.remove();
    for (const id of ($('site').selectedOptions[0].dataset.counters || '').split(',').filter(Boolean)) {
      const o = document.createElement('option');
      o.value = id;
      o.textContent = id;
      $('new-counter').append(o);
    }
  }

  function fact(dl, term, value) {
    if (!value) return;
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  }

  function render(c) {
    current = c;
    $('d-title').textContent = c.number + ' — ' + c.kind_vi + ' — ' + c.state_vi;
    const dl = $('d-facts');
    dl.replaceChildren();
    fact(dl, 'Kênh / Channel', c.channel_vi);
    fact(dl, 'Tiếp nhận / Received', dateTime(c.received));
    fact(dl, 'Hạn / Due', dueDay(c.deadline) + (c.deadline ? ' (' + c.standing_vi + ')' : ''));
    fact(dl, 'Quầy / Counter', c.counter);
    fact(dl, 'Dịch vụ / Service', c.service);
    fact(dl, 'Cán bộ / Official', c.official);
    fact(dl, 'Mã tra cứu / Code', c.code);
    fact(dl, 'Nội dung / Message', c.erased ? 'Đã xóa khi hết thời hạn lưu trữ (' + date(c.erased) + ') / erased at the end of its retention'
      : (c.personal_hidden ? 'Ẩn: chỉ cán bộ quản lý của trung tâm được xem / hidden: for the center\'s managers only' : c.message));
    fact(dl, 'Điện thoại / Phone', c.personal_hidden ? '' : c.phone);
    const ol = $('d-history');
    ol.replaceChildren();
    for (const h of c.history) {
      const li = document.createElement('li');
      let text = dateTime(h.at) + ' · ' + h.by + ' · ' + (h.extend_days ? 'Gia hạn ' + h.extend_days + ' ngày làm việc / extended' : h.to_vi);
      if (h.assignee) text += ' → ' + h.assignee;
      if (h.note) text += ': ' + h.note;
      if (h.late) text += ' (trễ hạn / late)';
      li.textContent = text;
      ol.append(li);
    }
    const sel = $('step-to');
    sel.replaceChildren();
    for (const s of NEXT[c.state] || []) {
      const o = document.createElement('option');
      o.value = s;
      o.textContent = STEP_VI[s];
      sel.append(o);
    }
    $('step-form').hidden = sel.options.length === 0;
    $('detail').hidden = false;
  }

  async function open(number) {
    showError('');
    const res = await api('GET', '/api/cases/' + encodeURIComponent(number));
    if (res.status !== 200) {
      showError((res.data && res.data.error) || 'Không mở được hồ sơ / The case could not be opened');
      return;
    }
    render(res.data);
  }

  async function step(ev) {
    ev.preventDefault();
    if (!current) return;
    const f = new FormData($('step-form'));
    const to = f.get('to');
    const body = { to: to === 'extend' ? '' : to, assignee: f.get('assignee') || '', note: f.get('note') || '',
      extend_days: to === 'extend' ? Number(f.get('extend_days') || 0) : 0 };
    const res = await api('POST', '/api/cases/' + encodeURIComponent(current.number) + '/steps', body);
    if (res.status !== 200) {
      showError((res.data && res.data.error) || 'Chưa thực hiện được / Not done');
      return;
    }
    $('step-form').reset();
    render(res.data);
    load();
  }

  async function create(ev) {
    ev.preventDefault();
    const f = new FormData($('new-form'));
    const body = { site: site(), kind: f.get('kind'), channel: f.get('channel'), counter: f.get('counter') || '', service: f.get('service') || '',
      official: f.get('official') || '', message: f.get('message') || '', phone: f.get('phone') || '', complex: f.get('complex') === 'on' };
    const received = f.get('received');
    if (received) body.received = new Date(received + ':00+07:00').toISOString();
    const res = await api('POST', '/api/cases', body);
    if (res.status !== 201) {
      showError((res.data && res.data.error) || 'Chưa lưu được / Not saved');
      return;
    }
    $('new-form').reset();
    $('new').hidden = true;
    render(res.data);
    load();
  }

  // The province's file goes as it is; the server checks every row and
  // names the bad ones.
  async function importFile() {
    const file = $('import-file').files[0];
    if (!file) return;
    showError('');
    const resp = await fetch('/api/cases/import?site=' + encodeURIComponent(site()), {
      method: 'POST', body: file, credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/octet-stream' },
    });
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    $('import-file').value = '';
    if (resp.status !== 200 || !data) {
      showError(((data && data.error) || 'Chưa nhập được / Not imported') + (data && data.rows ? ': ' + data.rows.join(' · ') : ''));
      return;
    }
    $('import-result').textContent = 'Đã nhập / imported ' + data.added + ', đã có / already ' + data.already;
    load();
  }

  $('import-file').addEventListener('change', importFile);
  $('site').addEventListener('change', () => { $('detail').hidden = true; load(); });
  $('new-open').addEventListener('click', () => { $('new').hidden = false; });
  $('new-cancel').addEventListener('click', () => { $('new-form').reset(); $('new').hidden = true; });
  $('new-form').addEventListener('submit', create);
  $('step-form').addEventListener('submit', step);
  $('d-close').addEventListener('click', () => { $('detail').hidden = true; current = null; });
  load();
})();
