import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patternProblem, subjectFilter } from '../../src/subjects.js';

test('* matches one token, > one or more at the end', () => {
  const f = subjectFilter(['orders.*', 'jobs.>', 'exact.one'], []);
  assert.equal(f('orders.eu'), true);
  assert.equal(f('orders'), false);
  assert.equal(f('orders.eu.west'), false);
  assert.equal(f('jobs.a'), true);
  assert.equal(f('jobs.a.b.c'), true);
  assert.equal(f('jobs'), false);
  assert.equal(f('exact.one'), true);
  assert.equal(f('exact.one.two'), false);
  assert.equal(f('other'), false);
});

test('exclusions win; no include means all', () => {
  const f = subjectFilter([], ['*.test', 'tmp.>']);
  assert.equal(f('orders'), true);
  assert.equal(f('orders.test'), false);
  assert.equal(f('tmp.x.y'), false);
  assert.equal(subjectFilter([], [])('anything'), true);
});

test('pattern problems', () => {
  assert.equal(patternProblem('a.*.>'), undefined);
  assert.equal(patternProblem('>'), undefined);
  assert.match(patternProblem('')!, /empty/);
  assert.match(patternProblem('a.')!, /empty token/);
  assert.match(patternProblem('a b')!, /white space/);
  assert.match(patternProblem('a*')!, /must stand alone/);
  assert.match(patternProblem('>.a')!, /before its last token/);
});
