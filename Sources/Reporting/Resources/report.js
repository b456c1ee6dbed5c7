// The gallery: filters and pages over the JSON in #gallery-data. Every string from the
// data is set with textContent or as an attribute value, never parsed as HTML.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('gallery-data').textContent);
  var images = data.images;
  var SVG = 'http://www.w3.org/2000/svg';
  var PAGE_SIZES = ['48', '96', '240', 'all'];
  var DEFAULTS = { cls: '', step: '', source: '', split: '', prompt: '', q: '', page: 1, per: '48' };
  var state = Object.assign({}, DEFAULTS);

  function byId(id) { return document.getElementById(id); }

  // The view from the URL fragment. A fragment without any view key (a link to a
  // section, #classes) leaves the view alone and returns false.
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    var keys = Object.keys(DEFAULTS);
    if (!keys.some(function (key) { return params.has(key); })) { return false; }
    keys.forEach(function (key) { state[key] = params.has(key) ? params.get(key) : DEFAULTS[key]; });
    state.page = Math.max(1, parseInt(state.page, 10) || 1);
    if (PAGE_SIZES.indexOf(state.per) < 0) { state.per = DEFAULTS.per; }
    return true;
  }

  // The fragment from the view; only once the view was changed or came from the URL,
  // so that a link to a section keeps its fragment (and the browser scrolls there).
  var viewInHash = false;
  function writeHash() {
    if (!viewInHash) { return; }
    var params = new URLSearchParams();
    Object.keys(DEFAULTS).forEach(function (key) {
      var value = String(state[key]);
      if (value !== String(DEFAULTS[key])) { params.set(key, value); }
    });
    var hash = params.toString();
    if (history.replaceState) { history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search); }
  }

  function fillSelect(id, options, value) {
    var select = byId(id);
    options.forEach(function (option) {
      var element = document.createElement('option');
      element.value = option[0];
      element.textContent = option[1];
      if (option[2]) { element.title = option[2]; }
      select.appendChild(element);
    });
    select.value = value;
    if (select.value !== value) { select.value = ''; }
    return select;
  }

  function shorten(text, length) { return text.length > length ? text.slice(0, length - 1) + '…' : text; }

  function indexOptions(table, all) {
    return [['', all]].concat(table.map(function (name, index) { return [String(index), shorten(name, 80), name]; }));
  }

  function matches(image) {
    if (state.step !== '' && image.s !== +state.step) { return false; }
    if (state.source !== '' && image.l !== +state.source) { return false; }
    if (state.split !== '' && image.p !== +state.split) { return false; }
    if (state.prompt !== '' && image.q !== +state.prompt) { return false; }
    if (state.cls === 'none') {
      if (image.b.length > 0 || image.x) { return false; }
    } else if (state.cls !== '') {
      var wanted = +state.cls;
      if (!image.b.some(function (box) { return box[0] === wanted; })) { return false; }
    }
    if (state.q !== '') {
      var needle = state.q.toLowerCase();
      var prompt = image.q >= 0 ? data.prompts[image.q].toLowerCase() : '';
      if (image.n.toLowerCase().indexOf(needle) < 0 && prompt.indexOf(needle) < 0) { return false; }
    }
    return true;
  }

  function card(image) {
    var figure = document.createElement('figure');
    figure.className = 'card';
    figure.setAttribute('data-boxes', String(image.b.length));
    var link = document.createElement('a');
    link.className = 'frame';
    link.href = image.u;
    link.target = '_blank';
    link.rel = 'noopener';
    if (image.w > 0 && image.h > 0) { link.style.aspectRatio = image.w + ' / ' + image.h; }
    var img = document.createElement('img');
    img.loading = 'lazy';
    img.decoding = 'async';
    img.alt = image.n;
    img.src = image.t;
    link.appendChild(img);
    if (image.w > 0 && image.h > 0) {
      var svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('viewBox', '0 0 ' + image.w + ' ' + image.h);
      svg.setAttribute('preserveAspectRatio', 'none');
      image.b.forEach(function (box) {
        var rect = document.createElementNS(SVG, 'rect');
        rect.setAttribute('x', box[2]);
        rect.setAttribute('y', box[3]);
        rect.setAttribute('width', Math.max(0, box[4] - box[2]));
        rect.setAttribute('height', Math.max(0, box[5] - box[3]));
        rect.setAttribute('class', 'box' + (state.cls !== '' && state.cls !== 'none' && box[0] !== +state.cls ? ' dim' : ''));
        rect.style.setProperty('--c', data.colors[box[0]] || '#ff0');
        var title = document.createElementNS(SVG, 'title');
        title.textContent = data.classes[box[0]] + ' ' + box[1].toFixed(3) + ' · ' +
          Math.round(box[4] - box[2]) + '×' + Math.round(box[5] - box[3]) + ' px';
        rect.appendChild(title);
        svg.appendChild(rect);
      });
      link.appendChild(svg);
    }
    figure.appendChild(link);
    var caption = document.createElement('figcaption');
    var name = document.createElement('span');
    name.className = 'name';
    name.textContent = image.n;
    caption.appendChild(name);
    var meta = document.createElement('span');
    meta.className = 'meta';
    var parts = [image.b.length + (image.b.length === 1 ? ' box' : ' boxes')];
    if (image.p >= 0) { parts.push(data.splits[image.p]); }
    parts.push(image.l < 0 ? 'not labeled' : data.sources[image.l] + (image.x ? ': labels not made yet' : ''));
    meta.textContent = parts.join(' · ');
    caption.appendChild(meta);
    if (image.q >= 0) {
      var prompt = document.createElement('span');
      prompt.className = 'prompt';
      prompt.textContent = data.prompts[image.q];
      prompt.title = data.prompts[image.q];
      caption.appendChild(prompt);
    }
    figure.appendChild(caption);
    return figure;
  }

  function render() {
    var matching = [];
    var matchingBoxes = 0;
    images.forEach(function (image) {
      if (matches(image)) { matching.push(image); matchingBoxes += image.b.length; }
    });
    var per = state.per === 'all' ? Math.max(matching.length, 1) : +state.per;
    var pages = Math.max(1, Math.ceil(matching.length / per));
    state.page = Math.min(state.page, pages);
    var start = (state.page - 1) * per;
    var shown = matching.slice(start, start + per);
    var gallery = byId('gallery');
    var fragment = document.createDocumentFragment();
    var shownBoxes = 0;
    shown.forEach(function (image) { shownBoxes += image.b.length; fragment.appendChild(card(image)); });
    gallery.textContent = '';
    gallery.appendChild(fragment);
    var status = byId('gallery-status');
    status.textContent = matching.length === 0 ? 'No image matches these filters.' :
      'Images ' + (start + 1) + '–' + (start + shown.length) + ' of ' + matching.length +
      (matching.length < images.length ? ' matching (' + images.length + ' in all)' : '') +
      ' · ' + matchingBoxes + ' boxes · page ' + state.page + ' of ' + pages;
    status.setAttribute('data-matching-images', String(matching.length));
    status.setAttribute('data-matching-boxes', String(matchingBoxes));
    status.setAttribute('data-shown-images', String(shown.length));
    status.setAttribute('data-shown-boxes', String(shownBoxes));
    status.setAttribute('data-page', String(state.page));
    status.setAttribute('data-pages', String(pages));
    byId('prev').disabled = state.page <= 1;
    byId('next').disabled = state.page >= pages;
    writeHash();
  }

  viewInHash = readHash();
  var classOptions = [['', 'all classes']].concat(data.classes.map(function (name, index) { return [String(index), name]; }));
  classOptions.push(['none', 'images without boxes']);
  var selects = {
    cls: fillSelect('f-class', classOptions, state.cls),
    step: fillSelect('f-step', indexOptions(data.steps, 'all steps'), state.step),
    source: fillSelect('f-source', indexOptions(data.sources, 'all labels'), state.source),
    split: fillSelect('f-split', indexOptions(data.splits, 'all splits'), state.split),
    prompt: fillSelect('f-prompt', indexOptions(data.prompts, data.prompts.length ? 'all prompts' : 'no prompts'), state.prompt),
    per: fillSelect('f-per', PAGE_SIZES.map(function (size) { return [size, size]; }), state.per)
  };
  var text = byId('f-text');
  // The controls show the view; a value no control offers (a stale link) falls back to all.
  function syncControls() {
    Object.keys(selects).forEach(function (key) {
      selects[key].value = String(state[key]);
      if (selects[key].value !== String(state[key])) { selects[key].value = String(DEFAULTS[key]); }
      state[key] = selects[key].value;
    });
    text.value = state.q;
  }
  syncControls();
  function changed() { viewInHash = true; render(); }
  Object.keys(selects).forEach(function (key) {
    selects[key].addEventListener('change', function () {
      state[key] = selects[key].value;
      state.page = 1;
      changed();
    });
  });
  text.addEventListener('input', function () { state.q = text.value; state.page = 1; changed(); });
  byId('filters').addEventListener('submit', function (event) { event.preventDefault(); });
  function turn(by) {
    state.page += by;
    changed();
    window.scrollTo(0, byId('gallery-section').offsetTop);
  }
  byId('prev').addEventListener('click', function () { turn(-1); });
  byId('next').addEventListener('click', function () { turn(1); });
  window.addEventListener('hashchange', function () {
    if (!readHash()) { return; }
    viewInHash = true;
    syncControls();
    render();
  });
  render();
  document.body.setAttribute('data-ready', '1');
})();
