/**
 * Small statistics and formatting helpers for the benchmark: median, p90 (nearest rank), and the
 * fixed-width text table it prints.
 * @module
 */

/** Summary of one series of samples. */
export interface Summary {
  /** Number of samples. */
  n: number;
  /** Median (mean of the two middle samples when `n` is even). */
  median: number;
  /** 90th percentile, nearest-rank. */
  p90: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
}

/**
 * Summarises `samples` (any unit).
 *
 * @param samples the measurements; must not be empty
 * @returns n, median, p90, min and max
 *
 * @example
 * ```ts
 * import { summarize } from "./_stats.ts";
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { n: 0, median: NaN, p90: NaN, min: NaN, max: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const p90 = sorted[Math.min(n - 1, Math.ceil(0.9 * n) - 1)]!;
  return { n, median, p90, min: sorted[0]!, max: sorted[n - 1]! };
}

/**
 * Formats a number with `digits` decimals, or "-" when it is not finite.
 *
 * @param value the number
 * @param digits decimals
 * @returns the text
 *
 * @example
 * ```ts
 * import { fixed } from "./_stats.ts";
 * fixed(1.234, 1); // "1.2"
 * ```
 */
export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

/**
 * Lays out rows as a text table: the first row is the header, columns are padded, numeric-looking
 * cells are right-aligned.
 *
 * @param rows header row then data rows
 * @returns the table's lines
 *
 * @example
 * ```ts
 * import { table } from "./_stats.ts";
 * table([["a", "b"], ["x", "1.0"]]).join("\n");
 * ```
 */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  const numeric = /^[-+]?[0-9.]+( ?[a-zA-Z%×]+)?$|^-$/;
  return rows.map((row, r) =>
    row.map((cell, i) => {
      const w = widths[i] ?? 0;
      return r > 0 && i > 0 && numeric.test(cell) ? cell.padStart(w) : cell.padEnd(w);
    }).join("  ").trimEnd()
  );
}
