// The training curves: for DCGAN, uPlot charts of D and G loss, D(x) and D(G(z)), D's accuracy,
// the quality measure, and for InfoGAN Q's two losses; for CycleGAN, its losses by the reference's names, a chart per kind
// (the discriminators', the generators' adversarial ones, the cycles', the identities'); for
// pix2pix, D's on real and fake pairs, then G's two apart (its L1 term is a hundred times the
// scale of its adversarial one); all against the step. Points are added as stats arrive and drawn a few times a
// second at most; old points are thinned so that a chart never holds more than MAX_POINTS.
import uPlot from '../vendor/uPlot.esm.js';
import { decimate, MAX_POINTS } from './decimate.js';

const SPECS = {
  'chart-loss': { title: 'Loss', series: [['D loss', '#2c5fdb'], ['G loss', '#d9480f']] },
  'chart-d': { title: 'D(x) and D(G(z))', series: [['D(x)', '#2b8a3e'], ['D(G(z)) before D step', '#c2255c'], ['D(G(z)) after', '#f08c00']] },
  'chart-accuracy': { title: "D's accuracy", series: [['on real', '#2b8a3e'], ['on fake', '#c2255c']] },
  'chart-quality': { title: 'Fréchet distance (lower is better)', series: [['Fréchet distance', '#5f3dc4']] },
  'chart-info': { title: "Q's losses (InfoGAN's codes read back)", series: [['categorical (cross-entropy)', '#1098ad'], ['continuous (½ squared error)', '#5f3dc4']] },
  'chart-cycle-d': { title: 'Discriminators (LSGAN, halved)', series: [['D_A', '#2c5fdb'], ['D_B', '#2b8a3e']] },
  'chart-cycle-g': { title: 'Generators (LSGAN)', series: [['G_A', '#d9480f'], ['G_B', '#c2255c']] },
  'chart-cycle-cycle': { title: 'Cycle (L1 × λ)', series: [['cycle_A', '#5f3dc4'], ['cycle_B', '#f08c00']] },
  'chart-cycle-idt': { title: 'Identity (L1 × λ × λ_identity)', series: [['idt_A', '#1098ad'], ['idt_B', '#868e96']] },
  'chart-p2p-d': { title: 'D on real and fake pairs', series: [['D_real', '#2b8a3e'], ['D_fake', '#c2255c']] },
  'chart-p2p-gan': { title: "G's adversarial loss", series: [['G_GAN', '#d9480f']] },
  'chart-p2p-l1': { title: "G's L1 to the target (× λ_L1)", series: [['G_L1', '#5f3dc4']] },
};

export class Charts {
  constructor() {
    this.charts = {};
    for (const [id, spec] of Object.entries(SPECS)) {
      const el = document.getElementById(id);
      const data = [[], ...spec.series.map(() => [])];
      const plot = new uPlot({
        title: spec.title,
        width: Math.max(280, el.clientWidth || 300),
        height: 170,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, {}],
        series: [{ label: 'step' }, ...spec.series.map(([label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: true }))],
        legend: { live: false },
      }, data, el);
      this.charts[id] = { el, plot, data, dirty: false };
    }
    this.lastDraw = 0;
    new ResizeObserver(() => this.resize()).observe(document.querySelector('.charts'));
  }

  add(id, step, values) {
    const c = this.charts[id];
    c.data[0].push(step);
    values.forEach((v, i) => c.data[i + 1].push(Number.isFinite(v) ? v : null));
    decimate(c.data, MAX_POINTS);
    c.el.dataset.points = c.data[0].length;
    c.dirty = true;
  }

  addStats(s) {
    if ('D_A' in s) {
      this.add('chart-cycle-d', s.step, [s.D_A, s.D_B]);
      this.add('chart-cycle-g', s.step, [s.G_A, s.G_B]);
      this.add('chart-cycle-cycle', s.step, [s.cycle_A, s.cycle_B]);
      this.add('chart-cycle-idt', s.step, [s.idt_A, s.idt_B]);
      return;
    }
    if ('G_L1' in s) {
      this.add('chart-p2p-d', s.step, [s.D_real, s.D_fake]);
      this.add('chart-p2p-gan', s.step, [s.G_GAN]);
      this.add('chart-p2p-l1', s.step, [s.G_L1]);
      return;
    }
    this.add('chart-loss', s.step, [s.dLoss, s.gLoss]);
    this.add('chart-d', s.step, [s.dReal, s.dFakeBefore, s.dFakeAfter]);
    this.add('chart-accuracy', s.step, [s.accuracyReal, s.accuracyFake]);
    if ('infoCategorical' in s) this.add('chart-info', s.step, [s.infoCategorical, s.infoContinuous]);
  }

  // Draws what changed, at most every `minMs`.
  draw(minMs = 300) {
    const now = performance.now();
    if (now - this.lastDraw < minMs) return;
    this.lastDraw = now;
    for (const c of Object.values(this.charts)) {
      if (c.dirty) { c.plot.setData(c.data); c.dirty = false; }
    }
  }

  // Every chart's points, to autosave: { id: [steps, ...series] }.
  history() {
    return Object.fromEntries(Object.entries(this.charts).map(([id, c]) => [id, c.data.map((a) => a.slice())]));
  }

  // Puts back what `history` returned (an autosave's), and draws it.
  restore(history) {
    for (const [id, columns] of Object.entries(history ?? {})) {
      const c = this.charts[id];
      if (!c || columns.length !== c.data.length) continue;
      c.data.forEach((a, i) => { a.length = 0; a.push(...columns[i]); });
      decimate(c.data, MAX_POINTS);
      c.el.dataset.points = c.data[0].length;
      c.dirty = true;
    }
    this.draw(0);
  }

  clear() {
    for (const c of Object.values(this.charts)) {
      c.data.forEach((a) => { a.length = 0; });
      c.el.dataset.points = 0;
      c.plot.setData(c.data);
    }
  }

  resize() {
    for (const c of Object.values(this.charts)) {
      const w = Math.max(280, c.el.clientWidth);
      if (Math.abs(w - c.plot.width) > 4) c.plot.setSize({ width: w, height: 170 });
    }
  }
}
