import { ScrapeError } from './scrape-error.js';

/**
 * Checks for the fields of a monitoring answer after JSON.parse. Every error names where in the
 * answer (`where`) and which field, so a server that answers in an unexpected shape is told
 * apart from a network failure and can be reported with the field that broke.
 */

export type Json = Record<string, unknown>;

export function invalid(where: string, message: string): ScrapeError {
  return new ScrapeError('invalid_response', `${where}: ${message}`);
}

export function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(where, 'expected a JSON object');
  return value as Json;
}

/** The object at `key`; `undefined` when it is missing and `optional`. */
export function objectField(o: Json, key: string, where: string, optional: true): Json | undefined;
export function objectField(o: Json, key: string, where: string, optional?: false): Json;
export function objectField(o: Json, key: string, where: string, optional = false): Json | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(where, `field "${key}" is ${v === undefined ? 'missing' : 'not an object'}`);
  return v as Json;
}

export function num(o: Json, key: string, where: string, optional = false): number {
  const v = o[key];
  if (v === undefined && optional) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(where, `field "${key}" is ${v === undefined ? 'missing' : 'not a number'}`);
  return v;
}

export function str(o: Json, key: string, where: string, optional = false): string {
  const v = o[key];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') throw invalid(where, `field "${key}" is ${v === undefined ? 'missing' : 'not a string'}`);
  return v;
}

/** An RFC 3339 time (Go's time.Time) as Unix milliseconds; `undefined` when missing and `optional`. */
export function time(o: Json, key: string, where: string, optional: true): number | undefined;
export function time(o: Json, key: string, where: string, optional?: false): number;
export function time(o: Json, key: string, where: string, optional = false): number | undefined {
  if (o[key] === undefined && optional) return undefined;
  const ms = Date.parse(str(o, key, where));
  if (Number.isNaN(ms)) throw invalid(where, `field "${key}" is not a timestamp`);
  return ms;
}
