/**
 * Stages measured inside the benchmark process, one after another on the same file: the raw record
 * walk (the ceiling), the reader alone, the engine without dissectors and the engine with them.
 */
import { statSync } from 'node:fs';
import { defaultSessionFactory } from '../dissectors/app-session';
import type { Frame } from '../src/ingest/frame';
import { walkRecords } from '../src/ingest/raw-walk';
import { readCapture } from '../src/ingest/read-capture';
import type { FlowRecord } from '../src/model/flow-record';
import { analyzeCapture } from '../src/pipeline/analyze-file';
import { nowSeconds, type StageRun } from './measure';

export type InProcessStage = 'walk' | 'reader' | 'engine' | 'dissect';

export const IN_PROCESS_LABELS: Record<InProcessStage, string> = {
  walk: 'raw record walk (ceiling)',
  reader: 'reader (frames delivered)',
  engine: 'decode+flows+reassembly',
  dissect: '+ dissectors',
};

/** Frame sink of the reader stage: reads each frame's length so the delivery is not optimised away. */
class FrameCounter {
  frames = 0;
  bytes = 0;
  readonly sink = (f: Frame): void => {
    this.frames++;
    this.bytes += f.end - f.start;
  };
}

/** Flow sink of the engine stages: counts records, keeps none. */
class FlowCounter {
  flows = 0;
  readonly sink = (_rec: FlowRecord): void => {
    this.flows++;
  };
}

export async function runInProcess(stage: InProcessStage, file: string): Promise<StageRun> {
  const fileBytes = statSync(file).size;
  const cpu0 = process.cpuUsage();
  const t0 = nowSeconds();
  let packets = 0;
  let note: string | null = null;
  switch (stage) {
    case 'walk': {
      const r = await walkRecords(file);
      if (r.error !== null) throw new Error(`${file}: ${r.error}`);
      packets = r.packets;
      break;
    }
    case 'reader': {
      const c = new FrameCounter();
      const info = await readCapture(file, c.sink);
      if (info.error !== null) throw new Error(info.error.message);
      packets = c.frames;
      note = 'reader: includes the SHA-256 of the file (on a worker thread for files ≥ 32 MB)';
      break;
    }
    case 'engine':
    case 'dissect': {
      const c = new FlowCounter();
      const r = await analyzeCapture(file, {
        onFlowEnd: c.sink,
        sessionFactory: stage === 'dissect' ? defaultSessionFactory : undefined,
      });
      if (r.info.error !== null) throw new Error(r.info.error.message);
      packets = r.stats.packets;
      note = `${IN_PROCESS_LABELS[stage]}: ${c.flows} flows ended`;
      break;
    }
  }
  const seconds = nowSeconds() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { packets, bytes: fileBytes, seconds, cpuSeconds, peakRss: null, note };
}
