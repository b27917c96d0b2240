import { AnomalyCounter } from '../anomalies';

/** Per-capture counters of one Engine (plain numbers, updated in place). */
export class EngineStats {
  /** Frames given to the engine. */
  packets = 0;
  /** Captured bytes of those frames. */
  bytes = 0;
  /** Frames that decoded to TCP or UDP over IP. */
  analysedPackets = 0;
  /** Frames per LINKTYPE_* value. */
  readonly linkTypes = new Map<number, number>();
  /** Flows created (TCP + UDP). */
  flows = 0;
  tcpConnections = 0;
  udpFlows = 0;
  /** Flows open right now (set by the engine when read). */
  activeFlows = 0;
  /** Decoder, flow, reassembly and dissector anomalies of this capture. */
  readonly anomalies: AnomalyCounter;

  constructor(anomalies: AnomalyCounter = new AnomalyCounter()) {
    this.anomalies = anomalies;
  }
}
