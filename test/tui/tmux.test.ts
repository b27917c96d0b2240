import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyDatabase } from '../../src/analysis/classify-database';
import { loadAnalysisInputs } from '../../src/analysis/context';
import { ingestCaptures } from '../../src/analysis/ingest-captures';
import { openStore } from '../../src/store/store';
import { planewatchArgv, waitFor } from '../live/live-helpers';
import { conversationFrames, pcapOf, readOnlyPortRequest } from '../live/packets';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const SOCKET = `planewatch-test-${process.pid}`;
const SESSION = 'tui';

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe.skipIf(!hasTmux)('planewatch tui under tmux', () => {
  afterAll(() => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  });

  it('draws the dashboard at 100×30, follows keys and a resize, and quits on q', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-tmux-'));
    const pcap = join(dir, 'sample.pcap');
    // Two kubelet read-only-port requests (8 frames each), as a pipeline input.
    writeFileSync(pcap, pcapOf([
      ...conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000)),
      ...conversationFrames(readOnlyPortRequest('10.0.0.11', '10.0.0.22', 40001)),
    ]));
    const db = join(dir, 'sample.db');
    const store = openStore(db);
    await ingestCaptures(store, [pcap]);
    classifyDatabase(store, loadAnalysisInputs([], []));
    store.close();

    const cmd = [process.execPath, ...planewatchArgv(['tui', '--db', db])].map(shellQuote).join(' ');
    // Started from another directory than the checkout, as a user on a jump host runs it.
    tmux('new-session', '-d', '-s', SESSION, '-c', dir, '-x', '100', '-y', '30', `NO_COLOR=1 ${cmd}; sleep 30`);
    await waitFor(() => (screen().includes('Overview') ? true : undefined), 15_000, 'the first frame');
    let s = screen();
    expect(s).toMatch(/planewatch ■ stored/);
    expect(s).toMatch(/Findings: .*▲ high [1-9]/);
    expect(s).toMatch(/q quit/);

    tmux('send-keys', '-t', SESSION, '2');
    await waitFor(() => (/\[2 Findings/.test(screen()) ? true : undefined), 5000, 'the findings tab');
    expect(screen()).toContain('kubelet-readonly-port');

    // One key at a time, as a person types (a burst may reach the app as one chunk).
    for (const k of ['3', '/', '10.0.0.22', 'Enter']) {
      tmux('send-keys', '-t', SESSION, k);
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor(() => (screen().includes('1 flows matching "10.0.0.22"') ? true : undefined), 5000, 'the filtered flows');
    tmux('send-keys', '-t', SESSION, 'Enter');
    await waitFor(() => (screen().includes('Esc back') ? true : undefined), 5000, 'the flow detail');
    expect(screen()).toMatch(/HTTP GET \/pods/);
    expect(screen()).toContain('UA kube\uFFFD[31mEVIL');

    tmux('resize-window', '-t', SESSION, '-x', '80', '-y', '24');
    await waitFor(() => {
      const lines = screen().split('\n');
      return lines.every((l) => l.length <= 80) && lines.some((l) => l.includes('Esc back')) ? true : undefined;
    }, 5000, 'the redraw at 80×24');

    tmux('send-keys', '-t', SESSION, '?');
    await waitFor(() => (screen().includes('Keys') ? true : undefined), 5000, 'the help');
    tmux('send-keys', '-t', SESSION, 'x');
    await waitFor(() => (!screen().includes('Keys') ? true : undefined), 5000, 'the help to close');
    tmux('send-keys', '-t', SESSION, 'q');
    // The dashboard leaves the alternate screen and the shell line runs `sleep`: our frame is gone.
    // (Waited for by the header: at 80 columns the footer's "q quit" may be cut short.)
    await waitFor(() => (!screen().includes('planewatch ■') ? true : undefined), 5000, 'the exit');
    s = screen();
    expect(s).not.toContain('Overview');
  });

  it("shows a flow's conversation on c, decrypted with the key log its capture carries, scrolls it and goes back", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-tmux-conv-'));
    const pcap = join(dir, 'k.pcapng');
    copyFileSync(join(import.meta.dirname, '../../captures/samples/kubelet-logs-tls13.dsb.pcapng'), pcap);
    const db = join(dir, 'k.db');
    const r = spawnSync(process.execPath, [...planewatchArgv(['analyze', pcap, '--db', db, '--quiet'])], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const session = 'conv';
    const cmd = [process.execPath, ...planewatchArgv(['tui', '--db', db])].map(shellQuote).join(' ');
    tmux('new-session', '-d', '-s', session, '-c', dir, '-x', '120', '-y', '16', `NO_COLOR=1 ${cmd}; sleep 30`);
    const pane = () => tmux('capture-pane', '-p', '-t', session);
    await waitFor(() => (pane().includes('Overview') ? true : undefined), 15_000, 'the first frame');
    for (const k of ['3', 'Enter']) {
      tmux('send-keys', '-t', session, k);
      await new Promise((res) => setTimeout(res, 150));
    }
    await waitFor(() => (pane().includes('c conversation') ? true : undefined), 5000, 'the flow detail');
    tmux('send-keys', '-t', session, 'c');
    await waitFor(() => (pane().includes('client → server') ? true : undefined), 10_000, 'the conversation');
    let s = pane();
    expect(s).toMatch(/HTTP\/1 \(2 messages\) in the decrypted TLS application data: 199 B from the client, 245 B from the server {2}· {2}lines 1–\d+/);
    // An HTTP/1 connection message by message: start line on the turn's line, fields, the de-chunked body.
    expect(s).toMatch(/▶ client → server {2}frame \d+ {2}GET \/containerLogs\/default\/db-0\/web\?follow=true HTTP\/1\.1\n\s*Host: 10\.0\.0\.23:10250/);
    expect(s).toMatch(/◀ server → client {2}frame \d+ {2}HTTP\/1\.1 200 OK/);
    expect(s).toContain('Esc back to the flow');
    tmux('send-keys', '-t', session, 'j');
    await waitFor(() => (/lines 2–/.test(pane()) ? true : undefined), 5000, 'a line scrolled');
    expect(pane()).not.toContain('▶ client → server');
    tmux('send-keys', '-t', session, 'Escape');
    await waitFor(() => (pane().includes('c conversation') ? true : undefined), 5000, 'back to the flow detail');
    s = pane();
    expect(s).toMatch(/path apiserver-to-kubelet/);
    tmux('send-keys', '-t', session, 'q');
  });
});
