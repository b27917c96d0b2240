import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { keyLogSessionFactory } from '../../dissectors/app-session';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import type { FlowRecord } from '../../src/model/flow-record';
import { analyzeCapture, type CaptureAnalysis } from '../../src/pipeline/analyze-file';
import { analysisThreads, analyzeCaptureOnWorker, cgroupCpuLimit, cpuMaxCores, OWN_THREAD_MIN_BYTES } from '../../src/pipeline/analyze-on-worker';
import { toPlain } from '../../src/pipeline/worker-protocol';

/**
 * A capture analysed on a thread of its own must give what analyzeCapture gives on this one: the
 * same records in the same order, the same counters, the same damage, the same secrets learned.
 */
const SAMPLES = join(__dirname, '../../captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'pw-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function both(file: string): Promise<{ here: Run; there: Run }> {
  const run = async (onWorker: boolean): Promise<Run> => {
    const keyLog = new KeyLog();
    const records: FlowRecord[] = [];
    const progress: number[] = [];
    const opts = {
      keyLog,
      onFlowEnd: (r: FlowRecord) => records.push(r),
      onProgress: (bytes: number) => progress.push(bytes),
      flowIdPrefix: 'c7f',
      captureIndex: 7,
    };
    const result = onWorker
      ? await analyzeCaptureOnWorker(file, opts)
      : await analyzeCapture(file, { ...opts, sessionFactory: keyLogSessionFactory(keyLog) });
    return { result, records, progress, secrets: keyLog.size };
  };
  return { here: await run(false), there: await run(true) };
}

interface Run {
  result: CaptureAnalysis;
  records: FlowRecord[];
  progress: number[];
  secrets: number;
}

/** What can be compared: the records as JSON (shared objects and copies alike), the result without classes. */
function comparable(r: Run) {
  return { records: JSON.parse(JSON.stringify(r.records)), result: toPlain(r.result), secrets: r.secrets, read: r.progress.at(-1) };
}

describe('a capture analysed on a thread of its own', () => {
  for (const sample of [
    'kubelet-logs-tls13.dsb.pcapng', // TLS 1.3 opened with the capture's own Decryption Secrets Block
    'kubelet-logs-exec-self-signed.two-interfaces.pcapng',
    'kubelet-logs-exec-self-signed.vxlan.pcap',
    'apiserver-proxy-http.pcap',
  ]) {
    it(`gives the records, counters and secrets analyzeCapture gives: ${sample}`, async () => {
      const { here, there } = await both(join(SAMPLES, sample));
      expect(here.records.length).toBeGreaterThan(0);
      if (sample.includes('.dsb.')) expect(here.secrets).toBeGreaterThan(0);
      expect(comparable(there)).toEqual(comparable(here));
    });
  }

  it('hashes a gzip-compressed capture as analyzeCapture does (the compressed bytes)', async () => {
    const gz = join(dir, 'sample.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'))));
    const { here, there } = await both(gz);
    expect(there.result.info.compressed).toBe(true);
    expect(there.result.info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(comparable(there)).toEqual(comparable(here));
  });

  it('reports damage as analyzeCapture does, with every flow before it', async () => {
    const whole = readFileSync(join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'));
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const { here, there } = await both(cut);
    expect(there.result.info.error).not.toBeNull();
    expect(there.result.info.error!.message).toBe(here.result.info.error!.message);
    expect(there.result.info.error!.offset).toBe(here.result.info.error!.offset);
    expect(comparable(there)).toEqual(comparable(here));
  });

  it('stops and rejects when storing a record fails, with the file closed', async () => {
    const file = join(SAMPLES, 'apiserver-proxy-http.pcap');
    let calls = 0;
    const failing = analyzeCaptureOnWorker(file, {
      onFlowEnd: () => {
        calls++;
        throw new Error('disk full');
      },
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(calls).toBe(1);
    // Neither this thread (its digest of the file) nor the stopped analysis thread holds it open.
    const open = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false; // closed meanwhile (the listing's own descriptor)
      }
    });
    expect(open).toEqual([]);
  });

  it('stops reading when aborted, and says so', async () => {
    const abort = new AbortController();
    abort.abort();
    const r = await analyzeCaptureOnWorker(join(SAMPLES, 'apiserver-proxy-http.pcap'), { onFlowEnd: () => {}, signal: abort.signal });
    expect(r.info.aborted).toBe(true);
  });

  it('is chosen for large files only, never for standard input, unless told', () => {
    const small = join(SAMPLES, 'apiserver-proxy-http.pcap');
    expect(analysisThreads(small, undefined)).toBe(0);
    expect(analysisThreads(small, 1)).toBe(0);
    expect(analysisThreads(small, 2)).toBe(1);
    expect(analysisThreads(small, 4)).toBe(3);
    expect(analysisThreads('-', 2)).toBe(0);
    expect(analysisThreads(join(dir, 'missing.pcap'), undefined)).toBe(0);
    expect(OWN_THREAD_MIN_BYTES).toBeGreaterThan(readFileSync(small).length);
  });

  it("reads a container's CPU limit (cgroup v2 and v1): one core is no room for two threads", () => {
    expect(cpuMaxCores('max 100000\n')).toBe(Infinity);
    expect(cpuMaxCores('150000 100000\n')).toBe(1.5);
    expect(cpuMaxCores('50000 100000')).toBe(0.5);
    const files = (m: Record<string, string>) => (path: string) => m[path] ?? null;
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '100000 100000\n' }))).toBe(1);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(Infinity);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '200000', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toBe(2);
    expect(cgroupCpuLimit(files({}))).toBe(Infinity);
  });
});
