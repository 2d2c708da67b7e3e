// Bounded chart history. Past `max` points the older half is thinned to every other point:
// recent steps stay sharp, old ones grow coarser (each halving doubles their spacing), and
// however long a run goes on, the charts hold, draw and autosave at most `max` points.
export const MAX_POINTS = 2000;

// `columns`: [steps, ...series], arrays of one length; thinned in place.
export function decimate(columns, max = MAX_POINTS) {
  const n = columns[0].length;
  if (n <= max) return;
  const older = Math.floor(n / 2);
  for (const column of columns) {
    let kept = 0;
    for (let i = 0; i < older; i += 2) column[kept++] = column[i];
    for (let i = older; i < n; i++) column[kept++] = column[i];
    column.length = kept;
  }
}
