// pscm kiosk page: one counter's rating tablet.
//
// The page keeps nothing to send later. A tap is either acknowledged by the
// agent, which has then written the rating to its spool, or the citizen is
// told it was not sent and can tap again. The only thing stored in the
// browser is the pairing token (localStorage), typed once by the installer.
'use strict';

(() => {
  // How often the connectivity indicator asks the agent.
  const PING_MS = 5000;
  // One request's limit. Longer than the agent's own 5 s limit on recording
  // a press, so a slow spool answers 503 before the page gives up.
  const REQUEST_TIMEOUT_MS = 7000;
  // A failed press is retried with the same press_id, quickly, at most
  // twice: the agent recognises the retry, so it cannot count twice.
  const RETRY_DELAYS_MS = [300, 1000];
  // How long an error notice stays under the buttons.
  const NOTICE_MS = 10000;

  const $ = (id) => document.getElementById(id);

  // /kiosk/{id}/: the last path segment names the kiosk. All API URLs are
  // relative to the page, so they name the same kiosk.
  const kioskID = (() => {
    const parts = location.pathname.split('/').filter(Boolean);
    return decodeURIComponent(parts[parts.length - 1] || '');
  })();
  const tokenKey = 'pscm.kiosk.' + kioskID + '.token';

  const state = {
    token: null,
    config: null,
    online: true,
    busy: false,         // a press or reasons request is on its way
    screen: 'loading',
    screenTimer: 0,      // returns from thanks or reasons to idle
    noticeTimer: 0,
    pingTimer: 0,
    pingGeneration: 0,   // a new pairing restarts the loop; old loops stop
    reloadWhenIdle: false,
    ratingID: '',
    chosen: new Set(),
    lastLevel: '',       // the level of the last rating, for the feedback offer
    fbKind: '',
    fbField: 'message',  // what the on-screen keyboard types into
    fbBusy: false,
    shift: false,
    digits: false,
  };

  // A half-written message must not wait for the next citizen: the feedback
  // screen closes after this long without a touch, the receipt after the
  // next.
  const FEEDBACK_IDLE_MS = 120000;
  const RECEIPT_MS = 90000;

  // ---- Storage ----

  function readToken() {
    try { return localStorage.getItem(tokenKey); } catch (e) { return null; }
  }
  function writeToken(tok) {
    try { localStorage.setItem(tokenKey, tok); } catch (e) { /* private mode: kept in memory only */ }
  }
  function forgetToken() {
    try { localStorage.removeItem(tokenKey); } catch (e) { /* nothing stored */ }
  }

  // ---- Network ----

  // request returns {status, data, headers}; status 0 means the agent could
  // not be reached (network error or timeout).
  async function request(method, path, body, token) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    try {
      const headers = { 'Authorization': 'Bearer ' + (token || state.token || '') };
      const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error', signal: ctrl.signal };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      const resp = await fetch(path, init);
      let data = null;
      if (resp.status !== 204) {
        try { data = await resp.json(); } catch (e) { data = null; }
      }
      return { status: resp.status, data, headers: resp.headers };
    } catch (e) {
      return { status: 0, data: null, headers: null };
    } finally {
      clearTimeout(timer);
    }
  }

  // post sends body, retrying the very same body on a network error, a
  // 408 (the body reached the agent incomplete) or a 5xx: for a press that
  // means the same press_id.
  async function post(path, body) {
    for (let attempt = 0; ; attempt++) {
      const res = await request('POST', path, body);
      const retry = res.status === 0 || res.status === 408 || res.status >= 500;
      if (!retry || attempt >= RETRY_DELAYS_MS.length) return res;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }

  function randomID() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b); // works over plain HTTP, unlike randomUUID
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // ---- Screens ----

  function show(name) {
    clearTimeout(state.screenTimer);
    for (const s of document.querySelectorAll('.screen')) s.hidden = s.id !== name;
    state.screen = name;
    document.body.dataset.screen = name;
    $('lang').hidden = name === 'pair' || name === 'loading';
    $('banner').hidden = state.online || name === 'pair';
  }

  function setLang(lang) {
    document.body.classList.toggle('lang-en', lang === 'en');
    document.body.classList.toggle('lang-vi', lang !== 'en');
    document.documentElement.lang = lang;
    $('lang-vi').setAttribute('aria-pressed', String(lang !== 'en'));
    $('lang-en').setAttribute('aria-pressed', String(lang === 'en'));
  }

  // goIdle shows the rating buttons. After a finished rating the language
  // goes back to Vietnamese: the next citizen most likely reads it first.
  function goIdle(resetLang) {
    if (state.reloadWhenIdle) {
      location.reload();
      return;
    }
    state.busy = false;
    document.body.classList.remove('sending');
    for (const b of document.querySelectorAll('.rate.chosen')) b.classList.remove('chosen');
    if (resetLang) setLang('vi');
    show('idle');
    updateButtons();
  }

  function updateButtons() {
    const off = !state.online || state.busy;
    for (const b of document.querySelectorAll('.rate')) b.disabled = off;
  }

  function setOnline(online) {
    state.online = online;
    document.body.classList.toggle('offline', !online && state.screen !== 'pair');
    $('banner').hidden = online || state.screen === 'pair';
    updateButtons();
  }

  function showNotice(kind) {
    for (const p of $('notice').querySelectorAll('[data-notice]')) p.hidden = p.dataset.notice !== kind;
    $('notice').hidden = false;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(hideNotice, NOTICE_MS);
  }
  function hideNotice() {
    clearTimeout(state.noticeTimer);
    $('notice').hidden = true;
  }

  // ---- Rendering the config ----

  function bilingual(vi, en) {
    const wrap = document.createElement('span');
    wrap.className = 'bi';
    const v = document.createElement('span');
    v.className = 'vi';
    v.lang = 'vi';
    v.textContent = vi;
    const e = document.createElement('span');
    e.className = 'en';
    e.lang = 'en';
    e.textContent = en;
    wrap.append(v, e);
    return wrap;
  }

  function render(cfg) {
    $('counter-vi').textContent = cfg.counter_name_vi;
    $('counter-en').textContent = cfg.counter_name_en;
    for (const el of document.querySelectorAll('.officer-name')) el.textContent = cfg.officer_name || '';
    $('officer').hidden = !cfg.officer_name;

    const box = $('buttons');
    box.replaceChildren();
    box.style.setProperty('--n', String(cfg.buttons.length));
    box.classList.toggle('n3', cfg.buttons.length === 3);
    for (const b of cfg.buttons) {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'rate';
      btn.dataset.level = b.level;
      btn.setAttribute('aria-label', b.label_vi + ' — ' + b.label_en);
      btn.style.setProperty('--bg', b.color);
      btn.style.setProperty('--fg', b.text_color);
      if (b.emoji) {
        const em = document.createElement('span');
        em.className = 'emoji';
        em.setAttribute('aria-hidden', 'true');
        em.textContent = b.emoji;
        btn.append(em);
      }
      btn.append(bilingual(b.label_vi, b.label_en));
      btn.addEventListener('click', () => rate(btn, b.level));
      box.append(btn);
    }

    const list = $('reason-list');
    list.replaceChildren();
    for (const r of cfg.reasons) {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'reason';
      btn.dataset.reason = r.id;
      btn.setAttribute('aria-pressed', 'false');
      btn.setAttribute('aria-label', r.label_vi + ' — ' + r.label_en);
      const tick = document.createElement('span');
      tick.className = 'box';
      tick.setAttribute('aria-hidden', 'true');
      btn.append(tick, bilingual(r.label_vi, r.label_en));
      btn.addEventListener('click', () => toggleReason(btn, r.id));
      list.append(btn);
    }
    const fb = cfg.feedback;
    $('feedback-open').hidden = !fb;
    if (fb) {
      $('fb-notice').querySelector('.vi').textContent = fb.notice_vi;
      $('fb-notice').querySelector('.en').textContent = fb.notice_en;
    }
    updateButtons();
  }

  // The photo needs the token, so an <img src> cannot load it; it becomes a
  // data: URL, which the page's CSP allows.
  async function loadPhoto() {
    const img = $('officer-photo');
    img.hidden = true;
    if (!state.config || !state.config.officer_photo) return;
    try {
      const resp = await fetch('photo', { headers: { 'Authorization': 'Bearer ' + state.token }, cache: 'no-store', credentials: 'omit' });
      if (!resp.ok) return;
      const blob = await resp.blob();
      const url = await new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(r.result);
        r.onerror = () => reject(r.error);
        r.readAsDataURL(blob);
      });
      img.src = url;
      img.hidden = false;
    } catch (e) {
      // No photo is better than a broken one; the next config load retries.
    }
  }

  // ---- Pairing ----

  function pairMessage(kind) {
    for (const p of $('pair-message').querySelectorAll('[data-msg]')) p.hidden = p.dataset.msg !== kind;
  }

  function showPair(kind) {
    state.pingGeneration++;
    clearTimeout(state.pingTimer);
    setOnline(true);
    show('pair');
    pairMessage(kind || '');
    $('pair-token').focus();
  }

  function unpair() {
    forgetToken();
    state.token = null;
    state.config = null;
    showPair('expired');
  }

  async function onPair(ev) {
    ev.preventDefault();
    const tok = $('pair-token').value.trim();
    if (!/^[\x21-\x7e]{16,256}$/.test(tok)) {
      pairMessage('invalid');
      return;
    }
    $('pair-submit').disabled = true;
    pairMessage('checking');
    const res = await request('GET', 'ping', undefined, tok);
    $('pair-submit').disabled = false;
    if (res.status === 204) {
      writeToken(tok);
      state.token = tok;
      $('pair-token').value = '';
      pairMessage('');
      show('loading');
      await loadConfig();
      startPing();
    } else if (res.status === 401) {
      pairMessage('wrong');
    } else {
      pairMessage('unreachable');
    }
  }

  // ---- Config and connectivity ----

  async function loadConfig() {
    const res = await request('GET', 'config');
    if (res.status === 200 && res.data && Array.isArray(res.data.buttons)) {
      state.config = res.data;
      render(res.data);
      loadPhoto();
      setOnline(true);
      goIdle(true);
      return;
    }
    if (res.status === 401) {
      unpair();
      return;
    }
    setOnline(false); // the ping loop tries again
  }

  function startPing() {
    if (!state.token) return; // unpaired while the config loaded
    const gen = ++state.pingGeneration;
    clearTimeout(state.pingTimer);
    const loop = async () => {
      const res = await request('GET', 'ping');
      if (gen !== state.pingGeneration) return;
      if (res.status === 204) {
        setOnline(true);
        const version = res.headers.get('X-Kiosk-Version');
        if (!state.config) {
          await loadConfig();
        } else if (version && version !== state.config.version) {
          // The agent was upgraded or its config changed: reload, but
          // never under a citizen's finger.
          state.reloadWhenIdle = true;
          if (state.screen === 'idle' && !state.busy) location.reload();
        }
      } else if (res.status === 401) {
        unpair();
        return;
      } else {
        setOnline(false);
      }
      if (gen === state.pingGeneration) state.pingTimer = setTimeout(loop, PING_MS);
    };
    state.pingTimer = setTimeout(loop, PING_MS);
  }

  // ---- Rating ----

  async function rate(btn, level) {
    if (state.busy || !state.online || state.screen !== 'idle') return;
    state.busy = true; // before anything else: a second tap does nothing
    updateButtons();
    hideNotice();
    btn.classList.add('chosen');
    document.body.classList.add('sending');

    state.lastLevel = level;
    const res = await post('press', { level, press_id: randomID() });
    if (res.status === 200 && res.data && (res.data.status === 'accepted' || res.data.status === 'ignored')) {
      if (res.data.status === 'accepted' && res.data.ask_reasons && res.data.rating_id) {
        showReasons(res.data.rating_id);
      } else {
        showThanks(res.data.status === 'accepted', false);
      }
      return;
    }
    if (res.status === 401) {
      unpair();
      return;
    }
    goIdle(false);
    showNotice(res.status === 503 ? 'unavailable' : 'not-sent');
  }

  function showReasons(ratingID) {
    state.ratingID = ratingID;
    state.chosen = new Set();
    for (const b of document.querySelectorAll('.reason')) b.setAttribute('aria-pressed', 'false');
    $('reasons-send').disabled = true;
    $('reasons-skip').disabled = false;
    show('reasons');
    armReasonTimer();
  }

  // The follow-up closes by itself: the rating is already recorded, and the
  // next citizen must not find someone else's question on the screen. Each
  // touch gives the citizen the full time again.
  function armReasonTimer() {
    clearTimeout(state.screenTimer);
    const ms = state.config.reason_timeout_ms;
    state.screenTimer = setTimeout(() => goIdle(true), ms);
    const bar = $('countdown-bar');
    bar.classList.remove('run');
    bar.style.setProperty('--duration', ms + 'ms');
    void bar.offsetWidth; // restart the animation
    bar.classList.add('run');
  }

  function toggleReason(btn, id) {
    if (state.screen !== 'reasons' || $('reasons-skip').disabled) return;
    if (state.chosen.has(id)) state.chosen.delete(id); else state.chosen.add(id);
    btn.setAttribute('aria-pressed', String(state.chosen.has(id)));
    $('reasons-send').disabled = state.chosen.size === 0;
    armReasonTimer();
  }

  async function sendReasons() {
    if (state.chosen.size === 0) return;
    clearTimeout(state.screenTimer);
    $('reasons-send').disabled = true;
    $('reasons-skip').disabled = true;
    const reasons = Array.from(document.querySelectorAll('.reason'))
      .map((b) => b.dataset.reason)
      .filter((id) => state.chosen.has(id));
    const res = await post('reasons', { rating_id: state.ratingID, reasons });
    if (res.status === 401) {
      unpair();
      return;
    }
    showThanks(true, res.status !== 200);
  }

  // showThanks says "recorded" only when it is true: an ignored press (a
  // double tap) is thanked but not claimed.
  function showThanks(recorded, reasonsFailed) {
    document.body.classList.remove('sending');
    $('thanks').querySelector('.sub:not(.warn)').hidden = !recorded;
    $('reasons-failed').hidden = !reasonsFailed;
    // After a rating the citizen was not happy with, an offer to say why
    // in their own words and hear back; the thanks then stay longer.
    const offer = !!state.config.feedback && recorded && state.lastLevel === 'dissatisfied';
    $('thanks-feedback').hidden = !offer;
    show('thanks');
    state.screenTimer = setTimeout(() => goIdle(true), offer ? Math.max(state.config.thank_you_ms, 15000) : state.config.thank_you_ms);
  }

  // ---- Feedback (issue 16) ----

  // Vietnamese on a keyboard of its own: letters, the marked vowels and đ,
  // and five tone keys that put (or take off) a tone on the word being
  // typed, on the vowel that carries it.
  const TONES = { sac: '\u0301', huyen: '\u0300', hoi: '\u0309', nga: '\u0303', nang: '\u0323' };
  const TONE_MARKS = /[\u0300\u0301\u0303\u0309\u0323]/g;
  const VOWELS = 'aăâeêioôơuưy';
  const MARKED = 'ăâêôơư';

  function splitTone(ch) {
    const d = ch.normalize('NFD');
    const tone = (d.match(TONE_MARKS) || [''])[0];
    return { base: d.replace(TONE_MARKS, '').normalize('NFC'), tone };
  }

  // toneTarget picks the vowel of a word that carries the tone: a marked
  // vowel (the last one, for ươ), else in a closed syllable the last vowel
  // and in an open one the first of two (hòa, mùa, của; qu- and gi- count
  // their u and i as consonants).
  function toneTarget(bases) {
    const lower = bases.map((b) => b.toLowerCase());
    let start = 0;
    if (lower.length > 2 && ((lower[0] === 'q' && lower[1] === 'u') || (lower[0] === 'g' && lower[1] === 'i' && VOWELS.includes(lower[2])))) start = 2;
    const vs = [];
    for (let i = start; i < lower.length; i++) if (VOWELS.includes(lower[i])) vs.push(i);
    if (vs.length === 0) return -1;
    for (let j = vs.length - 1; j >= 0; j--) if (MARKED.includes(lower[vs[j]])) return vs[j];
    if (vs.length === 1) return vs[0];
    const closed = vs[vs.length - 1] < lower.length - 1;
    if (closed || vs.length === 3) return vs[vs.length - 1 - (vs.length === 3 ? 1 : 0)];
    return vs[vs.length - 2];
  }

  function applyTone(text, pos, mark) {
    let start = pos;
    while (start > 0 && /[\p{L}]/u.test(text[start - 1])) start--;
    const chars = Array.from(text.slice(start, pos));
    if (chars.length === 0) return null;
    const parts = chars.map(splitTone);
    const target = toneTarget(parts.map((p) => p.base));
    if (target < 0) return null;
    const same = parts[target].tone === mark;
    const word = parts.map((p, i) => (i === target && !same ? (p.base + mark).normalize('NFC') : p.base)).join('');
    return text.slice(0, start) + word + text.slice(pos);
  }

  const LETTERS = [['q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p'], ['a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l'], ['z', 'x', 'c', 'v', 'b', 'n', 'm'],
    ['ă', 'â', 'đ', 'ê', 'ô', 'ơ', 'ư']];
  const DIGITS = [['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'], ['+', '-', '(', ')', '/', ':', '%', '"', '!'], ['.', ',', '?']];

  function key(label, onPress, cls, aria) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (cls) b.className = cls;
    if (aria) b.setAttribute('aria-label', aria);
    // pointerdown keeps the focus in the field; click works for keyboards.
    b.addEventListener('pointerdown', (ev) => ev.preventDefault());
    b.addEventListener('click', () => { onPress(); armFeedbackTimer(); });
    return b;
  }

  function field() { return $(state.fbField === 'phone' ? 'fb-phone' : 'fb-message'); }

  function typeText(t) {
    const el = field();
    const max = Number(el.getAttribute('maxlength')) || 2000;
    const a = el.selectionStart ?? el.value.length, b = el.selectionEnd ?? el.value.length;
    const v = el.value.slice(0, a) + t + el.value.slice(b);
    if (Array.from(v).length > max) return;
    el.value = v;
    el.selectionStart = el.selectionEnd = a + t.length;
    if (state.shift) { state.shift = false; renderKeyboard(); }
    updateFeedbackSend();
  }

  function backspace() {
    const el = field();
    let a = el.selectionStart ?? el.value.length;
    const b = el.selectionEnd ?? el.value.length;
    if (a === b && a > 0) a -= el.value.slice(0, a).match(/[\s\S]$/u)[0].length;
    el.value = el.value.slice(0, a) + el.value.slice(b);
    el.selectionStart = el.selectionEnd = a;
    updateFeedbackSend();
  }

  function tone(mark) {
    const el = field();
    const pos = el.selectionStart ?? el.value.length;
    const v = applyTone(el.value, pos, mark);
    if (v === null) return;
    const delta = v.length - el.value.length;
    el.value = v;
    el.selectionStart = el.selectionEnd = pos + delta;
    updateFeedbackSend();
  }

  function renderKeyboard() {
    const kb = $('vkb');
    kb.replaceChildren();
    const phone = state.fbField === 'phone';
    const rows = phone ? [['1', '2', '3'], ['4', '5', '6'], ['7', '8', '9'], ['+', '0']] : (state.digits ? DIGITS : LETTERS);
    for (const r of rows) {
      const row = document.createElement('div');
      row.className = 'vkb-row';
      for (const c of r) {
        const label = state.shift ? c.toUpperCase() : c;
        row.append(key(label, () => typeText(label)));
      }
      if (phone && r === rows[rows.length - 1]) row.append(key('⌫', backspace, 'mod', 'Xóa / Delete'));
      kb.append(row);
    }
    if (phone) return;
    if (!state.digits) {
      const tones = document.createElement('div');
      tones.className = 'vkb-row';
      for (const [name, mark, label, aria] of [['sac', TONES.sac, '◌́', 'Dấu sắc'], ['huyen', TONES.huyen, '◌̀', 'Dấu huyền'],
        ['hoi', TONES.hoi, '◌̉', 'Dấu hỏi'], ['nga', TONES.nga, '◌̃', 'Dấu ngã'], ['nang', TONES.nang, '◌̣', 'Dấu nặng']]) {
        const b = key(label, () => tone(mark), 'mod', aria);
        b.dataset.tone = name;
        tones.append(b);
      }
      kb.append(tones);
    }
    const last = document.createElement('div');
    last.className = 'vkb-row';
    const shift = key('⇧', () => { state.shift = !state.shift; renderKeyboard(); }, 'mod', 'Chữ hoa / Shift');
    shift.setAttribute('aria-pressed', String(state.shift));
    last.append(shift,
      key(state.digits ? 'abc' : '123', () => { state.digits = !state.digits; state.shift = false; renderKeyboard(); }, 'mod', 'Số / Numbers'),
      key('␣', () => typeText(' '), 'wide', 'Cách / Space'),
      key('.', () => typeText('.')),
      key('⌫', backspace, 'mod', 'Xóa / Delete'));
    kb.append(last);
  }

  function setFeedbackKind(kind) {
    state.fbKind = kind;
    for (const b of document.querySelectorAll('.fb-kind')) b.setAttribute('aria-pressed', String(b.dataset.kind === kind));
  }

  function updateFeedbackSend() {
    $('fb-send').disabled = state.fbBusy || $('fb-message').value.trim() === '' || !state.fbKind;
  }

  function armFeedbackTimer() {
    clearTimeout(state.screenTimer);
    if (state.screen === 'feedback') state.screenTimer = setTimeout(closeFeedback, FEEDBACK_IDLE_MS);
  }

  function openFeedback(kind) {
    if (!state.config || !state.config.feedback) return;
    $('fb-message').value = '';
    $('fb-phone').value = '';
    $('fb-error').hidden = true;
    state.fbBusy = false;
    state.fbField = 'message';
    state.shift = false;
    state.digits = false;
    setFeedbackKind(kind);
    renderKeyboard();
    updateFeedbackSend();
    show('feedback');
    $('fb-message').focus();
    armFeedbackTimer();
  }

  // closeFeedback forgets what was typed: nothing of it stays in the page.
  function closeFeedback() {
    $('fb-message').value = '';
    $('fb-phone').value = '';
    $('rc-qr').removeAttribute('src');
    $('rc-number').textContent = '';
    $('rc-code').textContent = '';
    goIdle(true);
  }

  function showFeedbackError(kind) {
    for (const p of $('fb-error').querySelectorAll('[data-fb]')) p.hidden = p.dataset.fb !== kind;
    $('fb-error').hidden = false;
  }

  async function sendFeedback() {
    if (state.fbBusy) return;
    state.fbBusy = true;
    updateFeedbackSend();
    clearTimeout(state.screenTimer);
    const res = await post('feedback', { kind: state.fbKind, message: $('fb-message').value, phone: $('fb-phone').value });
    state.fbBusy = false;
    if (res.status === 401) {
      unpair();
      return;
    }
    if (res.status === 200 && res.data && res.data.number) {
      $('fb-message').value = '';
      $('fb-phone').value = '';
      $('rc-number').textContent = res.data.number;
      $('rc-code').textContent = res.data.code;
      if (res.data.qr && res.data.qr.startsWith('data:image/png;base64,')) $('rc-qr').src = res.data.qr; else $('rc-qr').removeAttribute('src');
      show('receipt');
      state.screenTimer = setTimeout(closeFeedback, RECEIPT_MS);
      return;
    }
    showFeedbackError(res.status === 400 ? 'invalid' : 'not-sent');
    updateFeedbackSend();
    armFeedbackTimer();
  }

  // ---- Start ----

  function start() {
    for (const el of document.querySelectorAll('.kiosk-id')) el.textContent = kioskID;
    $('pair-form').addEventListener('submit', onPair);
    $('lang-vi').addEventListener('click', () => setLang('vi'));
    $('lang-en').addEventListener('click', () => setLang('en'));
    $('reasons-send').addEventListener('click', sendReasons);
    $('reasons-skip').addEventListener('click', () => showThanks(true, false));
    $('feedback-open').addEventListener('click', () => openFeedback('gop_y'));
    $('thanks-feedback').addEventListener('click', () => openFeedback('phan_anh'));
    for (const b of document.querySelectorAll('.fb-kind')) b.addEventListener('click', () => { setFeedbackKind(b.dataset.kind); updateFeedbackSend(); armFeedbackTimer(); });
    for (const b of document.querySelectorAll('.fb-phrase')) {
      b.addEventListener('click', () => {
        const el = $('fb-message');
        const sep = el.value.trim() === '' ? '' : ' ';
        el.value = (el.value.trimEnd() + sep + b.dataset.vi).slice(0, 2000);
        updateFeedbackSend();
        armFeedbackTimer();
      });
    }
    for (const [id, name] of [['fb-message', 'message'], ['fb-phone', 'phone']]) {
      $(id).addEventListener('focus', () => { if (state.fbField !== name) { state.fbField = name; renderKeyboard(); } armFeedbackTimer(); });
      $(id).addEventListener('input', () => { updateFeedbackSend(); armFeedbackTimer(); });
    }
    $('fb-cancel').addEventListener('click', closeFeedback);
    $('fb-send').addEventListener('click', sendFeedback);
    $('rc-done').addEventListener('click', closeFeedback);
    // A long press must not open a menu on a public tablet.
    document.addEventListener('contextmenu', (ev) => ev.preventDefault());

    state.token = readToken();
    if (!state.token) {
      showPair('');
      return;
    }
    show('loading');
    loadConfig().then(startPing);
  }

  start();
})();
