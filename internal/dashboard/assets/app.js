// relutune dashboard: draws the studies list, a study and a trial from the
// dashboard's JSON API (or, in a report, from the data embedded in the
// page) with Apache ECharts, and follows live updates as server-sent
// events. No build step: this file is served as it is.
(function () {
  'use strict';

  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  var STATES = ['pending', 'running', 'complete', 'pruned', 'diverged', 'failed', 'canceled'];

  // el builds an element: el('td', {class: 'x'}, 'text', child...). Strings
  // become text nodes, so data is never parsed as HTML.
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'on') {
          Object.keys(v).forEach(function (ev) { e.addEventListener(ev, v[ev]); });
        } else if (k === 'text') {
          e.textContent = v;
        } else {
          e.setAttribute(k, v === true ? '' : String(v));
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x !== null && x !== undefined) e.appendChild(typeof x === 'string' ? document.createTextNode(x) : x); });
      else e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  // fmt prints a number with 4 significant digits, or a dash when missing.
  function fmt(v, digits) {
    if (v === null || v === undefined || typeof v !== 'number' || !isFinite(v)) return '–';
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
    return String(+v.toPrecision(digits || 4));
  }

  function when(t) {
    if (!t) return '–';
    var d = new Date(t);
    return isNaN(d) ? t : d.toISOString().replace('T', ' ').slice(0, 19);
  }

  function getJSON(url) {
    return fetch(url, {headers: {Accept: 'application/json'}}).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(url + ': ' + r.status + ' ' + t); });
      return r.json();
    });
  }

  var colors = {};
  function colorOf(name, all) {
    if (!(name in colors)) {
      var keys = (all || []).slice().sort();
      var i = keys.indexOf(name);
      colors[name] = PALETTE[(i >= 0 ? i : Object.keys(colors).length) % PALETTE.length];
    }
    return colors[name];
  }

  // chart draws option into the element with id, creating the ECharts
  // instance once, and records how many data points it drew (the browser
  // tests read data-points).
  function chart(id, option, points) {
    var node = document.getElementById(id);
    if (!node) return;
    if (node.classList.contains('empty')) {
      node.classList.remove('empty');
      node.textContent = '';
    }
    var c = echarts.getInstanceByDom(node) || echarts.init(node);
    option.animation = false;
    c.setOption(option, true);
    node.setAttribute('data-points', String(points));
    node.setAttribute('data-rendered', 'true');
  }

  // emptyChart shows why a chart has nothing to draw (yet).
  function emptyChart(id, why) {
    var node = document.getElementById(id);
    if (!node) return;
    var c = echarts.getInstanceByDom(node);
    if (c) c.dispose();
    node.classList.add('empty');
    node.textContent = why;
    node.setAttribute('data-points', '0');
  }

  function chartBox(id, title, note) {
    return el('section', {class: 'card'}, el('h3', {text: title}), note ? el('p', {class: 'note', text: note}) : null, el('div', {id: id, class: 'chart', 'data-chart': id}));
  }

  function emptyBox(title, why) {
    return el('section', {class: 'card'}, el('h3', {text: title}), el('p', {class: 'empty', text: why}));
  }

  window.addEventListener('resize', function () {
    document.querySelectorAll('[data-chart]').forEach(function (n) {
      var c = echarts.getInstanceByDom(n);
      if (c) c.resize();
    });
  });

  // ---- live updates ----

  function follow(study, onUpdate) {
    if (document.body.getAttribute('data-live') !== 'true' || !window.EventSource) return;
    var badge = document.getElementById('live');
    var src = new EventSource('/events' + (study ? '?study=' + encodeURIComponent(study) : ''));
    src.onopen = function () { if (badge) badge.textContent = '● live'; };
    src.onerror = function () { if (badge) badge.textContent = '○ reconnecting'; };
    src.addEventListener('update', function (ev) {
      var u;
      try { u = JSON.parse(ev.data); } catch (e) { return; }
      if (badge) badge.textContent = '● live · trial ' + u.trial + (u.kind === 'metrics' ? ' epoch ' + u.epoch : ' ' + u.status);
      onUpdate(u);
    });
  }

  function debounce(fn, ms) {
    var t = null;
    return function () {
      if (t) clearTimeout(t);
      t = setTimeout(function () { t = null; fn(); }, ms);
    };
  }

  // ---- studies ----

  function studiesPage(main) {
    var state = {filter: '', rows: []};
    var input = el('input', {type: 'search', id: 'filter', placeholder: 'filter by name', on: {input: function () { state.filter = input.value; draw(); }}});
    var tbody = el('tbody');
    main.replaceChildren(el('h2', {text: 'Studies'}), input,
      el('table', {id: 'studies', class: 'grid'}, el('thead', null, el('tr', null,
        ['study', 'state', 'progress', 'best', 'metric', 'created'].map(function (h) { return el('th', {text: h}); }))), tbody));
    function draw() {
      tbody.replaceChildren.apply(tbody, state.rows.filter(function (s) { return s.study.indexOf(state.filter) >= 0; }).map(function (s) {
        var done = s.complete + s.pruned + s.diverged + s.failed + s.canceled;
        var total = Math.max(s.max_trials, s.trials, 1);
        return el('tr', {'data-study': s.study},
          el('td', null, el('a', {href: '/study/' + encodeURIComponent(s.study), text: s.study})),
          el('td', {class: 'state ' + s.status, text: s.status}),
          el('td', null, progress(done, total), ' ' + done + '/' + s.max_trials),
          el('td', {class: 'num', text: fmt(s.best)}),
          el('td', {text: s.metric + ' (' + s.direction + ')'}),
          el('td', {text: when(s.created_at)}));
      }));
    }
    function load() { return getJSON('/api/studies').then(function (rows) { state.rows = rows; draw(); }); }
    follow('', debounce(load, 1000));
    return load();
  }

  function progress(done, total) {
    return el('span', {class: 'bar'}, el('span', {style: 'width:' + Math.round(100 * Math.min(done / total, 1)) + '%'}));
  }

  // ---- a study ----

  function studyPage(main, study, embedded) {
    var state = {sort: 'trial', desc: false, status: '', activation: '', metric: 'val_accuracy', data: null};
    function load() {
      if (embedded) return Promise.resolve(embedded).then(draw);
      return getJSON('/api/studies/' + encodeURIComponent(study)).then(draw);
    }
    function draw(d) {
      state.data = d;
      renderStudy(main, d, state);
    }
    if (!embedded) {
      var reload = debounce(function () { load().catch(showError); }, 1500);
      follow(study, function (u) { applyUpdate(state, u); reload(); });
    }
    return load();
  }

  // applyUpdate moves a trial's row as soon as its message arrives, before
  // the reload that brings the stored rows.
  function applyUpdate(state, u) {
    var d = state.data;
    if (!d) return;
    var t = d.trials.find(function (x) { return x.trial === u.trial; });
    if (!t) return;
    if (u.kind === 'metrics') {
      if (t.status === 'pending') t.status = 'running';
      t.epochs_done = Math.max(t.epochs_done, u.epoch);
    } else if (u.kind === 'status') {
      t.status = u.status;
      if (u.objective !== undefined) t.objective = u.objective;
      if (u.epochs_done) t.epochs_done = Math.max(t.epochs_done, u.epochs_done);
    }
    drawTrials(state);
    var row = document.querySelector('#trials tr[data-trial="' + u.trial + '"]');
    if (row) row.classList.add('flash');
  }

  function showError(err) {
    var main = document.getElementById('main');
    main.prepend(el('p', {class: 'error', text: String(err && err.message || err)}));
  }

  function renderStudy(main, d, state) {
    var ov = d.overview;
    var acts = d.curves.val_accuracy.mean.map(function (b) { return b.activation; });
    d.trials.forEach(function (t) { if (t.activation && acts.indexOf(t.activation) < 0) acts.push(t.activation); });
    acts.sort();
    acts.forEach(function (a) { colorOf(a, acts); });
    state.acts = acts;

    if (!main.querySelector('#summary')) {
      main.replaceChildren(
        el('section', {id: 'summary', class: 'card wide'}),
        el('section', {class: 'card wide'}, el('h3', {text: 'Trials'}), el('div', {id: 'trial-controls', class: 'controls'}), el('div', {class: 'scroll'}, el('table', {id: 'trials', class: 'grid'}))),
        el('div', {id: 'charts', class: 'charts'}));
    }
    drawSummary(d, ov);
    drawTrialControls(state);
    drawTrials(state);
    var charts = document.getElementById('charts');
    if (!charts.childElementCount) buildChartBoxes(charts, d);
    drawCharts(d, state);
  }

  function drawSummary(d, ov) {
    var done = ov.complete + ov.pruned + ov.diverged + ov.failed + ov.canceled;
    var counts = STATES.filter(function (s) { return ov[s] > 0; }).map(function (s) { return s + ' ' + ov[s]; }).join(' · ');
    var box = document.getElementById('summary');
    box.replaceChildren(
      el('h2', null, ov.study + ' ', el('span', {class: 'state ' + ov.status, text: ov.status})),
      d.objectives ? el('p', null, 'objectives: ' + d.objectives.metrics.map(function (m, i) { return m + ' (' + d.objectives.directions[i] + ')'; }).join(', ') +
        ' · Pareto front: ' + d.objectives.points.filter(function (p) { return p.front; }).length + ' trials') : '',
      el('p', null, 'objective: ' + ov.metric + ' (' + ov.direction + ') · best ', el('strong', {id: 'best', text: fmt(ov.best)}),
        ' · created ' + when(ov.created_at) + (ov.finished_at ? ' · finished ' + when(ov.finished_at) : '')),
      el('p', null, progress(done, Math.max(ov.max_trials, 1)), ' ' + done + ' of ' + ov.max_trials + ' trials finished (' + ov.trials + ' started: ' + counts + ')'),
      d.links && d.links.study ? el('p', null, el('a', {href: d.links.study, target: '_blank', rel: 'noopener', text: 'study workflow in the Temporal UI'})) : '');
  }

  function drawTrialControls(state) {
    var box = document.getElementById('trial-controls');
    if (box.childElementCount) return;
    var st = el('select', {id: 'filter-status', on: {change: function () { state.status = st.value; drawTrials(state); }}},
      el('option', {value: '', text: 'every state'}), STATES.map(function (s) { return el('option', {value: s, text: s}); }));
    var ac = el('select', {id: 'filter-activation', on: {change: function () { state.activation = ac.value; drawTrials(state); }}},
      el('option', {value: '', text: 'every activation'}), state.acts.map(function (a) { return el('option', {value: a, text: a}); }));
    box.replaceChildren(el('label', null, 'state ', st), ' ', el('label', null, 'activation ', ac));
  }

  var TRIAL_COLS = [
    ['trial', '#'], ['activation', 'activation'], ['status', 'state'], ['objective', 'objective'], ['epochs_done', 'epochs'],
    ['attempt', 'attempts'], ['samples_per_sec', 'samples/s'], ['params', 'parameters'], ['error', 'error']];

  function paramText(p) {
    return Object.keys(p || {}).filter(function (k) { return k !== 'activation'; }).sort().map(function (k) {
      var v = p[k];
      return k + '=' + (typeof v === 'number' ? fmt(v, 3) : v);
    }).join(' ');
  }

  function drawTrials(state) {
    var d = state.data, table = document.getElementById('trials');
    if (!table) return;
    var rows = d.trials.filter(function (t) {
      return (!state.status || t.status === state.status) && (!state.activation || t.activation === state.activation);
    });
    var k = state.sort;
    rows.sort(function (a, b) {
      var x = k === 'params' ? paramText(a.params) : a[k], y = k === 'params' ? paramText(b.params) : b[k];
      var xn = x === null || x === undefined, yn = y === null || y === undefined;
      if (xn || yn) return xn === yn ? a.trial - b.trial : xn ? 1 : -1; // missing values last
      var c = x < y ? -1 : x > y ? 1 : a.trial - b.trial;
      return state.desc ? -c : c;
    });
    var head = el('tr', null, TRIAL_COLS.map(function (c) {
      return el('th', {class: 'sortable' + (c[0] === k ? (state.desc ? ' desc' : ' asc') : ''), 'data-key': c[0], text: c[1],
        on: {click: function () { state.desc = state.sort === c[0] ? !state.desc : false; state.sort = c[0]; drawTrials(state); }}});
    }).concat([el('th', {text: 'Temporal activity'})]));
    var study = d.overview.study;
    var body = rows.map(function (t) {
      var link = d.links && d.links.trials && d.links.trials[t.trial];
      var activity = d.links && d.links.activities && d.links.activities[t.trial];
      var trialHref = '/study/' + encodeURIComponent(study) + '/trial/' + t.trial;
      return el('tr', {'data-trial': t.trial, 'data-status': t.status},
        el('td', {class: 'num'}, document.body.getAttribute('data-page') === 'report' ? String(t.trial) : el('a', {href: trialHref, text: String(t.trial)})),
        el('td', null, el('span', {class: 'swatch', style: 'background:' + colorOf(t.activation || '', state.acts)}), t.activation || ''),
        el('td', {class: 'status state ' + t.status, text: t.status}),
        el('td', {class: 'num', text: fmt(t.objective)}),
        el('td', {class: 'num epochs', text: String(t.epochs_done)}),
        el('td', {class: 'num', text: String(t.attempt)}),
        el('td', {class: 'num', text: fmt(t.samples_per_sec, 3)}),
        el('td', {class: 'params', text: paramText(t.params)}),
        el('td', {class: 'err', title: t.error || '', text: t.error ? t.error.slice(0, 60) : ''}),
        el('td', null, link ? el('a', {href: link, target: '_blank', rel: 'noopener', title: 'the study\'s workflow; this trial\'s last try is the activity ' + activity, text: activity}) : ''));
    });
    table.replaceChildren(el('thead', null, head), el('tbody', null, body));
  }

  function buildChartBoxes(box, d) {
    var metricSel = el('select', {id: 'curve-metric'}, ['val_accuracy', 'val_loss', 'train_loss'].map(function (m) { return el('option', {value: m, text: m}); }));
    var curves = chartBox('chart-curves', 'Learning curves', 'thin: each trial; thick: mean per activation with its 95% confidence band (clipped to the range of the trials)');
    curves.insertBefore(el('div', {class: 'controls'}, el('label', null, 'metric ', metricSel)), curves.lastChild);
    var list = [
      chartBox('chart-history', 'Optimisation history', 'objective of each complete trial and the best so far'),
      curves,
      chartBox('chart-importance', 'Parameter importance (fANOVA)', 'share of the objective\'s variance each parameter explains'),
      chartBox('chart-parallel', 'Parallel coordinates', 'complete trials, coloured by objective'),
      el('section', {class: 'card'}, el('h3', {text: 'Activation × initialiser'}), el('p', {class: 'note', text: 'mean objective [95% CI] (trials)'}), el('div', {id: 'act-init', class: 'scroll'})),
      chartBox('chart-pareto', 'Objective against training time', 'seconds per 1,000 training samples (epoch time / training set size, from the workers\' throughput); the line is the Pareto front: no trial is both better and faster'),
    ];
    if (d.objectives) {
      var om = d.objectives.metrics;
      list.unshift(chartBox('chart-objectives', 'Pareto front: ' + om[0] + ' against ' + om[1],
        'complete trials in the space of the study\'s objectives (' + om.map(function (m, i) { return m + ' ' + d.objectives.directions[i]; }).join(', ') +
        '); ringed: the Pareto front, trials no other trial dominates' + (om.length > 2 ? ' on all ' + om.length + ' objectives' : '')));
    }
    var slopeParams = ['negative_slope', 'elu_alpha', 'prelu_init'].filter(function (p) { return d.slope.some(function (s) { return s.param === p; }); });
    slopeParams.forEach(function (p) { list.push(chartBox('chart-slope-' + p, 'Slope sweep: ' + p, 'objective against ' + p + ', by activation')); });
    if (!slopeParams.length) list.push(emptyBox('Slope sweep', 'no trial set negative_slope, elu_alpha or prelu_init'));
    [['dead', 'Dead units', 'fraction of units never active, per layer and epoch'], ['saturation', 'Saturation', 'fraction of saturated units, per layer and epoch']].forEach(function (m) {
      if (!d[m[0]].length) { list.push(emptyBox(m[1], 'no per-layer diagnostics recorded yet')); return; }
      d[m[0]].forEach(function (h) { list.push(chartBox('chart-' + m[0] + '-' + h.activation, m[1] + ': ' + h.activation, m[2] + ' (mean over trials)')); });
    });
    list.push(d.prelu.length ? chartBox('chart-prelu', 'PReLU slopes', 'learned slope per trial and layer') : emptyBox('PReLU slopes', 'no PReLU trial reported slopes'));
    list.push(d.grad_norm.length ? chartBox('chart-gradnorm', 'Gradient norm per layer', 'mean over each activation\'s trials') : emptyBox('Gradient norm per layer', 'no per-layer diagnostics recorded yet'));
    box.replaceChildren.apply(box, list);
    metricSel.addEventListener('change', function () { drawCurves(window.__study.data, metricSel.value, window.__study); });
  }

  function drawCharts(d, state) {
    window.__study = state;
    var metric = document.getElementById('curve-metric');
    drawHistory(d, state);
    drawCurves(d, metric ? metric.value : 'val_accuracy', state);
    drawImportance(d);
    drawParallel(d);
    drawActInit(d);
    drawPareto(d, state);
    drawObjectives(d, state);
    drawSlopes(d, state);
    drawHeatmaps(d, 'dead');
    drawHeatmaps(d, 'saturation');
    drawPReLU(d, state);
    drawGradNorm(d, state);
  }

  var GRID = {left: 60, right: 20, top: 40, bottom: 45, containLabel: false};

  function axisName(name) { return {name: name, nameLocation: 'middle', nameGap: 30}; }

  function drawHistory(d, state) {
    var pts = d.history;
    chart('chart-history', {
      grid: GRID, tooltip: {trigger: 'item'}, legend: {top: 5},
      xAxis: Object.assign({type: 'value', minInterval: 1}, axisName('trial')),
      yAxis: Object.assign({type: 'value', scale: true}, axisName(d.overview.metric), {nameGap: 45}),
      series: [
        {name: 'objective', type: 'scatter', symbolSize: 7, data: pts.map(function (p) { return {value: [p.trial, p.objective], itemStyle: {color: colorOf(p.activation, state.acts)}, name: p.activation}; })},
        {name: 'best so far', type: 'line', step: 'end', showSymbol: false, lineStyle: {width: 2, color: '#222'}, itemStyle: {color: '#222'}, data: pts.map(function (p) { return [p.trial, p.best]; })}
      ]
    }, pts.length);
  }

  function drawCurves(d, metric, state) {
    var c = d.curves[metric] || {trials: [], mean: []};
    var maxEpoch = 0;
    c.trials.forEach(function (t) { t.epochs.forEach(function (e) { maxEpoch = Math.max(maxEpoch, e); }); });
    var epochs = [];
    for (var i = 1; i <= maxEpoch; i++) epochs.push(String(i));
    function aligned(eps, vals) {
      var out = epochs.map(function () { return null; });
      eps.forEach(function (e, j) { out[e - 1] = vals[j]; });
      return out;
    }
    var series = [], points = 0;
    // A band from two or three trials can be far wider than anything
    // observed (t quantiles of 4 to 13): it is clipped to the range of the
    // trials' values, so it cannot flatten the curves.
    var lo = Infinity, hi = -Infinity;
    c.trials.forEach(function (t) { t.values.forEach(function (v) { if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    function clip(v) { return v === null ? null : Math.min(hi, Math.max(lo, v)); }
    c.trials.forEach(function (t) {
      points += t.values.length;
      series.push({name: t.activation, type: 'line', silent: true, showSymbol: false, z: 1,
        lineStyle: {width: 1, opacity: 0.25, color: colorOf(t.activation, state.acts)}, itemStyle: {color: colorOf(t.activation, state.acts)},
        data: aligned(t.epochs, t.values)});
    });
    c.mean.forEach(function (b) {
      var col = colorOf(b.activation, state.acts);
      var low = aligned(b.epochs, b.low.map(clip)), high = aligned(b.epochs, b.high.map(clip));
      series.push({name: b.activation, type: 'line', stack: 'band-' + b.activation, showSymbol: false, silent: true, lineStyle: {opacity: 0}, data: low, z: 2});
      series.push({name: b.activation, type: 'line', stack: 'band-' + b.activation, showSymbol: false, silent: true, lineStyle: {opacity: 0},
        areaStyle: {color: col, opacity: 0.18}, data: high.map(function (h, j) { return h === null || low[j] === null ? null : h - low[j]; }), z: 2});
      series.push({name: b.activation, type: 'line', showSymbol: true, symbolSize: 4, lineStyle: {width: 2.5, color: col}, itemStyle: {color: col}, data: aligned(b.epochs, b.mean), z: 3});
    });
    chart('chart-curves', {
      grid: GRID, legend: {top: 5, data: state.acts}, tooltip: {trigger: 'axis', formatter: function (ps) {
        return 'epoch ' + ps[0].axisValue + '<br>' + ps.filter(function (p) { return p.componentIndex >= c.trials.length && (p.componentIndex - c.trials.length) % 3 === 2; })
          .map(function (p) { return p.marker + p.seriesName + ': ' + fmt(p.value); }).join('<br>');
      }},
      xAxis: Object.assign({type: 'category', boundaryGap: false, data: epochs}, axisName('epoch')),
      yAxis: Object.assign({type: 'value', scale: true}, axisName(metric), {nameGap: 45}),
      series: series
    }, points);
  }

  function drawImportance(d) {
    var imps = d.importance.slice().reverse();
    if (!imps.length) {
      emptyChart('chart-importance', d.importance_note || 'not enough complete trials');
      return;
    }
    chart('chart-importance', {
      grid: {left: 120, right: 30, top: 20, bottom: 40}, tooltip: {trigger: 'item', formatter: function (p) { return p.name + ': ' + fmt(p.value, 3); }},
      xAxis: Object.assign({type: 'value', min: 0, max: 1}, axisName('importance')),
      yAxis: {type: 'category', data: imps.map(function (i) { return i.param; })},
      series: [{type: 'bar', data: imps.map(function (i) { return i.importance; }), itemStyle: {color: '#4c72b0'},
        label: {show: true, position: 'right', formatter: function (p) { return fmt(p.value, 2); }}}]
    }, imps.length);
  }

  function drawParallel(d) {
    var p = d.parallel;
    var axes = p.axes.map(function (a, i) {
      if (a.kind === 'choice') return {dim: i, name: a.name, type: 'category', data: a.choices};
      return {dim: i, name: a.name, type: a.kind === 'log_uniform' ? 'log' : 'value', min: a.low, max: a.high};
    });
    axes.push({dim: p.axes.length, name: d.overview.metric, type: 'value', scale: true});
    var lo = Infinity, hi = -Infinity;
    p.objective.forEach(function (v) { if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    var rows = p.rows.map(function (r, j) {
      return r.map(function (v, i) { return v === null ? null : p.axes[i].kind === 'choice' ? p.axes[i].choices[v] : v; }).concat([p.objective[j]]);
    });
    chart('chart-parallel', {
      parallel: {left: 50, right: 90, top: 40, bottom: 30},
      parallelAxis: axes,
      visualMap: {type: 'continuous', dimension: p.axes.length, min: isFinite(lo) ? lo : 0, max: isFinite(hi) ? hi : 1, right: 0, top: 'middle', calculable: true,
        inRange: {color: ['#d73027', '#fee08b', '#1a9850']}},
      series: [{type: 'parallel', lineStyle: {width: 1.2, opacity: 0.6}, data: rows}]
    }, rows.length);
  }

  function drawActInit(d) {
    var box = document.getElementById('act-init');
    if (!box) return;
    var t = d.act_init, byKey = {};
    t.cells.forEach(function (c) { byKey[c.activation + '|' + c.init] = c; });
    var lo = Infinity, hi = -Infinity;
    t.cells.forEach(function (c) { if (c.mean !== null) { lo = Math.min(lo, c.mean); hi = Math.max(hi, c.mean); } });
    var better = d.overview.direction === 'minimize' ? -1 : 1;
    box.replaceChildren(el('table', {class: 'grid', id: 'act-init-table'},
      el('thead', null, el('tr', null, el('th', {text: 'activation \\ init'}), t.inits.map(function (i) { return el('th', {text: i}); }))),
      el('tbody', null, t.activations.map(function (a) {
        return el('tr', null, el('th', {text: a}), t.inits.map(function (i) {
          var c = byKey[a + '|' + i];
          if (!c) return el('td', {text: '–'});
          var shade = hi > lo ? ((c.mean - lo) / (hi - lo)) : 0.5;
          if (better < 0) shade = 1 - shade;
          return el('td', {class: 'num', style: 'background: rgba(26,152,80,' + (0.1 + 0.5 * shade).toFixed(2) + ')'},
            fmt(c.mean), c.n > 1 ? el('small', {text: ' [' + fmt(c.low) + ', ' + fmt(c.high) + ']'}) : null, el('small', {text: ' (' + c.n + ')'}));
        }));
      }))));
  }

  function drawPareto(d, state) {
    var pts = d.pareto;
    if (!pts.length) {
      emptyChart('chart-pareto', 'no complete trial with a measured throughput yet');
      return;
    }
    var front = pts.filter(function (p) { return p.front; }).sort(function (a, b) { return a.seconds_per_1k - b.seconds_per_1k; });
    var series = state.acts.map(function (a) {
      return {name: a, type: 'scatter', symbolSize: 8, itemStyle: {color: colorOf(a, state.acts)},
        data: pts.filter(function (p) { return p.activation === a; }).map(function (p) { return {value: [p.seconds_per_1k, p.objective], name: 'trial ' + p.trial}; })};
    });
    series.push({name: 'Pareto front', type: 'line', step: d.overview.direction === 'minimize' ? 'start' : 'end', showSymbol: false, lineStyle: {color: '#222', type: 'dashed'},
      data: front.map(function (p) { return [p.seconds_per_1k, p.objective]; })});
    chart('chart-pareto', {
      grid: GRID, legend: {top: 5}, tooltip: {trigger: 'item', formatter: function (p) { return p.marker + (p.name || p.seriesName) + ': ' + fmt(p.value[1]) + ' at ' + fmt(p.value[0], 3) + ' s per 1,000 samples'; }},
      xAxis: Object.assign({type: 'value', scale: true}, axisName('seconds per 1,000 training samples')),
      yAxis: Object.assign({type: 'value', scale: true}, axisName(d.overview.metric), {nameGap: 45}),
      series: series
    }, pts.length);
  }

  function drawObjectives(d, state) {
    var o = d.objectives;
    if (!o) return;
    if (!o.points.length) {
      emptyChart('chart-objectives', 'no complete trial with every objective value yet');
      return;
    }
    var series = state.acts.map(function (a) {
      return {name: a, type: 'scatter', symbolSize: 8, itemStyle: {color: colorOf(a, state.acts)},
        data: o.points.filter(function (p) { return p.activation === a; }).map(function (p) { return {value: [p.values[1], p.values[0]], name: 'trial ' + p.trial}; })};
    });
    series.push({name: 'Pareto front', type: 'scatter', symbolSize: 14, itemStyle: {color: 'rgba(0,0,0,0)', borderColor: '#222', borderWidth: 2},
      data: o.points.filter(function (p) { return p.front; }).map(function (p) { return {value: [p.values[1], p.values[0]], name: 'trial ' + p.trial + ' (front)'}; })});
    chart('chart-objectives', {
      grid: GRID, legend: {top: 5}, tooltip: {trigger: 'item', formatter: function (p) { return p.marker + (p.name || p.seriesName) + ': ' + o.metrics[0] + ' ' + fmt(p.value[1]) + ', ' + o.metrics[1] + ' ' + fmt(p.value[0], 3); }},
      xAxis: Object.assign({type: 'value', scale: true}, axisName(o.metrics[1] + ' (' + o.directions[1] + ')')),
      yAxis: Object.assign({type: 'value', scale: true}, axisName(o.metrics[0] + ' (' + o.directions[0] + ')'), {nameGap: 45}),
      series: series
    }, o.points.length);
  }

  function drawSlopes(d, state) {
    ['negative_slope', 'elu_alpha', 'prelu_init'].forEach(function (param) {
      var pts = d.slope.filter(function (s) { return s.param === param; });
      if (!pts.length) return;
      var kind = (d.params.find(function (p) { return p.name === param; }) || {}).kind;
      var acts = [];
      pts.forEach(function (p) { if (acts.indexOf(p.activation) < 0) acts.push(p.activation); });
      chart('chart-slope-' + param, {
        grid: GRID, legend: {top: 5}, tooltip: {trigger: 'item', formatter: function (p) { return p.marker + 'trial ' + p.data.trial + ': ' + fmt(p.value[1]) + ' at ' + param + ' ' + fmt(p.value[0], 3); }},
        xAxis: Object.assign({type: kind === 'log_uniform' ? 'log' : 'value', scale: true}, axisName(param)),
        yAxis: Object.assign({type: 'value', scale: true}, axisName(d.overview.metric), {nameGap: 45}),
        series: acts.map(function (a) {
          return {name: a, type: 'scatter', symbolSize: 8, itemStyle: {color: colorOf(a, state.acts)},
            data: pts.filter(function (p) { return p.activation === a; }).map(function (p) { return {value: [p.x, p.objective], trial: p.trial}; })};
        })
      }, pts.length);
    });
  }

  function drawHeatmaps(d, kind) {
    d[kind].forEach(function (h) {
      var data = [], epochs = [], layers = [];
      for (var e = 1; e <= h.epochs; e++) epochs.push(String(e));
      for (var l = 1; l <= h.layers; l++) layers.push('layer ' + l);
      h.values.forEach(function (row, li) { row.forEach(function (v, ei) { if (v !== null) data.push([ei, li, v]); }); });
      chart('chart-' + kind + '-' + h.activation, {
        grid: {left: 70, right: 80, top: 10, bottom: 45}, tooltip: {formatter: function (p) { return 'layer ' + (p.value[1] + 1) + ', epoch ' + (p.value[0] + 1) + ': ' + fmt(p.value[2], 3); }},
        xAxis: Object.assign({type: 'category', data: epochs}, axisName('epoch')),
        yAxis: {type: 'category', data: layers},
        visualMap: {min: 0, max: 1, calculable: true, orient: 'vertical', right: 5, top: 'middle', itemHeight: 160,
          inRange: {color: kind === 'dead' ? ['#f7fbff', '#08306b'] : ['#fff5eb', '#7f2704']}},
        series: [{type: 'heatmap', data: data, label: {show: h.epochs * h.layers <= 60, formatter: function (p) { return fmt(p.value[2], 2); }, fontSize: 9}}]
      }, data.length);
    });
  }

  function layerLines(list, state, name, dashed) {
    var maxEpoch = 0, points = 0;
    list.forEach(function (s) { s.epochs.forEach(function (e) { maxEpoch = Math.max(maxEpoch, e); }); });
    var epochs = [];
    for (var i = 1; i <= maxEpoch; i++) epochs.push(String(i));
    var types = ['solid', 'dashed', 'dotted'];
    var series = list.map(function (s) {
      var data = epochs.map(function () { return null; });
      s.epochs.forEach(function (e, j) { data[e - 1] = s.values[j]; });
      points += s.values.length;
      return {name: name(s), type: 'line', showSymbol: false, data: data,
        lineStyle: {width: 1.5, color: colorOf(s.activation, state.acts), type: dashed ? types[s.layer % types.length] : 'solid'}, itemStyle: {color: colorOf(s.activation, state.acts)}};
    });
    return {epochs: epochs, series: series, points: points};
  }

  function drawPReLU(d, state) {
    if (!d.prelu.length) return;
    var ll = layerLines(d.prelu, state, function (s) { return 'trial ' + s.trial + ' layer ' + (s.layer + 1); }, true);
    chart('chart-prelu', {
      grid: GRID, tooltip: {trigger: 'axis'},
      xAxis: Object.assign({type: 'category', boundaryGap: false, data: ll.epochs}, axisName('epoch')),
      yAxis: Object.assign({type: 'value', scale: true}, axisName('slope'), {nameGap: 45}),
      series: ll.series
    }, ll.points);
  }

  function drawGradNorm(d, state) {
    if (!d.grad_norm.length) return;
    var ll = layerLines(d.grad_norm, state, function (s) { return s.activation + ' layer ' + (s.layer + 1); }, true);
    chart('chart-gradnorm', {
      grid: GRID, legend: {top: 5, type: 'scroll'}, tooltip: {trigger: 'axis'},
      xAxis: Object.assign({type: 'category', boundaryGap: false, data: ll.epochs}, axisName('epoch')),
      yAxis: Object.assign({type: 'log'}, axisName('gradient L2 norm'), {nameGap: 45}),
      series: ll.series
    }, ll.points);
  }

  // ---- a trial ----

  function trialPage(main, study, trial) {
    function load() {
      return getJSON('/api/studies/' + encodeURIComponent(study) + '/trials/' + trial).then(function (d) { renderTrial(main, d); });
    }
    var reload = debounce(function () { load().catch(showError); }, 1000);
    follow(study, function (u) { if (u.trial === trial) reload(); });
    return load();
  }

  function renderTrial(main, d) {
    var t = d.trial;
    var layerRows = [];
    d.epochs.forEach(function (e) {
      (e.layers || []).forEach(function (l, i) { layerRows.push([e.epoch, i + 1, l]); });
    });
    var info = [
      ['state', t.status], ['objective', fmt(t.objective)], ['test accuracy', fmt(t.test_accuracy)], ['epochs', String(t.epochs_done)],
      ['attempts', String(t.attempt)], ['worker', t.worker || '–'], ['seed', String(t.seed)], ['replicate', String(t.replicate)],
      ['configuration', t.config_hash], ['created', when(t.created_at)], ['started', when(t.started_at)], ['finished', when(t.finished_at)],
      ['training samples per second', fmt(t.samples_per_sec, 4)], ['wall time per epoch (s)', fmt(t.seconds_per_epoch, 3)]];
    main.replaceChildren(
      el('section', {class: 'card wide', id: 'trial-summary'},
        el('h2', null, 'trial ' + t.trial + ' ', el('span', {class: 'state ' + t.status, text: t.status})),
        t.error ? el('pre', {class: 'error', id: 'trial-error', text: t.error}) : null,
        d.link ? el('p', null, el('a', {href: d.link, target: '_blank', rel: 'noopener', text: 'study workflow in the Temporal UI'}), ', where this trial\'s last try is the activity ' + d.activity) : null,
        el('div', {class: 'two'},
          el('table', {class: 'grid kv', id: 'trial-info'}, el('tbody', null, info.map(function (r) { return el('tr', null, el('th', {text: r[0]}), el('td', {text: r[1]})); }))),
          el('table', {class: 'grid kv', id: 'trial-params'}, el('thead', null, el('tr', null, el('th', {text: 'parameter'}), el('th', {text: 'value'}))),
            el('tbody', null, Object.keys(t.params || {}).sort().map(function (k) { var v = t.params[k]; return el('tr', null, el('th', {text: k}), el('td', {class: 'num', text: typeof v === 'number' ? fmt(v, 6) : String(v)})); }))))),
      el('div', {class: 'charts'},
        chartBox('chart-trial-curves', 'Learning curves'),
        chartBox('chart-trial-dead', 'Dead fraction per layer'),
        chartBox('chart-trial-saturation', 'Saturation per layer'),
        chartBox('chart-trial-grad', 'Gradient norm per layer')),
      el('section', {class: 'card wide'}, el('h3', {text: 'Epochs'}), el('div', {class: 'scroll'}, el('table', {class: 'grid', id: 'trial-epochs'},
        el('thead', null, el('tr', null, ['epoch', 'attempt', 'train loss', 'val loss', 'val accuracy', 'dead', 'saturation', 'grad norm', 'samples/s', 'lr', 'recorded'].map(function (h) { return el('th', {text: h}); }))),
        el('tbody', null, d.epochs.map(function (e) {
          return el('tr', null, [e.epoch, e.attempt].map(function (v) { return el('td', {class: 'num', text: String(v)}); }),
            [e.train_loss, e.val_loss, e.val_accuracy, e.dead_fraction, e.saturation, e.grad_norm, e.samples_per_sec, e.lr].map(function (v) { return el('td', {class: 'num', text: fmt(v)}); }),
            el('td', {text: when(e.recorded_at)}));
        }))))),
      el('section', {class: 'card wide'}, el('h3', {text: 'Per-layer diagnostics'}), el('div', {class: 'scroll'}, el('table', {class: 'grid', id: 'trial-layers'},
        el('thead', null, el('tr', null, ['epoch', 'layer', 'dead fraction', 'saturation', 'activation mean', 'activation std', 'grad norm', 'PReLU slope'].map(function (h) { return el('th', {text: h}); }))),
        el('tbody', null, layerRows.map(function (r) {
          var l = r[2];
          return el('tr', null, el('td', {class: 'num', text: String(r[0])}), el('td', {class: 'num', text: String(r[1])}),
            [l.dead_fraction, l.saturation, l.act_mean, l.act_std, l.grad_norm, l.prelu_slope].map(function (v) { return el('td', {class: 'num', text: fmt(v)}); }));
        }))))));
    var epochs = d.epochs.map(function (e) { return String(e.epoch); });
    var curveSeries = [['val_accuracy', '#2ca02c'], ['val_loss', '#d62728'], ['train_loss', '#1f77b4']].map(function (m) {
      return {name: m[0], type: 'line', yAxisIndex: m[0] === 'val_accuracy' ? 0 : 1, itemStyle: {color: m[1]}, lineStyle: {color: m[1]}, data: d.epochs.map(function (e) { return e[m[0]]; })};
    });
    chart('chart-trial-curves', {
      grid: {left: 60, right: 60, top: 40, bottom: 45}, legend: {top: 5}, tooltip: {trigger: 'axis'},
      xAxis: Object.assign({type: 'category', data: epochs}, axisName('epoch')),
      yAxis: [Object.assign({type: 'value', scale: true}, axisName('accuracy'), {nameGap: 45}), Object.assign({type: 'value', scale: true}, axisName('loss'), {nameGap: 45})],
      series: curveSeries
    }, d.epochs.length);
    var nLayers = 0;
    d.epochs.forEach(function (e) { nLayers = Math.max(nLayers, (e.layers || []).length); });
    [['chart-trial-dead', 'dead_fraction'], ['chart-trial-saturation', 'saturation'], ['chart-trial-grad', 'grad_norm']].forEach(function (c) {
      var series = [], points = 0;
      for (var l = 0; l < nLayers; l++) {
        series.push({name: 'layer ' + (l + 1), type: 'line', data: d.epochs.map(function (e) { var x = (e.layers || [])[l]; return x ? x[c[1]] : null; })});
        points += d.epochs.length;
      }
      chart(c[0], {
        grid: GRID, legend: {top: 5}, tooltip: {trigger: 'axis'},
        xAxis: Object.assign({type: 'category', data: epochs}, axisName('epoch')),
        yAxis: Object.assign({type: c[1] === 'grad_norm' ? 'log' : 'value', scale: true}, axisName(c[1]), {nameGap: 45}),
        series: series
      }, points);
    });
  }

  // ---- start ----

  function start() {
    var body = document.body, main = document.getElementById('main');
    var page = body.getAttribute('data-page'), study = body.getAttribute('data-study');
    var trial = parseInt(body.getAttribute('data-trial'), 10);
    var done;
    if (page === 'studies') done = studiesPage(main);
    else if (page === 'study') done = studyPage(main, study);
    else if (page === 'trial') done = trialPage(main, study, trial);
    else if (page === 'report') done = studyPage(main, study, JSON.parse(document.getElementById('study-data').textContent));
    Promise.resolve(done).then(function () { body.setAttribute('data-ready', 'true'); }, function (err) {
      main.replaceChildren(el('p', {class: 'error', id: 'load-error', text: String(err && err.message || err)}));
      body.setAttribute('data-ready', 'error');
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
