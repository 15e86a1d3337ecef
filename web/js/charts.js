// A small live line chart drawn as SVG by our own code (no chart library): the domain view
// feeds it one sample every 2 s and it keeps the last few minutes. SVG rather than canvas
// so it scales with the layout, stays sharp on any screen, and its colours come from the
// stylesheet (the page's CSP allows no inline styles, and SVG presentation attributes and
// classes are not styles).

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

// Drawing coordinates: the viewBox is fixed and the SVG is stretched to the width of its
// box (preserveAspectRatio none), so the lines use non-scaling strokes.
const W = 600, H = 160, PAD_L = 0, PAD_T = 8, PAD_B = 4;

export class LineChart {
  /**
   * title: shown above the chart; format(v): a value as text; max: the top of the scale (a
   * number, or null to follow the data); minTop: with max null, the scale never shows less
   * than this (so an idle guest's 0.5 % is not drawn as a mountain); capacity: how many
   * samples are kept.
   */
  constructor({title, format = String, max = null, minTop = 0, capacity = 30, testid}) {
    this.format = format;
    this.max = max;
    this.minTop = minTop;
    this.capacity = capacity;
    this.samples = [];

    this.valueEl = document.createElement('span');
    this.valueEl.className = 'chart-value';
    this.valueEl.textContent = '—';
    const head = document.createElement('div');
    head.className = 'chart-head';
    const t = document.createElement('span');
    t.className = 'chart-title';
    t.textContent = title;
    head.append(t, this.valueEl);

    this.svg = s('svg', {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: 'chart-svg',
                         role: 'img', 'aria-label': title});
    this.grid = s('g', {class: 'chart-grid'});
    this.area = s('path', {class: 'chart-area', d: ''});
    this.line = s('path', {class: 'chart-line', d: '', 'vector-effect': 'non-scaling-stroke'});
    this.svg.append(this.grid, this.area, this.line);

    this.scaleTop = document.createElement('span');
    this.scaleTop.className = 'chart-scale chart-scale-top';
    this.scaleBottom = document.createElement('span');
    this.scaleBottom.className = 'chart-scale chart-scale-bottom';
    const plot = document.createElement('div');
    plot.className = 'chart-plot';
    plot.append(this.svg, this.scaleTop, this.scaleBottom);

    this.el = document.createElement('figure');
    this.el.className = 'chart';
    if (testid) this.el.dataset.testid = testid;
    this.el.append(head, plot);
    this.draw();
  }

  setMax(max) {
    this.max = max;
    this.draw();
  }

  /** Add a sample (a number, or null for "no data": a gap in the line). */
  push(v) {
    this.samples.push(v);
    if (this.samples.length > this.capacity) this.samples.shift();
    this.valueEl.textContent = v === null || v === undefined ? '—' : this.format(v);
    this.draw();
  }

  clear() {
    this.samples = [];
    this.valueEl.textContent = '—';
    this.draw();
  }

  top() {
    if (this.max) return this.max;
    const m = Math.max(0, ...this.samples.filter((v) => Number.isFinite(v)));
    if (m <= this.minTop) return this.minTop || 1;
    // a round number above the data, so the scale does not twitch with every sample
    const p = 10 ** Math.floor(Math.log10(m));
    return Math.ceil((m * 1.15) / p) * p;
  }

  draw() {
    const top = this.top();
    const plotH = H - PAD_T - PAD_B;
    const y = (v) => PAD_T + plotH - (Math.min(v, top) / top) * plotH;
    const step = (W - PAD_L) / (this.capacity - 1);
    // newest sample at the right edge
    const x0 = W - (this.samples.length - 1) * step;

    this.grid.replaceChildren();
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const gy = PAD_T + plotH * (1 - f);
      this.grid.append(s('line', {x1: 0, x2: W, y1: gy, y2: gy, class: f === 0 ? 'chart-axis' : '',
                                  'vector-effect': 'non-scaling-stroke'}));
    }
    this.scaleTop.textContent = this.format(top);
    this.scaleBottom.textContent = this.format(0);

    let line = '', area = '', seg = [];
    const flush = () => {
      if (!seg.length) return;
      line += seg.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join('');
      const base = (PAD_T + plotH).toFixed(1);
      area += `M${seg[0][0].toFixed(1)},${base}` +
              seg.map(([px, py]) => `L${px.toFixed(1)},${py.toFixed(1)}`).join('') +
              `L${seg[seg.length - 1][0].toFixed(1)},${base}Z`;
      seg = [];
    };
    this.samples.forEach((v, i) => {
      if (v === null || v === undefined || !Number.isFinite(v)) flush();
      else seg.push([x0 + i * step, y(v)]);
    });
    flush();
    this.line.setAttribute('d', line);
    this.area.setAttribute('d', area);
  }
}
