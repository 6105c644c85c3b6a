import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refused, run } from '../../harness/config.js';

test('--jetstream NAME=URL: a JetStream server; the same NAME again is a node of its cluster', () => {
  const c = run(['--jetstream', 'js=http://n1:8222', '--jetstream', 'js=http://n2:8222', '--jetstream', 'other/solo=http://n3:8222']);
  assert.deepEqual(
    c.servers.map((s) => [s.name, s.backend, s.nodes.map((n) => n.node)]),
    [
      ['js', 'jetstream', ['n1:8222', 'n2:8222']],
      ['other', 'jetstream', ['solo']],
    ],
  );
});

test('--jetstream alone does not add the default NATS Streaming server; beside --server both are read', () => {
  assert.deepEqual(
    run(['--jetstream', 'js=http://n1:8222']).servers.map((s) => s.name),
    ['js'],
  );
  const both = run(['--server', 'old=http://stan:8222', '--jetstream', 'new=http://nats:8222']);
  assert.deepEqual(
    both.servers.map((s) => [s.name, s.backend]),
    [
      ['old', 'stan'],
      ['new', 'jetstream'],
    ],
  );
});

test('NQE_JETSTREAM holds a comma-separated list; a flag wins over it', () => {
  const c = run([], { NQE_JETSTREAM: 'js=http://n1:8222,js=http://n2:8222' });
  assert.deepEqual(
    c.servers.map((s) => [s.name, s.backend, s.nodes.length]),
    [['js', 'jetstream', 2]],
  );
  assert.deepEqual(
    run(['--jetstream', 'x=http://x:8222'], { NQE_JETSTREAM: 'js=http://n1:8222' }).servers.map((s) => s.name),
    ['x'],
  );
});

test('one NAME for a --server and a --jetstream, or one URL for both, is refused naming both', () => {
  refused(
    ['--server', 'a=http://stan:8222', '--jetstream', 'a=http://nats:8222'],
    /--server "a=http:\/\/stan:8222" and --jetstream "a=http:\/\/nats:8222" give one NAME to a NATS Streaming server and a JetStream server/,
  );
  refused(
    ['--server', 'a=http://x:8222', '--jetstream', 'b=http://x:8222'],
    /--server "a=http:\/\/x:8222" and --jetstream "b=http:\/\/x:8222" name the same monitoring URL/,
  );
});

test('a bad --jetstream value names the flag and shows a --jetstream example', () => {
  refused(['--jetstream', 'http://nats:8222'], /--jetstream "http:\/\/nats:8222": missing NAME=; .*e\.g\. --jetstream prod-a=/);
  refused(
    ['--jetstream', 'js=nats://nats:4222'],
    /--jetstream "js=\.\.\.": the URL must start with http:\/\/ or https:\/\/ \(the monitoring port, not nats:\/\/\)/,
  );
});

test('--nats-url names a --jetstream server as it names a --server', () => {
  const c = run(['--jetstream', 'js=http://n1:8222', '--jetstream', 'other=http://n2:8222', '--nats-url', 'js=nats://reader@n1:4222']);
  assert.deepEqual(
    c.servers.map((s) => [s.name, s.natsClient?.url, s.natsClient?.user]),
    [
      ['js', 'nats://n1:4222', 'reader'],
      ['other', undefined, undefined],
    ],
  );
  refused(
    ['--jetstream', 'js=http://n1:8222', '--nats-url', 'jx=nats://n1:4222'],
    /--nats-url "jx=\.\.\.": there is no --server named "jx", nor a --jetstream; write NAME=nats:\/\/host:4222 with the NAME of a --server or --jetstream/,
  );
});
