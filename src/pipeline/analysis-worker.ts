/**
 * The analysis thread: reads one capture through the engine and the dissectors and sends the flow
 * records, in the order they end, to the thread that classifies and stores them (see
 * analyze-on-worker.ts). Started once per capture.
 */
import { parentPort } from 'node:worker_threads';
import { keyLogSessionFactory } from '../../dissectors/app-session';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import type { FlowRecord } from '../model/flow-record';
import { analyzeCapture } from './analyze-file';
import { FLOW_BATCH, RecordInterner, MAX_BATCHES_IN_FLIGHT, toPlain, type FromWorker, type StartMessage, type ToWorker } from './worker-protocol';

const port = parentPort;
if (port === null) throw new Error('analysis-worker runs as a worker thread');

const aborter = new AbortController();
const send = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'abort') aborter.abort();
  else void run(m);
});

async function run(start: StartMessage): Promise<void> {
  try {
    const keyLog = new KeyLog();
    keyLog.importSecrets(start.secrets);
    const inFlight = new Int32Array(start.inFlight);
    let batch: FlowRecord[] = [];
    const interner = new RecordInterner();
    let rawBytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      // The receiver is behind: wait for it rather than queue without bound.
      for (let n = Atomics.load(inFlight, 0); n >= MAX_BATCHES_IN_FLIGHT; n = Atomics.load(inFlight, 0)) {
        Atomics.wait(inFlight, 0, n, 1000);
      }
      Atomics.add(inFlight, 0, 1);
      send({ type: 'flows', records: batch });
      batch = [];
    };
    const result = await analyzeCapture(start.file, {
      sessionFactory: keyLogSessionFactory(keyLog, start.forcedPorts),
      keyLog,
      onFlowEnd: (rec) => {
        interner.intern(rec);
        batch.push(rec);
        if (batch.length >= FLOW_BATCH) flush();
      },
      flowIdPrefix: start.flowIdPrefix,
      captureIndex: start.captureIndex,
      shard: start.shard,
      idleTimeout: start.idleTimeout,
      maxFlows: start.maxFlows,
      keepDuplicates: start.keepDuplicates,
      decoder: start.decoder,
      signal: aborter.signal,
      // The parent hashes the file on its own thread, where there is time to spare.
      hash: false,
      onProgress: (bytes, packets) => {
        rawBytes = bytes;
        // Records of the flows ended so far go first: progress never runs ahead of what is stored.
        flush();
        send({ type: 'progress', bytes, packets });
      },
    });
    flush();
    send({ type: 'done', result: toPlain(result), rawBytes });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    send({ type: 'failed', message: err.message, stack: err.stack });
  }
}
