/**
 * A cell's stored record (`cells/<id>.json`, written atomically) and what goes into it: the result,
 * the first line of its code, its timing; and where an outgrown output is kept whole.
 * @module
 */

import { readJsonFile, resultPath, type SessionPaths, writeFileAtomic } from "../state.ts";
import { type CellRecord, type CellTiming, decodeCellRecord, type ErrorResult } from "../types.ts";

/** Reads a stored cell record; undefined when there is none yet. */
export async function readCellRecord(
  paths: SessionPaths,
  cellId: string,
): Promise<CellRecord | undefined> {
  const path = resultPath(paths, cellId);
  const value = await readJsonFile(path);
  return value === undefined ? undefined : decodeCellRecord(value, path);
}

/** Stores a cell record atomically. */
export function writeCellRecord(paths: SessionPaths, record: CellRecord): Promise<void> {
  return writeFileAtomic(resultPath(paths, record.result.cell_id), JSON.stringify(record));
}

/** The first line of a cell's code, shortened, for history. */
export function codePreview(lines: string[]): string {
  const first = lines.find((line) => line.trim() !== "") ?? "";
  return first.length > 120 ? `${first.slice(0, 119)}…` : first;
}

/** Where a cell's whole output goes when it outgrows the budget. */
export function outputFilePath(paths: SessionPaths, cellId: string): string {
  return resultPath(paths, cellId).replace(/\.json$/, ".out");
}

/** The timing fields of a cell that started at `started` and ends at `end` (default: now). */
export function timing(
  started: { started_at: string; started_ms: number },
  end: number = Date.now(),
): CellTiming {
  return {
    started_at: started.started_at,
    ended_at: new Date(end).toISOString(),
    duration_ms: end - started.started_ms,
  };
}

/** What the timing of a cell is measured from: its lock's start fields. */
interface CellStart {
  cell_id: string;
  started_at: string;
  started_ms: number;
}

/** The error result of a cell ended by what `output` says, timed until now. */
export function errorResult(cell: CellStart, output: string): ErrorResult {
  return { cell_id: cell.cell_id, status: "error", output, truncated: false, ...timing(cell) };
}
